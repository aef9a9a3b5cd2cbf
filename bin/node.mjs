// What Node loads for `import "kfra-webgpu"` (the "node-addons" export condition, which Node sets and
// Bun and Vite do not reach first): the package runs on Bun (bun:ffi for OpenBLAS, Dawn's WebGPU,
// TypeScript sources), so Node gets one line saying so instead of ERR_UNKNOWN_FILE_EXTENSION ".ts",
// and exit status 2 (a missing system dependency). The names below are the package's, so that an
// import of any of them links and this line is what the user sees (test/package checks the list).
console.error("kfra-webgpu: this package runs on Bun, not Node: run your program with bun (the package's own: npx bun main.ts), or use its bins kfra-train, kfra-prep and kfra-sweep");
process.exit(2);
export let DEVICE_FLAGS, DataError, Dataset, DivergedError, METHODS, METHOD_NAMES, MinibatchStream, Network, OPTIMIZER_SETTINGS, Optimizer, PRESETS, SettingError, SpecError, TRAIN_SETTINGS, createBackend, openDataset, train;
