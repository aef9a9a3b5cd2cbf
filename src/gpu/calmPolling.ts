// bun-webgpu 0.1.7 waits for mapAsync / onSubmittedWorkDone by re-arming setImmediate forever
// (InstanceTicker.scheduleTick, node_modules/bun-webgpu/index.js), which keeps one CPU core at 100%
// while the GPU (on lavapipe: the other cores) works. This replaces that poll on one GPU instance:
// poll on setImmediate for a short spin (fast answers for short waits), then every ~1 ms by timer.

const SPIN_MS = 0.25;
const TIMER_MS = 1;

interface InstanceTickerInternals {
  _ticking: boolean;
  hasWaiting(): boolean;
  processEvents(): void;
  scheduleTick(): void;
}

/** Patches the instance's ticker in place; returns false when bun-webgpu's internals changed shape. */
export function installCalmPolling(gpu: unknown): boolean {
  const ticker = (gpu as { _ticker?: InstanceTickerInternals })._ticker;
  if (!ticker || typeof ticker.processEvents !== "function" || typeof ticker.hasWaiting !== "function") return false;
  ticker.scheduleTick = function calmScheduleTick(this: InstanceTickerInternals) {
    if (this._ticking) return;
    this._ticking = true;
    const started = performance.now();
    const poll = () => {
      this.processEvents();
      if (!this.hasWaiting()) {
        this._ticking = false;
        return;
      }
      if (performance.now() - started < SPIN_MS) setImmediate(poll);
      else setTimeout(poll, TIMER_MS);
    };
    setImmediate(poll);
  };
  return true;
}
