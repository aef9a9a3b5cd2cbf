// Run by arrow.test.ts in its own process (so that a reader that loops for ever can be killed):
// flips and truncates bytes of FILE at many positions and reads each copy with the dataset reader.
// Prints one JSON line per failure to stdout, and "done N SLOWEST_MS" at the end.
import { readFileSync, writeFileSync } from "node:fs";
import { DataError } from "../../src/data/data-error.ts";
import { loadDataset } from "../../src/data/dataset.ts";

const [file, scratch] = process.argv.slice(2);
const good = new Uint8Array(readFileSync(file));
const original = loadDataset(file);

/** Positions: every byte of the first and last 512 (message headers, schema, footer), a stride through the rest. */
const positions: number[] = [];
for (let p = 0; p < good.length; p++) if (p < 512 || p >= good.length - 512 || p % 53 === 0) positions.push(p);

let cases = 0;
let slowest = 0;
function check(bytes: Uint8Array, what: string): void {
  writeFileSync(scratch, bytes);
  cases += 1;
  process.stderr.write(`${what}\n`);
  const started = performance.now();
  try {
    const read = loadDataset(scratch);
    // A read that succeeds must be of the same shape, and differ from the original in at most the flipped byte.
    let differing = 0;
    for (let i = 0; i < read.x.length && differing < 2; i++) if (read.x[i] !== original.x[i]) differing += 1;
    if (read.info.count !== original.info.count || read.info.dim !== original.info.dim || read.x.length !== original.x.length || differing > 1) {
      console.log(JSON.stringify({ what, problem: `read ${read.info.count}×${read.info.dim}, ${differing} values differ` }));
    }
  } catch (error) {
    if (!(error instanceof DataError)) console.log(JSON.stringify({ what, problem: `${(error as Error).name}: ${(error as Error).message}` }));
    else if (!(error as Error).message.startsWith(scratch)) console.log(JSON.stringify({ what, problem: `the message does not name the file: ${(error as Error).message}` }));
  }
  slowest = Math.max(slowest, performance.now() - started);
}

for (const p of positions) {
  for (const value of [0x00, 0xff, good[p] ^ 0x80]) {
    if (value === good[p]) continue;
    const bad = good.slice();
    bad[p] = value;
    check(bad, `byte ${p} = ${value}`);
  }
}
for (let length = 0; length < good.length; length += 29) check(good.slice(0, length), `truncated to ${length} bytes`);
console.log(`done ${cases} ${slowest.toFixed(0)}`);
