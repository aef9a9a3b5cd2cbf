// Every CLI's error handling in one place: an expected error (src/errors.ts: bad flag, corrupt or
// unwritable file, no GPU adapter, ...) prints one line `<cli>: <message>` and exits with its exit
// code; a file-system error that escaped being named (disk full, read-only, ...) also gets one line
// and exit 1; running out of memory is one line with what to lower, exit 1; anything else is a bug
// and prints its stack, exit 70.
import { EXIT, ExpectedError, fileSystemCause } from "../errors.ts";

/** Whether `error` is a failed allocation (JavaScriptCore's RangeError "Out of memory", or one a stream worker passed on). */
function outOfMemory(error: unknown): boolean {
  return error instanceof Error && /\bout of memory\b|allocation failed/i.test(error.message);
}

export function reportError(name: string, error: unknown): number {
  if (error instanceof ExpectedError) {
    console.error(`${name}: ${error.message}`);
    return error.exitCode;
  }
  if (outOfMemory(error)) {
    console.error(`${name}: out of memory (${(error as Error).message.split("\n")[0]}); a smaller --batch or network (--arch, --hidden) needs less, or free memory for it`);
    return EXIT.expected;
  }
  if (fileSystemCause(error)) {
    console.error(`${name}: ${(error as Error).message.split("\n")[0]}`);
    return EXIT.expected;
  }
  console.error(`${name}: unexpected error`);
  console.error((error as Error)?.stack ?? error);
  return EXIT.internal;
}

export async function runCli(name: string, main: () => Promise<number | void>): Promise<never> {
  let code: number;
  try {
    code = (await main()) ?? EXIT.ok;
  } catch (error) {
    code = reportError(name, error);
  }
  process.exit(code);
}
