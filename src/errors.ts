// Expected errors: failures a user can cause or fix (a bad flag, a corrupt or missing file, a full
// disk, no GPU driver). Every CLI prints one line `<cli>: <message>` for them and exits with their
// exit code; anything else is a bug, printed with its stack, exit 70. This file sits on the bottom
// floor so that every layer may throw them.

/** Exit codes of every CLI (the README's table). */
export const EXIT = {
  ok: 0,
  /** Bad input, a corrupt or unwritable file, a diverged run: the message says which. */
  expected: 1,
  /** A system dependency is missing (OpenBLAS, a usable GPU adapter). */
  missingDependency: 2,
  /** A bug: the stack is printed. */
  internal: 70,
  /** Stopped by Ctrl-C (128 + SIGINT) or SIGTERM (128 + SIGTERM), after saving. */
  sigint: 130,
  sigterm: 143,
} as const;

export class ExpectedError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode: number = EXIT.expected) {
    super(message);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A bad flag, argument or combination of them. */
export class UsageError extends ExpectedError {}

/** A file or directory that cannot be read or written for a reason outside the program. */
export class FileError extends ExpectedError {}

/** errno codes that mean the machine or the user's files, not the program, are at fault. */
const FILE_SYSTEM_CAUSES: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EFBIG: "file too large for the file system or the file-size limit",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EISDIR: "it is a directory",
  ENOTDIR: "a part of the path is not a directory",
  ENOENT: "no such file or directory",
  EEXIST: "it already exists",
  EMFILE: "too many open files",
  ENFILE: "too many open files in the system",
  ENAMETOOLONG: "the name is too long",
  ELOOP: "too many symbolic links",
  EIO: "input/output error",
};

/** The errno code of a file-system error, when it is one of the causes above. */
export function fileSystemCause(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code in FILE_SYSTEM_CAUSES ? code : undefined;
}

/**
 * `error` as a one-line FileError naming `path` and what was being done ("cannot write PATH: no
 * space left on the device (ENOSPC)") when it is a file-system error with an outside cause;
 * otherwise `error` itself.
 */
export function asFileError(error: unknown, action: string, path: string): unknown {
  if (error instanceof ExpectedError) return error;
  const code = fileSystemCause(error);
  if (!code) return error;
  return new FileError(`cannot ${action} ${path}: ${FILE_SYSTEM_CAUSES[code]} (${code})`);
}

/** Runs `work`, turning file-system errors with an outside cause into one-line FileErrors. */
export function withFileErrors<T>(action: string, path: string, work: () => T): T {
  try {
    return work();
  } catch (error) {
    throw asFileError(error, action, path);
  }
}
