// A float64 work vector reused across calls, so per-column accumulations allocate nothing once warm.
let buffer = new Float64Array(1024);

/** A Float64Array of length ≥ n whose first n entries are zero; valid until the next call. */
export function scratch(n: number): Float64Array {
  if (buffer.length < n) buffer = new Float64Array(Math.max(n, 2 * buffer.length));
  buffer.fill(0, 0, n);
  return buffer;
}
