// Loads OpenBLAS through bun:ffi and exposes the four routines the CPU backend needs:
// cblas_sgemm, cblas_strsm, LAPACK's spotrf_ (Fortran ABI) and the thread-count controls.
import { EXIT, ExpectedError, UsageError } from "../../errors.ts";
import { dlopen, FFIType, ptr, type Pointer } from "bun:ffi";
import { availableParallelism } from "node:os";

/** Thrown when no usable OpenBLAS library can be loaded; the CLI exits with `exitCode`. */
export class MissingBlasError extends ExpectedError {
  constructor(readonly tried: readonly string[], readonly reason: string) {
    super(
      `cpu backend: OpenBLAS could not be loaded (${reason}; tried ${tried.join(", ")}); ` +
        `install OpenBLAS: bash scripts/setup.sh, or apt-get install libopenblas0-pthread`,
      EXIT.missingDependency,
    );
  }
}

/** The environment variable that names the library file to load instead of the default search. */
export const OPENBLAS_PATH_ENV = "KFRA_OPENBLAS_PATH";

/** Library names tried in order when no path is given (Debian/Ubuntu, Fedora, Homebrew). */
export const OPENBLAS_CANDIDATES: readonly string[] = [
  "libopenblas.so.0",
  "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
  "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
  "libopenblas.so",
  "libopenblasp.so.0",
  "libopenblaso.so.0",
  "libopenblas.dylib",
  "/opt/homebrew/opt/openblas/lib/libopenblas.dylib",
  "/usr/local/opt/openblas/lib/libopenblas.dylib",
];

// CBLAS enum values (cblas.h).
export const CBLAS_ROW_MAJOR = 101;
export const CBLAS_NO_TRANS = 111;
export const CBLAS_TRANS = 112;
export const CBLAS_UPPER = 121;
export const CBLAS_LOWER = 122;
export const CBLAS_NON_UNIT = 131;
export const CBLAS_LEFT = 141;
export const CBLAS_RIGHT = 142;

const { ptr: P, i32, f32, u64, void: VOID, cstring } = FFIType;

const SYMBOLS = {
  // void cblas_sgemm(order, transA, transB, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc)
  cblas_sgemm: { args: [i32, i32, i32, i32, i32, i32, f32, P, i32, P, i32, f32, P, i32], returns: VOID },
  // void cblas_ssyrk(order, uplo, trans, N, K, alpha, A, lda, beta, C, ldc)
  cblas_ssyrk: { args: [i32, i32, i32, i32, i32, f32, P, i32, f32, P, i32], returns: VOID },
  // void cblas_strsm(order, side, uplo, transA, diag, M, N, alpha, A, lda, B, ldb)
  cblas_strsm: { args: [i32, i32, i32, i32, i32, i32, i32, f32, P, i32, P, i32], returns: VOID },
  // void spotrf_(char *uplo, int *n, float *a, int *lda, int *info, size_t uplo_len)
  spotrf_: { args: [P, P, P, P, P, u64], returns: VOID },
  openblas_set_num_threads: { args: [i32], returns: VOID },
  openblas_get_num_threads: { args: [], returns: i32 },
  openblas_get_config: { args: [], returns: cstring },
  openblas_get_corename: { args: [], returns: cstring },
} as const;

type OpenBlasSymbols = ReturnType<typeof dlopen<typeof SYMBOLS>>["symbols"];

/** A loaded OpenBLAS: raw symbols plus a Cholesky wrapper that hides the Fortran calling convention. */
export interface OpenBlas {
  /** The file that was loaded. */
  readonly path: string;
  /** e.g. "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Haswell MAX_THREADS=64". */
  readonly config: string;
  readonly corename: string;
  readonly sgemm: OpenBlasSymbols["cblas_sgemm"];
  readonly ssyrk: OpenBlasSymbols["cblas_ssyrk"];
  readonly strsm: OpenBlasSymbols["cblas_strsm"];
  /**
   * LAPACK spotrf on the column-major n×n matrix at `a` (leading dimension lda), factor in the
   * triangle `uplo`. Returns LAPACK's info: 0 on success, k > 0 when the leading k×k minor is not
   * positive definite.
   */
  spotrf(uplo: "U" | "L", n: number, a: Pointer, lda: number): number;
  setThreads(n: number): void;
  getThreads(): number;
}

export interface LoadOptions {
  /** Library file to load; overrides KFRA_OPENBLAS_PATH and the default search. */
  path?: string;
}

const loaded = new Map<string, OpenBlas>();

/** Loads OpenBLAS (once per path) or throws MissingBlasError. */
export function loadOpenBlas(options: LoadOptions = {}): OpenBlas {
  const explicit = options.path ?? process.env[OPENBLAS_PATH_ENV];
  const candidates = explicit ? [explicit] : OPENBLAS_CANDIDATES;
  let reason = "not found";
  for (const path of candidates) {
    const cached = loaded.get(path);
    if (cached) return cached;
    let lib: ReturnType<typeof dlopen<typeof SYMBOLS>>;
    try {
      lib = dlopen(path, SYMBOLS);
    } catch (err) {
      const message = String((err as Error)?.message ?? err);
      // A file that opens but lacks a symbol is a wrong library, not a missing one: say so.
      if (/symbol/i.test(message)) reason = message.split("\n")[0];
      continue;
    }
    const blas = wrap(path, lib.symbols);
    loaded.set(path, blas);
    return blas;
  }
  throw new MissingBlasError(candidates, reason);
}

function wrap(path: string, s: OpenBlasSymbols): OpenBlas {
  // spotrf_ takes every argument by reference: keep the cells in one place, allocated once.
  const uploCell = new Uint8Array(1);
  const ints = new Int32Array(3); // n, lda, info
  return {
    path,
    config: String(s.openblas_get_config()).trim(),
    corename: String(s.openblas_get_corename()).trim(),
    sgemm: s.cblas_sgemm,
    ssyrk: s.cblas_ssyrk,
    strsm: s.cblas_strsm,
    spotrf(uplo, n, a, lda) {
      uploCell[0] = uplo.charCodeAt(0);
      ints[0] = n;
      ints[1] = lda;
      ints[2] = 0;
      s.spotrf_(ptr(uploCell), ptr(ints, 0), a, ptr(ints, 4), ptr(ints, 8), 1);
      return ints[2];
    },
    setThreads(n) {
      s.openblas_set_num_threads(n);
    },
    getThreads() {
      return s.openblas_get_num_threads();
    },
  };
}

/** Default BLAS thread count: the cores this process may use. */
export function defaultThreadCount(env: Record<string, string | undefined> = process.env): number {
  // OpenBLAS's own variable, as a user of OpenBLAS sets it (one thread per sweep run, say); else every core.
  const given = env.OPENBLAS_NUM_THREADS;
  if (given === undefined || given === "") return Math.max(1, availableParallelism());
  if (!/^[1-9][0-9]{0,3}$/.test(given)) throw new UsageError(`OPENBLAS_NUM_THREADS='${given}': expected a number of threads, 1 or more`);
  return Number(given);
}
