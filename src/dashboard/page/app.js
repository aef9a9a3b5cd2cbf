// The dashboard page: the runs and sweeps the server found, live from /events (server-sent events),
// and uPlot charts of the chosen runs' whole-set error per update and per training second. Every
// name, setting and value is written with textContent, never parsed as markup.
"use strict";

const PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22"];
const AUTO_RUNS = 6;

const state = {
  roots: [],
  sweeps: [],
  runs: new Map(),
  evals: new Map(),
  chosenRuns: new Set(),
  chosenSweeps: new Set(),
  /** Until a person ticks a box, the first runs (or the first sweep) are drawn. */
  automatic: true,
  detail: undefined,
};
const charts = { update: undefined, seconds: undefined };
/** What the charts draw now, for tests: per chart, the series' labels and the aligned data. */
const drawn = { update: undefined, seconds: undefined };

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

const fmtError = (v) => (typeof v === "number" ? v.toPrecision(5) : "–");

function sortedRuns() {
  return [...state.runs.values()].sort((a, b) => a.id.localeCompare(b.id, "en", { numeric: true }));
}

/** The chosen runs and sweeps live in the address's fragment, so that a reload or a shared link keeps them. */
function saveChoice() {
  const choice = { runs: [...state.chosenRuns], sweeps: [...state.chosenSweeps] };
  history.replaceState(null, "", `#${encodeURIComponent(JSON.stringify(choice))}`);
}

function loadChoice() {
  if (location.hash.length < 2) return;
  try {
    const choice = JSON.parse(decodeURIComponent(location.hash.slice(1)));
    if (!Array.isArray(choice.runs) || !Array.isArray(choice.sweeps)) return;
    state.chosenRuns = new Set(choice.runs.map(String));
    state.chosenSweeps = new Set(choice.sweeps.map(String));
    state.automatic = false;
  } catch {
    // not a choice this page wrote: ignored
  }
}

function applyAutomatic() {
  if (!state.automatic) return;
  const loose = sortedRuns().filter((r) => !r.sweep);
  state.chosenRuns = new Set(loose.slice(0, AUTO_RUNS).map((r) => r.id));
  state.chosenSweeps = new Set(loose.length === 0 && state.sweeps.length > 0 ? [state.sweeps[0].id] : []);
}

function apply(change, snapshot) {
  if (snapshot) {
    state.runs.clear();
    state.evals.clear();
    state.roots = change.roots;
  }
  if (change.sweeps) state.sweeps = change.sweeps;
  for (const id of change.removed) {
    state.runs.delete(id);
    state.evals.delete(id);
  }
  for (const run of change.runs) state.runs.set(run.id, run);
  for (const id of change.reset) state.evals.set(id, []);
  for (const [id, points] of Object.entries(change.evals)) {
    if (!state.evals.has(id)) state.evals.set(id, []);
    state.evals.get(id).push(...points);
  }
  applyAutomatic();
}

// ---- the run list ----

function statusBadge(run) {
  const badge = el("span", run.status, `status ${run.status.replace(" ", "-")}`);
  if (run.reason) badge.title = run.reason;
  return badge;
}

function runRow(run) {
  const row = el("tr");
  row.dataset.runId = run.id;
  const pick = el("td");
  const box = el("input");
  box.type = "checkbox";
  box.checked = state.chosenRuns.has(run.id);
  box.setAttribute("aria-label", `draw ${run.name}`);
  box.addEventListener("change", () => {
    state.automatic = false;
    box.checked ? state.chosenRuns.add(run.id) : state.chosenRuns.delete(run.id);
    saveChoice();
    render();
  });
  pick.append(box);
  const name = el("td", undefined, "name");
  const button = el("button", run.sweep ? `${run.group}/${run.name.split("/").at(-1)}` : run.name);
  button.addEventListener("click", () => {
    state.detail = run.id;
    renderDetails();
  });
  name.append(button);
  const progress = el("td");
  if (run.steps) {
    const bar = el("progress");
    bar.max = run.steps;
    bar.value = Math.min(run.step, run.steps);
    progress.append(bar, ` ${run.step}/${run.steps}`);
  } else progress.textContent = String(run.step);
  const eta = run.status === "running" ? (run.etaText ?? "estimating…") : run.status === "finished" ? "done" : "–";
  const last = run.lastEval ?? {};
  const status = el("td");
  status.append(statusBadge(run));
  const cells = [
    pick,
    name,
    el("td", run.settings?.opt ?? "?"),
    status,
    progress,
    el("td", eta, "num"),
    el("td", fmtError(last.train), "num"),
    el("td", fmtError(last.heldOut), "num"),
    el("td", typeof run.time === "number" ? `${run.time.toFixed(1)} s` : "–", "num"),
  ];
  row.append(...cells);
  if (run.problem) row.title = run.problem;
  return row;
}

function runTable(runs) {
  const table = el("table", undefined, "runs");
  const head = el("tr");
  for (const title of ["draw", "run", "method", "status", "progress", "ETA", "training error", "held-out error", "training time"]) head.append(el("th", title));
  table.append(head, ...runs.map(runRow));
  return table;
}

function renderLists() {
  const lists = document.getElementById("lists");
  const parts = [];
  const runs = sortedRuns();
  for (const sweep of state.sweeps) {
    const own = runs.filter((r) => r.sweep === sweep.id);
    const head = el("div", undefined, "sweep-head");
    head.dataset.sweepId = sweep.id;
    head.append(el("h2", `Sweep ${sweep.name}${sweep.spec?.name ? ` (${sweep.spec.name})` : ""}`));
    const label = el("label");
    const box = el("input");
    box.type = "checkbox";
    box.checked = state.chosenSweeps.has(sweep.id);
    box.addEventListener("change", () => {
      state.automatic = false;
      box.checked ? state.chosenSweeps.add(sweep.id) : state.chosenSweeps.delete(sweep.id);
      saveChoice();
      render();
    });
    label.append(box, " draw its methods (mean and range over seeds)");
    const running = own.filter((r) => r.status === "running").length;
    const done = own.filter((r) => r.status === "finished").length;
    const now = own.filter((r) => r.status === "running").map((r) => `${r.group}/${r.name.split("/").at(-1)} at ${r.step}/${r.steps ?? "?"}, ETA ${r.etaText ?? "estimating…"}`);
    head.append(label, el("span", `${done} of ${Math.max(sweep.planned, own.length)} runs finished, ${running} running${now.length > 0 ? `: ${now.join("; ")}` : ""}`));
    parts.push(head);
    if (sweep.spec?.description) parts.push(el("p", sweep.spec.description, "hint"));
    if (sweep.problem) parts.push(el("p", sweep.problem, "problem"));
    parts.push(runTable(own));
  }
  const loose = runs.filter((r) => !r.sweep);
  if (loose.length > 0 || state.sweeps.length === 0) {
    parts.push(el("h2", `Runs (${loose.length})`));
    parts.push(loose.length > 0 ? runTable(loose) : el("p", "No run directory under these folders yet.", "empty"));
  }
  lists.replaceChildren(...parts);
}

function renderDetails() {
  const run = state.detail && state.runs.get(state.detail);
  const section = document.getElementById("details");
  section.hidden = !run;
  if (!run) return;
  document.getElementById("details-title").textContent = `Run ${run.name} (${run.root})`;
  const reason = [run.reason, run.problem].filter(Boolean).join("; ");
  document.getElementById("details-reason").textContent = reason;
  const fill = (id, object) => {
    const table = document.getElementById(id);
    const rows = Object.entries(object ?? {}).map(([k, v]) => {
      const row = el("tr");
      row.append(el("td", k), el("td", typeof v === "string" ? v : JSON.stringify(v)));
      return row;
    });
    table.replaceChildren(...(rows.length > 0 ? rows : [el("tr", "(none)")]));
  };
  fill("details-settings", run.settings);
  fill("details-environment", run.environment);
}

// ---- the charts ----

/** The sweep's methods: per method, at each evaluated update, the mean, min and max over its seeds. */
function sweepBands(sweep) {
  const methods = new Map();
  for (const run of sortedRuns().filter((r) => r.sweep === sweep.id)) {
    if (!methods.has(run.method)) methods.set(run.method, []);
    methods.get(run.method).push(state.evals.get(run.id) ?? []);
  }
  return [...methods].map(([method, seeds]) => {
    const steps = [...new Set(seeds.flatMap((evals) => evals.map((e) => e.step)))].sort((a, b) => a - b);
    const spread = (values) => {
      const finite = values.filter((v) => typeof v === "number" && Number.isFinite(v));
      if (finite.length === 0) return { mean: null, min: null, max: null };
      return { mean: finite.reduce((s, v) => s + v, 0) / finite.length, min: Math.min(...finite), max: Math.max(...finite) };
    };
    const points = steps.map((step) => {
      const at = seeds.map((evals) => evals.find((e) => e.step === step)).filter(Boolean);
      return { step, time: spread(at.map((e) => e.time)).mean, train: spread(at.map((e) => e.train)), heldOut: spread(at.map((e) => e.heldOut)) };
    });
    return { method, seeds: seeds.length, points };
  });
}

/** The lines to draw: per line, its label, colour, dash, points {step, time, y} and an optional band. */
function chosenLines() {
  const lines = [];
  let colour = 0;
  for (const run of sortedRuns().filter((r) => state.chosenRuns.has(r.id))) {
    const c = PALETTE[colour++ % PALETTE.length];
    const evals = state.evals.get(run.id) ?? [];
    const name = run.sweep ? `${run.group}/${run.name.split("/").at(-1)}` : run.name;
    lines.push({ label: `${name}: training set`, colour: c, dashed: false, points: evals.map((e) => ({ step: e.step, time: e.time, y: e.train })) });
    if (evals.some((e) => typeof e.heldOut === "number")) lines.push({ label: `${name}: held-out set`, colour: c, dashed: true, points: evals.map((e) => ({ step: e.step, time: e.time, y: e.heldOut })) });
  }
  for (const sweep of state.sweeps.filter((s) => state.chosenSweeps.has(s.id))) {
    for (const band of sweepBands(sweep)) {
      const c = PALETTE[colour++ % PALETTE.length];
      const what = `${band.method.split("/").at(-1)} (${band.seeds} seed${band.seeds === 1 ? "" : "s"})`;
      const pts = (key) => band.points.map((p) => ({ step: p.step, time: p.time, y: p[key].mean, min: p[key].min, max: p[key].max }));
      lines.push({ label: `${what}: training set`, colour: c, dashed: false, points: pts("train"), band: band.seeds > 1 });
      if (band.points.some((p) => p.heldOut.mean !== null)) lines.push({ label: `${what}: held-out set`, colour: c, dashed: true, points: pts("heldOut"), band: band.seeds > 1 });
    }
  }
  return lines;
}

/** uPlot's aligned table for x = "step" or "time": one column per line (and two per band: min, max). */
function chartTable(lines, x) {
  const tables = [];
  const columns = [];
  for (const line of lines) {
    const pts = line.points.filter((p) => typeof p[x] === "number" && typeof p.y === "number" && p.y > 0).sort((a, b) => a[x] - b[x]);
    const xs = pts.map((p) => p[x]);
    const table = [xs, pts.map((p) => p.y)];
    columns.push({ line, kind: "mean" });
    if (line.band) {
      table.push(pts.map((p) => p.max), pts.map((p) => p.min));
      columns.push({ line, kind: "max" }, { line, kind: "min" });
    }
    tables.push(table);
  }
  return { data: tables.length > 0 ? uPlot.join(tables) : [[]], columns };
}

/** Ticks of a log axis: 1, 2 and 5 times powers of ten in [min, max] (every digit when that gives fewer than four). */
function logSplits(u, axis, min, max) {
  const ticks = (digits) => {
    const out = [];
    for (let k = Math.floor(Math.log10(min)); k <= Math.ceil(Math.log10(max)); k++) for (const d of digits) {
      const v = d * Math.pow(10, k);
      if (v >= min && v <= max) out.push(v);
    }
    return out;
  };
  const coarse = ticks([1, 2, 5]);
  return coarse.length >= 4 ? coarse : ticks([1, 2, 3, 4, 5, 6, 7, 8, 9]);
}

function fitted(values) {
  const finite = values.filter((v) => typeof v === "number" && Number.isFinite(v) && v > 0);
  if (finite.length === 0) return [1, 10];
  const lo = Math.min(...finite), hi = Math.max(...finite);
  return lo === hi ? [lo / 1.1, hi * 1.1] : [lo / Math.pow(hi / lo, 0.04), hi * Math.pow(hi / lo, 0.04)];
}

function drawChart(key, x, lines) {
  const target = document.getElementById(`chart-${key}`);
  charts[key]?.destroy();
  charts[key] = undefined;
  if (lines.every((l) => l.points.length === 0)) {
    target.replaceChildren(el("p", "Nothing to draw yet: tick a run or a sweep with evaluations.", "empty"));
    drawn[key] = { labels: [], data: [[]] };
    return;
  }
  target.replaceChildren();
  const { data, columns } = chartTable(lines, x);
  const series = [{ label: x === "step" ? "update" : "seconds" }];
  const bands = [];
  columns.forEach(({ line, kind }, i) => {
    if (kind === "mean") series.push({ label: line.label, stroke: line.colour, width: 2, dash: line.dashed ? [7, 5] : undefined, spanGaps: true, points: { show: false } });
    else {
      series.push({ label: `${line.label} (seeds' ${kind})`, stroke: "transparent", width: 0, spanGaps: true, points: { show: false } });
      if (kind === "min") bands.push({ series: [i, i + 1], fill: `${line.colour}${line.dashed ? "22" : "33"}` });
    }
  });
  const ys = data.slice(1).flat();
  const xs = data[0];
  const xRange = xs.length > 0 ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  if (xRange[0] === xRange[1]) xRange[1] = xRange[0] + 1;
  const opts = {
    width: target.clientWidth || 560,
    height: target.clientHeight || 320,
    legend: { show: false },
    cursor: { drag: { x: true, y: false } },
    scales: {
      x: { time: false, range: () => xRange },
      y: { distr: 3, log: 10, range: () => fitted(ys) },
    },
    axes: [
      { label: x === "step" ? "update" : "training seconds (evaluations excluded)" },
      { label: "mean error per sample (log)", size: 70, splits: logSplits, filter: (u, splits) => splits, values: (u, splits) => splits.map((v) => (v == null ? "" : Number(v.toPrecision(3)).toString())) },
    ],
    series,
    bands,
  };
  charts[key] = new uPlot(opts, data, target);
  drawn[key] = { labels: series.map((s) => s.label), data };
}

function renderLegend(lines) {
  const legend = document.getElementById("legend");
  legend.replaceChildren(
    ...lines.map((line) => {
      const item = el("span");
      const swatch = el("span", undefined, `swatch${line.dashed ? " dashed" : ""}`);
      swatch.style.borderTopColor = line.colour;
      item.append(swatch, line.label + (line.band ? " (shaded: range over seeds)" : ""));
      return item;
    }),
  );
}

function renderCharts() {
  const lines = chosenLines();
  renderLegend(lines);
  drawChart("update", "step", lines);
  drawChart("seconds", "time", lines);
}

function renderHeader() {
  document.getElementById("roots").textContent = `watching ${state.roots.join(", ")}: ${state.runs.size} runs, ${state.sweeps.length} sweeps`;
}

function render() {
  renderHeader();
  renderLists();
  renderCharts();
  renderDetails();
}

let pending;
function scheduleRender() {
  if (pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    render();
  }, 200);
}

function connect() {
  const connection = document.getElementById("connection");
  const events = new EventSource("/events");
  events.addEventListener("snapshot", (e) => {
    apply(JSON.parse(e.data), true);
    connection.textContent = "live";
    connection.className = "connection live";
    render();
  });
  events.addEventListener("change", (e) => {
    apply(JSON.parse(e.data), false);
    scheduleRender();
  });
  events.addEventListener("error", () => {
    connection.textContent = "connection lost; retrying…";
    connection.className = "connection lost";
  });
}

window.dashboard = {
  /** What each chart draws: series labels and uPlot's aligned data (x first). */
  drawn: () => JSON.parse(JSON.stringify(drawn)),
  runs: () => sortedRuns(),
};

loadChoice();
connect();
