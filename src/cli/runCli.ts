// Every CLI's error handling in one place: an expected error (bad flag, missing file, no GPU
// adapter, ...) prints one line `<cli>: <message>` and exits with its exit code (1 unless it says);
// anything else is a bug and prints its stack.
const EXPECTED = new Set([
  "UsageError", "SpecError", "DataError", "CheckpointError", "SafetensorsError", "NonFiniteLossError",
  "KflrTooLargeError", "DeviceLimitError", "KernelCompileError", "NoGpuAdapterError", "MissingBlasError", "UnknownDeviceError", "ShapeError", "SweepSpecError",
]);

export async function runCli(name: string, main: () => Promise<number | void>): Promise<never> {
  try {
    const code = await main();
    process.exit(code ?? 0);
  } catch (error) {
    const e = error as Error & { exitCode?: number };
    if (EXPECTED.has(e.name) || typeof e.exitCode === "number") {
      console.error(`${name}: ${e.message}`);
      process.exit(e.exitCode ?? 1);
    }
    console.error(`${name}: unexpected error`);
    console.error(e?.stack ?? e);
    process.exit(70);
  }
}
