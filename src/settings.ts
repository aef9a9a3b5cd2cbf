// Settings tables: each setting is one row — its kind, range, default and help — and everything
// else is derived from the rows: the CLI's flags and --help, the library's option checks, and the
// one-line message that names a bad value. The tables themselves live with what they configure
// (src/optim/settings.ts, src/train/settings.ts, src/run/config.ts); this file is the machinery.
import { UsageError } from "./errors.ts";
import { parseDecimal } from "./flags.ts";

export type SettingKind = "number" | "integer" | "boolean" | "choice" | "string";

export interface SettingRow {
  kind: SettingKind;
  help: string;
  /** For "choice". */
  choices?: readonly string[];
  /** value ≥ min. */
  min?: number;
  /** value > above. */
  above?: number;
  /** value < below. */
  below?: number;
  /** value ≤ max. */
  max?: number;
  /** The CLI flag when it is not the key in kebab case. */
  flag?: string;
  /** Older flag names that still work. */
  aliases?: readonly string[];
  /** A boolean that the CLI sets to false with --no-<flag> (and never to true). */
  negated?: boolean;
  /** The placeholder in --help. */
  metavar?: string;
}

/** A value that is not what its setting accepts. `label` is how the caller names it: the key in the library, the flag on the command line. */
export class SettingError extends UsageError {
  constructor(
    readonly setting: string,
    readonly problem: string,
    label: string = setting,
  ) {
    super(`${label}: ${problem}`);
  }
}

const kebab = (key: string) => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

/** The CLI flag of a row, without dashes (--no-adapt for a negated boolean). */
export function flagOf(key: string, row: SettingRow): string {
  const name = row.flag ?? kebab(key);
  return row.negated ? `no-${name}` : name;
}

/** What a row accepts, in words: "a number > 0", "an integer ≥ 1", "a number in [0, 1)", "one of fixed, adaptive". */
export function accepted(row: SettingRow): string {
  switch (row.kind) {
    case "boolean":
      return "true or false";
    case "choice":
      return `one of ${row.choices!.join(", ")}`;
    case "string":
      return "a non-empty string";
  }
  const noun = row.kind === "integer" ? "an integer" : "a number";
  const low = row.min !== undefined ? { text: `[${row.min}`, alone: `≥ ${row.min}` } : row.above !== undefined ? { text: `(${row.above}`, alone: `> ${row.above}` } : undefined;
  if (low && row.max !== undefined) return `${noun} in ${low.text}, ${row.max}]`;
  if (low && row.below !== undefined) return `${noun} in ${low.text}, ${row.below})`;
  if (low) return `${noun} ${low.alone}`;
  if (row.below !== undefined) return `${noun} < ${row.below}`;
  return `a finite ${row.kind === "integer" ? "integer" : "number"}`;
}

/** An options object's own enumerable keys only, in a copy: nothing inherited (Object.prototype's toString, a __proto__ chain) is read. */
export function ownOptions<T extends object>(options: T): T {
  return Object.fromEntries(Object.entries(options)) as T;
}

/** A value in a message: a string quoted, a number or boolean as is, otherwise its kind ("an object", "an array", "null"). */
export function describeValue(value: unknown): string {
  return shown(value);
}

function shown(value: unknown): string {
  if (typeof value === "string") return `'${value}'`;
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value;
}

/**
 * `value` if the row accepts it, else a SettingError naming `label` and saying what is accepted
 * and what was given (`display`, e.g. the text typed on a command line).
 */
export function checkSetting<T>(key: string, row: SettingRow, value: unknown, label: string = key, display: string = shown(value)): T {
  const fail = (): never => {
    throw new SettingError(key, `must be ${accepted(row)}, got ${display}`, label);
  };
  switch (row.kind) {
    case "boolean":
      if (typeof value !== "boolean") fail();
      break;
    case "choice":
      if (typeof value !== "string" || !row.choices!.includes(value)) fail();
      break;
    case "string":
      if (typeof value !== "string" || value === "") fail();
      break;
    default: {
      if (typeof value !== "number" || !Number.isFinite(value)) fail();
      const n = value as number;
      if (row.kind === "integer" && !Number.isSafeInteger(n)) fail();
      if (row.min !== undefined && !(n >= row.min)) fail();
      if (row.above !== undefined && !(n > row.above)) fail();
      if (row.below !== undefined && !(n < row.below)) fail();
      if (row.max !== undefined && !(n <= row.max)) fail();
    }
  }
  return value as T;
}

/**
 * A command-line value of a row, checked: numbers parsed (hexadecimal, binary, octal and empty
 * text refused, as "0x10" is a typo far more often than sixteen), choices and strings as they are.
 */
export function parseSettingText<T>(key: string, row: SettingRow, text: string, label: string): T {
  if (row.kind === "number" || row.kind === "integer") {
    return checkSetting<T>(key, row, parseDecimal(text) ?? Number.NaN, label, `'${text}'`);
  }
  return checkSetting<T>(key, row, text, label, `'${text}'`);
}

/** One --help line of a row, with its default in words when it has one. */
export function helpLine(key: string, row: SettingRow, defaultText?: string): string {
  const value = row.kind === "boolean" ? "" : row.kind === "choice" ? ` ${row.choices!.join("|")}` : ` ${row.metavar ?? (row.kind === "string" ? "VALUE" : "N")}`;
  const def = defaultText !== undefined && row.kind !== "boolean" ? ` (default ${defaultText})` : "";
  return `  --${flagOf(key, row)}${value}`.padEnd(34) + ` ${row.help}${def}`;
}
