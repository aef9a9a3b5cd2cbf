// What the dashboard knows of the folders it watches, read only: every run directory (config.json
// or metrics.ndjson) and sweep (sweep.json, its runs under runs/GROUP/NAME) under them. Each run's
// metrics.ndjson is read incrementally from the byte where the last read stopped (a file that shrank,
// a resumed run's truncation, is read again); update lines are scanned for their step, time and
// loss without a JSON parse, evaluation lines are parsed. A run's status comes from its lock, its
// result.json (a sweep's), its failure.json (a run stopped by an error), its checkpoints and its
// config.json's steps.
import { closeSync, existsSync, fstatSync, lstatSync, openSync, readFileSync, readSync, readdirSync, realpathSync, statSync } from "node:fs";
import { basename, join, relative, sep } from "node:path";
import { EtaEstimator, formatDuration } from "../io/eta.ts";
import { listCheckpoints } from "../run/checkpoint.ts";
import { lockHolder } from "../run/runLock.ts";
import { CONFIG_FILE, ENVIRONMENT_FILE, FAILURE_FILE, METRICS_FILE } from "../run/runFiles.ts";

export type RunStatus = "running" | "finished" | "failed" | "interrupted" | "not started";

/** An evaluation record of metrics.ndjson without its type: step, time, train, heldOut, … */
export type EvalPoint = Record<string, number | null>;

export interface RunSummary {
  id: string;
  /** The folder given on the command line. */
  root: string;
  /** The run's path under its root, as text. */
  name: string;
  /** The sweep's id, its group and method (the run's id in the sweep without its seed), and seed. */
  sweep?: string;
  group?: string;
  method?: string;
  seed?: number;
  status: RunStatus;
  /** Why, in words, for failed or interrupted runs. */
  reason?: string;
  step: number;
  steps?: number;
  /** Training seconds left at the rate since the warm-up (evaluations not counted); undefined while estimating. */
  eta?: number;
  /** eta in words ("3 min 20 s"). */
  etaText?: string;
  secondsPerUpdate?: number;
  /** Training seconds so far (evaluations excluded). */
  time?: number;
  loss?: number;
  evaluations: number;
  lastEval?: EvalPoint;
  settings?: Record<string, unknown>;
  environment?: Record<string, unknown>;
  /** A file of the run that could not be read, in words. */
  problem?: string;
}

export interface SweepSummary {
  id: string;
  root: string;
  name: string;
  /** sweep.json's spec name and description, and the runs it plans. */
  spec?: { name?: string; description?: string };
  planned: number;
  problem?: string;
}

const STEP_LINE = /^\{"type":"step","step":(\d+),"time":([^,]+),/;
const LOSS = /"loss":([^,}]+)/;

function readJson(path: string): { value?: unknown; problem?: string } {
  try {
    return { value: JSON.parse(readFileSync(path, "utf8")) };
  } catch (error) {
    return { problem: `${path}: ${(error as Error).message.split("\n")[0]}` };
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** One run directory, followed as it grows. */
export class RunWatch {
  private offset = 0;
  private partial = Buffer.alloc(0);
  private configMtime = -1;
  private environmentMtime = -1;
  readonly evals: EvalPoint[] = [];
  private readonly updates: { step: number; time: number }[] = [];
  private loss?: number;
  private settings?: Record<string, unknown>;
  private environment?: Record<string, unknown>;
  private problem?: string;
  private metricsProblem?: string;

  constructor(
    readonly dir: string,
    readonly base: Omit<RunSummary, "status" | "step" | "evaluations">,
  ) {}

  /** Reads what was appended since the last call; returns the new evaluations, and whether the log was read again from its start. */
  poll(): { added: EvalPoint[]; reset: boolean } {
    this.readSettings();
    const path = join(this.dir, METRICS_FILE);
    if (!existsSync(path)) return { added: [], reset: false };
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch (error) {
      this.metricsProblem = `${path}: ${(error as Error).message}`;
      return { added: [], reset: false };
    }
    try {
      const size = fstatSync(fd).size;
      let reset = false;
      if (size < this.offset) {
        this.offset = 0;
        this.partial = Buffer.alloc(0);
        this.evals.length = 0;
        this.updates.length = 0;
        reset = true;
      }
      if (size === this.offset) return { added: [], reset };
      const fresh = Buffer.alloc(size - this.offset);
      const got = readSync(fd, fresh, 0, fresh.length, this.offset);
      this.offset += got;
      const bytes = this.partial.length > 0 ? Buffer.concat([this.partial, fresh.subarray(0, got)]) : fresh.subarray(0, got);
      const end = bytes.lastIndexOf(10);
      this.partial = Buffer.from(end < 0 ? bytes : bytes.subarray(end + 1));
      const added = end < 0 ? [] : this.parse(bytes.subarray(0, end).toString("utf8"));
      return { added, reset };
    } finally {
      closeSync(fd);
    }
  }

  private parse(text: string): EvalPoint[] {
    const added: EvalPoint[] = [];
    for (const line of text.split("\n")) {
      const step = STEP_LINE.exec(line);
      if (step) {
        this.updates.push({ step: Number(step[1]), time: Number(step[2]) });
        const loss = LOSS.exec(line);
        if (loss) this.loss = Number(loss[1]);
        continue;
      }
      if (!line.startsWith('{"type":"eval"')) continue;
      try {
        const { type: _type, ...point } = JSON.parse(line) as Record<string, unknown>;
        if (typeof point.step !== "number") continue;
        const clean: EvalPoint = {};
        for (const [k, v] of Object.entries(point)) if (typeof v === "number" || v === null) clean[k] = v;
        this.evals.push(clean);
        added.push(clean);
      } catch {
        this.metricsProblem = `${join(this.dir, METRICS_FILE)}: a line is not JSON`;
      }
    }
    return added;
  }

  private readSettings(): void {
    const problems: string[] = [];
    const configPath = join(this.dir, CONFIG_FILE);
    const configMtime = existsSync(configPath) ? statSync(configPath).mtimeMs : -1;
    if (configMtime !== this.configMtime) {
      this.configMtime = configMtime;
      const { value, problem } = configMtime < 0 ? {} : readJson(configPath);
      this.settings = isObject(value) ? value : undefined;
      if (problem) problems.push(problem);
    }
    const envPath = join(this.dir, ENVIRONMENT_FILE);
    const envMtime = existsSync(envPath) ? statSync(envPath).mtimeMs : -1;
    if (envMtime !== this.environmentMtime) {
      this.environmentMtime = envMtime;
      const { value, problem } = envMtime < 0 ? {} : readJson(envPath);
      this.environment = isObject(value) ? value : undefined;
      if (problem) problems.push(problem);
    }
    if (problems.length > 0) this.problem = problems.join("; ");
  }

  /** The run now. */
  summary(): RunSummary {
    const last = this.updates.at(-1);
    const step = Math.max(last?.step ?? 0, this.evals.at(-1)?.step ?? 0);
    const steps = typeof this.settings?.steps === "number" ? this.settings.steps : undefined;
    const { status, reason } = this.status(step, steps);
    let eta: number | undefined;
    let secondsPerUpdate: number | undefined;
    if (steps !== undefined && this.updates.length > 0 && status === "running") {
      // The clock is training seconds plus the seconds of the evaluations before: the rate since the
      // warm-up of this process's first update, and the evaluations left at the mean of this process's.
      const firstOfProcess = this.firstOfLastProcess();
      const startStep = this.updates[firstOfProcess].step - 1;
      const evalEvery = typeof this.settings?.evalEvery === "number" ? this.settings.evalEvery : 0;
      let now = 0, evaluated = 0;
      const estimator = new EtaEstimator({ startStep, steps, evalEvery }, () => now);
      const evals = this.evals.filter((e) => (e.step ?? -1) >= startStep && typeof e.seconds === "number");
      let next = 0;
      const evaluateUpTo = (at: number) => {
        for (; next < evals.length && evals[next].step! <= at; next++) {
          const { time, seconds } = evals[next];
          if (typeof time === "number") now = time + evaluated;
          estimator.evalStart();
          evaluated += seconds!;
          now += seconds!;
          estimator.evalEnd();
        }
      };
      evaluateUpTo(startStep);
      for (let i = firstOfProcess; i < this.updates.length; i++) {
        now = this.updates[i].time + evaluated;
        estimator.update(this.updates[i].step);
        evaluateUpTo(this.updates[i].step);
      }
      // The log says nothing of the time since its last line: none is counted down.
      now = this.updates.at(-1)!.time + evaluated;
      estimator.update(this.updates.at(-1)!.step);
      secondsPerUpdate = estimator.secondsPerUpdate();
      eta = estimator.remaining();
    }
    const problem = [this.problem, this.metricsProblem].filter(Boolean).join("; ") || undefined;
    return {
      ...this.base,
      status,
      reason,
      step,
      steps,
      eta,
      etaText: eta === undefined ? undefined : formatDuration(eta),
      secondsPerUpdate,
      time: last?.time,
      loss: this.loss,
      evaluations: this.evals.length,
      lastEval: this.evals.at(-1),
      settings: this.settings,
      environment: this.environment,
      problem,
    };
  }

  /** Where the last process's updates begin: after a step that does not follow its predecessor (a resume). */
  private firstOfLastProcess(): number {
    for (let i = this.updates.length - 1; i > 0; i--) if (this.updates[i].step !== this.updates[i - 1].step + 1) return i;
    return 0;
  }

  private status(step: number, steps: number | undefined): { status: RunStatus; reason?: string } {
    const lock = lockHolder(this.dir);
    if (lock?.alive) return { status: "running" };
    const result = readJson(join(this.dir, "result.json"));
    const outcome = isObject(result.value) ? String(result.value.status) : undefined;
    if (outcome === "failed" || outcome === "diverged") {
      const stderr = isObject(result.value) && typeof result.value.stderr === "string" ? result.value.stderr.trim().split("\n").at(-1) : undefined;
      return { status: "failed", reason: stderr ?? outcome };
    }
    const failure = existsSync(join(this.dir, FAILURE_FILE)) ? readJson(join(this.dir, FAILURE_FILE)) : undefined;
    if (failure) return { status: "failed", reason: isObject(failure.value) ? String(failure.value.message) : failure.problem };
    const saved = listCheckpoints(this.dir)[0]?.step;
    if (steps !== undefined && ((saved !== undefined && saved >= steps) || step >= steps)) return { status: "finished" };
    if (outcome === "done") return { status: "finished" };
    if (lock) return { status: "interrupted", reason: `its process ${lock.pid} is gone without releasing the lock (killed?)` };
    if (step === 0 && saved === undefined) return { status: "not started" };
    return { status: "interrupted", reason: saved === undefined ? "stopped before its first checkpoint" : `stopped at update ${step}; the newest checkpoint is update ${saved}` };
  }
}

/** Folders never entered while looking for runs. */
const SKIPPED = new Set(["checkpoints", "node_modules"]);
const MAX_DEPTH = 8;

export interface Found {
  runs: { dir: string; base: RunWatch["base"] }[];
  sweeps: SweepSummary[];
}

/** A run's id in its sweep, GROUP/NAME, without its seed: the method it is a seed of. */
export function methodOf(id: string): { method: string; seed?: number } {
  const match = /^(.*)-seed(\d+)$/.exec(id);
  return match ? { method: match[1], seed: Number(match[2]) } : { method: id };
}

/** Every run and sweep under `roots`; symbolic links are not followed, so nothing outside the roots is reached. */
export function findRuns(roots: string[]): Found {
  const found: Found = { runs: [], sweeps: [] };
  roots.forEach((root, index) => {
    const real = realpathSync(root);
    const walk = (dir: string, depth: number, sweep?: { id: string; dir: string }) => {
      const rel = relative(real, dir).split(sep).join("/");
      const id = `${index}:${rel || "."}`;
      const has = (name: string) => {
        try {
          return lstatSync(join(dir, name)).isFile();
        } catch {
          return false;
        }
      };
      if (has("sweep.json")) {
        const { value, problem } = readJson(join(dir, "sweep.json"));
        const spec = isObject(value) && isObject(value.spec) ? { name: String(value.spec.name ?? ""), description: String(value.spec.description ?? "") } : undefined;
        const planned = isObject(value) && Array.isArray(value.runs) ? value.runs.length : 0;
        found.sweeps.push({ id, root, name: rel || basename(real), spec, planned, problem });
        sweep = { id, dir };
      } else if (has(CONFIG_FILE) || has(METRICS_FILE)) {
        const base: RunWatch["base"] = { id, root, name: rel || basename(real) };
        if (sweep) {
          const inSweep = relative(join(sweep.dir, "runs"), dir).split(sep).join("/");
          if (!inSweep.startsWith("..")) Object.assign(base, { sweep: sweep.id, group: inSweep.split("/")[0], ...methodOf(inSweep) });
        }
        found.runs.push({ dir, base });
        return;
      }
      if (depth >= MAX_DEPTH) return;
      let entries;
      try {
        entries = readdirSync(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
        if (!entry.isDirectory() || entry.name.startsWith(".") || SKIPPED.has(entry.name)) continue;
        walk(join(dir, entry.name), depth + 1, sweep);
      }
    };
    walk(real, 0);
  });
  return found;
}
