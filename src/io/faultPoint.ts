// Fault injection for the interrupt suite (test/faults/interrupts.test.ts): with
// KFRA_FAULT=POINT[@STEP]:SIGNAL in the environment, a process that reaches the named instant sends
// itself SIGNAL (SIGINT, SIGTERM or SIGKILL), so that a test stops it at an exact instant that no
// timing could hit (inside the step-0 evaluation, between the two files of a checkpoint). SIGSTOP
// freezes it there instead, for a test that then kills its parent (a sweep) at that instant. Without
// the variable it does nothing. The points: "before-lock", "startup", "eval", "checkpoint", and
// "stopping" (the loop ended by a stop signal, before its last report and checkpoint).
import { setTimeout as sleep } from "node:timers/promises";

function matching(point: string, step?: number): NodeJS.Signals | undefined {
  const spec = process.env.KFRA_FAULT;
  if (!spec) return undefined;
  const match = /^([a-z-]+)(?:@(\d+))?:(SIGINT|SIGTERM|SIGKILL|SIGSTOP)$/.exec(spec);
  if (!match || match[1] !== point) return undefined;
  if (match[2] !== undefined && Number(match[2]) !== step) return undefined;
  return match[3] as NodeJS.Signals;
}

/** Sends the injected signal at `point` (at update `step`), and gives its handler time to run before going on. */
export async function faultPoint(point: string, step?: number): Promise<void> {
  const signal = matching(point, step);
  if (!signal) return;
  process.kill(process.pid, signal);
  await sleep(200);
}

/** The same, for a point inside synchronous code: only SIGKILL and SIGSTOP make sense there. */
export function faultPointSync(point: string, step?: number): void {
  const signal = matching(point, step);
  if (signal) process.kill(process.pid, signal);
}
