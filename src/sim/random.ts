/**
 * A small seeded random source for the simulator.
 *
 * `Math.random()` cannot be seeded, and tests need the same sequence of sampled
 * statuses and latencies on every run, so the simulator draws from this instead.
 * The generator is mulberry32: 32 bits of state, fast, and plenty for synthetic
 * traffic (it is not meant for anything cryptographic).
 */

/** A source of uniform numbers in [0, 1). */
export type Random = () => number;

/**
 * Creates a seeded uniform generator.
 *
 * @param seed any integer; the same seed yields the same sequence.
 */
export function seededRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Draws one standard normal number (mean 0, deviation 1) with the Box-Muller transform.
 * Only one of the pair is used: keeping the spare would make the sequence depend on
 * call parity, which is harder to reason about in tests than the few extra draws cost.
 */
export function standardNormal(random: Random): number {
  // 1 - u keeps the logarithm finite: random() may return 0 but never 1.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
