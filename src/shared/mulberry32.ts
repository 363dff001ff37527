/**
 * mulberry32: deterministic uniform numbers in [0, 1) from a 32-bit seed.
 * The trainer's seeded initialisation, drop-path masks and landscape
 * directions use it, and so do the fuzz tests (any failure reproduces from
 * its seed); kept free of TensorFlow so that both can import it.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
