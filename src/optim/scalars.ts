// A handful of named 1×1 slots in one device vector, so that all the scalars a step needs come back
// in a single download (one synchronisation instead of one per scalar).
import type { Backend, Tensor } from "../backend/types.ts";

export class ScalarSlots<Name extends string> {
  private readonly vector: Tensor;
  private readonly index = new Map<Name, number>();

  constructor(
    private readonly backend: Backend,
    names: readonly Name[],
  ) {
    this.vector = backend.alloc(names.length, 1);
    names.forEach((name, i) => this.index.set(name, i));
  }

  slot(name: Name): Tensor {
    const i = this.index.get(name);
    if (i === undefined) throw new Error(`no scalar slot named '${name}'`);
    return this.backend.view(this.vector, i, 0, 1, 1);
  }

  async read(): Promise<Record<Name, number>> {
    return this.readLater()();
  }

  /**
   * Starts the download of the slots as the work recorded so far leaves them, and returns how to
   * await it; the device is not waited for here. A failure (a device-side error) surfaces when the
   * result is awaited, not as an unhandled rejection before.
   */
  readLater(): () => Promise<Record<Name, number>> {
    const values = this.backend.download(this.vector).then((v) => {
      const out = {} as Record<Name, number>;
      for (const [name, i] of this.index) out[name] = v[i];
      return out;
    });
    values.catch(() => {});
    return () => values;
  }

  dispose(): void {
    this.backend.free(this.vector);
  }
}
