// Prepares a named dataset only when a file of it is missing. Kept apart from prepare.ts so that a
// program that finds its files prepared (train bundled for a GPU machine, without sharp) never
// loads the generators or sharp.
import type { DatasetName } from "../src/data/datasets.ts";
import { missingDatasetFile } from "../src/data/dataset.ts";
import { dataDir, dataDirNote } from "../src/data/location.ts";

/** Prepares `name` into `dir` in this process (as `bun run prep <name>` would) when its train or held-out file is missing. */
export async function ensureDataset(name: DatasetName, dir = dataDir(), quiet = false): Promise<void> {
  const missing = missingDatasetFile(name, dir);
  if (missing === undefined) return;
  if (!quiet) process.stderr.write(`data: ${missing} is missing; preparing '${name}' into ${dir}/ now (bun run prep ${name})${dataDirNote(dir)}\n`);
  const { prepareDataset } = await import("./prepare.ts");
  await prepareDataset(name, { out: dir, quiet });
}
