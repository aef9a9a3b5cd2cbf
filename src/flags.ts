// Command-line flags for every CLI (train, prep, plot, bench, smoke): node's util.parseArgs in
// strict mode, with its errors turned into one-line UsageErrors worded the same everywhere
// ("unknown flag --x; valid flags: ...", "--out needs a value", "unexpected argument 'x'"). A flag
// given twice is refused rather than silently taking its last value, and numbers are read only
// as decimal literals (no 0x10, 0b1, Infinity or blanks).
import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./errors.ts";

type Options = NonNullable<ParseArgsConfig["options"]>;

function describe(error: Error & { code?: string }, options: Options): string {
  const message = error.message.split("\n")[0];
  const valid = `valid flags: ${Object.keys(options).map((n) => `--${n}`).join(" ")}`;
  if (error.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
    const flag = /'([^']+)'/.exec(message)?.[1] ?? message;
    return `unknown flag ${flag}; ${valid}`;
  }
  if (error.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    const flag = /'(-[^ ']+)/.exec(message)?.[1];
    if (flag && /argument missing/.test(message)) return `${flag} needs a value`;
    if (flag && /ambiguous/.test(message)) return `${flag} needs a value; write a value that starts with '-' as ${flag}=VALUE`;
    return message;
  }
  if (error.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL") {
    const argument = /'([^']*)'/.exec(message)?.[1] ?? message;
    return `unexpected argument '${argument}'`;
  }
  return message;
}

const shown = (value: string | undefined) => (value === undefined ? "set" : `'${value}'`);

/** parseArgs with strict checking; every problem, a flag given twice included, is a UsageError. */
export function parseFlags<T extends Options>(args: string[], options: T, allowPositionals = false) {
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals, tokens: true });
  } catch (error) {
    throw new UsageError(describe(error as Error & { code?: string }, options));
  }
  const seen = new Map<string, string | undefined>();
  for (const token of parsed.tokens) {
    if (token.kind !== "option" || options[token.name]?.multiple) continue;
    if (seen.has(token.name)) {
      throw new UsageError(`--${token.name} is given twice (${shown(seen.get(token.name))}, then ${shown(token.value)}); give it once`);
    }
    seen.set(token.name, token.value);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/** The number a decimal literal (12, -0.5, 1e-3) denotes; undefined for anything else: hex, binary, octal, Infinity, blanks. */
export function parseDecimal(text: string): number | undefined {
  return DECIMAL.test(text) ? Number(text) : undefined;
}

/** A flag's value as a decimal number that `accept`s, or a UsageError "--flag 'text': expected <expected>". */
export function numberFlag(flag: string, text: string | undefined, expected: string, accept: (n: number) => boolean): number {
  const n = text === undefined ? undefined : parseDecimal(text);
  if (n === undefined || !Number.isFinite(n) || !accept(n)) throw new UsageError(`--${flag} '${text}': expected ${expected}`);
  return n;
}

/** A flag's value as a positive safe integer. */
export function positiveIntegerFlag(flag: string, text: string | undefined): number {
  return numberFlag(flag, text, "a positive integer", (n) => Number.isSafeInteger(n) && n >= 1);
}
