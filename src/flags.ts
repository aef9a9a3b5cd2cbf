// Command-line flags for every CLI (train, prep, plot, bench, smoke): node's util.parseArgs in
// strict mode, with its errors turned into one-line UsageErrors worded the same everywhere
// ("unknown flag --x; valid flags: ...", "--out needs a value", "unexpected argument 'x'").
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

/** parseArgs with strict checking; every problem is a UsageError. */
export function parseFlags<T extends Options>(args: string[], options: T, allowPositionals = false) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals });
  } catch (error) {
    throw new UsageError(describe(error as Error & { code?: string }, options));
  }
}
