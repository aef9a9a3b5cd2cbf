// The on-disk layout of a dataset file, shared by the writer (data-prep/) and the readers (src/data/).
//
// One Arrow IPC file (file format, with footer) per split. Columns:
//   pixels: FixedSizeList<Uint8>[width·height], non-null; row-major image, value v means v/255.
//           (Float32 lists in [0,1] are also accepted by the readers, for files made elsewhere.)
//   label:  Uint8, non-null; only where the dataset has labels (MNIST digits).
// Schema metadata (all strings): dataset, split, width, height, count, seed, generator_version.
// Files without the 'dataset' key are read as one's own data instead (dataset-file.ts).

export const PIXELS_COLUMN = "pixels";
export const LABEL_COLUMN = "label";
/** Rows per Arrow record batch written by data-prep. */
export const ROWS_PER_RECORD_BATCH = 1000;

export const META = {
  dataset: "dataset",
  split: "split",
  width: "width",
  height: "height",
  count: "count",
  seed: "seed",
  generatorVersion: "generator_version",
} as const;


/** Field metadata of a target column of class indices 0 … K−1: the K class names as a JSON list of strings. */
export const CLASSES_METADATA = "classes";
