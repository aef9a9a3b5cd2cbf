// Included by gemm_tiled.wgsl and gemm_tiled_vec4.wgsl as their GEMM_COMMON (filled first, by
// gemmBatch.ts): the uniform, the parameter table whose rows gemmBatch.ts writes (one entry each:
// sizes, views, lowerOnly, scalars) and the tile constants.
// Placeholders: TRANS_A, TRANS_B, TM, TN, BK, TABLE_BINDING.

struct Params { base: u32 }
@group(0) @binding(0) var<uniform> p: Params;

struct Entry {
  m: u32, n: u32, k: u32, lowerOnly: u32,
  offA: u32, strA: u32, offB: u32, strB: u32,
  offC: u32, strC: u32, alpha: f32, beta: f32,
}
@group(0) @binding({{TABLE_BINDING}}) var<storage, read> table: array<Entry>;

const TRANS_A: bool = {{TRANS_A}};
const TRANS_B: bool = {{TRANS_B}};
const TM: u32 = {{TM}}u;
const TN: u32 = {{TN}}u;
const BK: u32 = {{BK}}u;
const BM: u32 = 16u * TM;
const BN: u32 = 16u * TN;
