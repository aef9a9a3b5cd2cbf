// Uniform draws for data generation from the project's counter-based generator (src/backend/random.ts):
// draw d of item i in stream s is threefry2x32(key(seed), (i, s·2²⁰ + d)), so every item's values
// depend only on (seed, stream, item, draw) and items can be generated in any order or in parallel.
import { seedKey, threefry2x32, wordToUniform } from "../src/backend/random.ts";

/** Counter words reserved per item and stream (streams 0 … 4095 fit the 32-bit counter word). */
const DRAWS_PER_ITEM = 2 ** 20;

export class ItemRandom {
  private draw = 0;
  private readonly k0: number;
  private readonly k1: number;

  constructor(seed: number, private readonly stream: number, private readonly item: number) {
    [this.k0, this.k1] = seedKey(seed);
  }

  /** u in (0, 1) from the first output word; a + (b − a)·u in [a, b]. */
  uniform(a = 0, b = 1): number {
    if (this.draw >= DRAWS_PER_ITEM) throw new Error(`item ${this.item} of stream ${this.stream} needs more than ${DRAWS_PER_ITEM} random draws`);
    const [x0] = threefry2x32(this.k0, this.k1, this.item, this.stream * DRAWS_PER_ITEM + this.draw++);
    return a + (b - a) * wordToUniform(x0);
  }
}
