// How bun-webgpu waits for the GPU. bun-webgpu 0.1.7 waits for mapAsync / onSubmittedWorkDone by
// re-arming setImmediate (InstanceTicker.scheduleTick, node_modules/bun-webgpu/index.js), which
// keeps one CPU core at 100% while the GPU works. That is the right trade on a hardware GPU (the
// CPU has cores to spare, and every wait ends as soon as the GPU does), but on a software adapter
// (lavapipe) the GPU *is* the other cores, and the spin halves its speed. So there are two modes:
//   "spin": processEvents on every setImmediate until nothing waits (hardware adapters);
//   "calm": spin for SPIN_MS (fast answers for short waits), then poll every ~1 ms by timer
//           (software adapters; a wait costs up to ~1 ms more, measured as such on the H200).

const SPIN_MS = 0.25;
const TIMER_MS = 1;

export type PollingMode = "spin" | "calm";

interface InstanceTickerInternals {
  _ticking: boolean;
  hasWaiting(): boolean;
  processEvents(): void;
  scheduleTick(): void;
}

/** The polling a GPU instance should use once its adapter is known: calm on software adapters only. */
export function pollingModeFor(adapter: { software: boolean }): PollingMode {
  return adapter.software ? "calm" : "spin";
}

/** Patches the instance's ticker in place; returns false when bun-webgpu's internals changed shape. */
export function installPolling(gpu: unknown, mode: PollingMode): boolean {
  const ticker = (gpu as { _ticker?: InstanceTickerInternals })._ticker;
  if (!ticker || typeof ticker.processEvents !== "function" || typeof ticker.hasWaiting !== "function") return false;
  ticker.scheduleTick = function scheduleTick(this: InstanceTickerInternals) {
    if (this._ticking) return;
    this._ticking = true;
    const started = performance.now();
    const poll = () => {
      this.processEvents();
      if (!this.hasWaiting()) {
        this._ticking = false;
        return;
      }
      if (mode === "spin" || performance.now() - started < SPIN_MS) setImmediate(poll);
      else setTimeout(poll, TIMER_MS);
    };
    setImmediate(poll);
  };
  return true;
}

/** The calm mode (kept for callers that predate the mode choice). */
export function installCalmPolling(gpu: unknown): boolean {
  return installPolling(gpu, "calm");
}
