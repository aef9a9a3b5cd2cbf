// Outputs at paths the user chose (--out): a program replaces such a file only when it is one of
// the kind the program writes (its first bytes say so), never one of its own inputs, a directory or
// a file of another kind, so a mistyped --out cannot destroy the user's data.
import { closeSync, existsSync, mkdirSync, openSync, readSync, readdirSync, realpathSync, rmdirSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { UsageError } from "../errors.ts";

/** Whether two paths name the same file (after links). */
export function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return resolve(a) === resolve(b);
  }
}

/** The first bytes of a file (fewer when it is shorter). */
function head(file: string, length: number): Buffer {
  const fd = openSync(file, "r");
  try {
    const buffer = Buffer.alloc(length);
    return buffer.subarray(0, readSync(fd, buffer, 0, length, 0));
  } finally {
    closeSync(fd);
  }
}

/** A kind of output: its extension, its name in messages ("an Arrow file") and the bytes it starts with. */
export interface OutputKind {
  ext: string;
  name: string;
  magic: string;
}

export const ARROW: OutputKind = { ext: "arrow", name: "an Arrow file", magic: "ARROW1" };
export const PNG: OutputKind = { ext: "png", name: "a PNG image", magic: "\x89PNG" };
export const SVG: OutputKind = { ext: "svg", name: "an SVG image", magic: "<svg" };

/**
 * Refuses (a UsageError) to write `out` over one of `inputs`, a directory, or an existing file not
 * of `kind`; `flag` is the option that chose the path, when one did.
 */
export function checkOutput(out: string, kind: OutputKind, inputs: string[] = [], flag: string | null = "--out"): void {
  const named = flag ? `${flag} ${out}` : out;
  const instead = flag ? `choose another ${flag}` : "write elsewhere";
  for (const input of inputs) if (existsSync(input) && sameFile(input, out)) throw new UsageError(`${named} is the input file ${input}; writing it would replace your data: ${instead}`);
  if (!existsSync(out)) return;
  if (statSync(out).isDirectory()) throw new UsageError(`${named} is a directory; give a file name such as ${join(out, `data.${kind.ext}`)}`);
  if (head(out, kind.magic.length).toString("latin1") !== kind.magic) {
    throw new UsageError(`${named} exists and is not ${kind.name} this program could have written; it is left as it is: ${instead}, or remove it`);
  }
}

/**
 * Creates the output folder `dir` (and its missing parents); those it created and that are still
 * empty when the process exits (the write failed: a full disk, an error) are removed, so that a
 * failed program leaves no empty folder behind.
 */
export function makeOutputDir(dir: string): void {
  const made: string[] = [];
  for (let d = resolve(dir); !existsSync(d); d = dirname(d)) made.push(d);
  mkdirSync(dir, { recursive: true });
  if (made.length === 0) return;
  process.once("exit", () => {
    for (const d of made) {
      try {
        if (readdirSync(d).length === 0) rmdirSync(d);
      } catch {
        return;
      }
    }
  });
}
