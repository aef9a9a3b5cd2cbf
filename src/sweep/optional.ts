// The queue's packages, bullmq and ioredis, are optional dependencies: a local sweep, its report and
// its status need neither, so an install without them (npm install --omit=optional) still sweeps.
// The queue's commands load them through here and, where they are missing, end in one line (exit 2).
import { EXIT, ExpectedError } from "../errors.ts";

/** `load()` (a dynamic import of a queue module), or one line naming the missing package. */
export async function queueModule<T>(load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const missing = /Cannot find (?:package|module) '(bullmq|ioredis)[^']*'/.exec(String((error as Error)?.message));
    if (!missing) throw error;
    throw new ExpectedError(`the sweep queue needs the optional packages bullmq and ioredis, and ${missing[1]} is not installed: npm install bullmq ioredis (a local sweep needs neither)`, EXIT.missingDependency);
  }
}
