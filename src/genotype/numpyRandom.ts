/**
 * numpy's LEGACY random generator (`np.random.seed`, `np.random.choice`,
 * `np.random.randint` on `RandomState`), reproduced bit for bit so that the
 * samplers regenerate exactly the variants the paper's authors trained.
 *
 * What numpy does, and what this class mirrors:
 * - `seed(int)` (`_legacy_seeding`) seeds MT19937 with `mt19937_seed`, which is
 *   Matsumoto & Nishimura's `init_genrand` (not `init_by_array`).
 * - `randint(low, high)` and `choice(n)` (uniform, with replacement, which calls
 *   `randint(0, n)`) draw an int64 with the *masked* rejection path; when the
 *   range high-1-low fits in 32 bits each attempt consumes one 32-bit output:
 *   `mask` = smallest 2^k-1 ≥ range, draw until `(u32 & mask) ≤ range`. A range
 *   of 0 consumes nothing.
 * The test/fixtures/sampler-numpy-oracle.json sequences, produced by numpy
 * itself, check all of this.
 */

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const MAX_UINT32 = 0xffffffff;

function assertUint32(value: number, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > MAX_UINT32) {
    throw new RangeError(`${what} must be an integer between 0 and 2**32 - 1, got ${value}`);
  }
}

/** The generator's position: numpy's `get_state()[1]` (key) and `[2]` (pos). */
export interface NumpyRandomStateSnapshot {
  readonly key: readonly number[];
  readonly pos: number;
}

export class NumpyRandomState {
  private readonly mt = new Uint32Array(N);
  private index = N;

  /** Same state as `np.random.seed(seed)` for an integer seed in [0, 2**32 - 1]. */
  constructor(seed: number) {
    assertUint32(seed, 'seed');
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]!;
      // 1812433253 * (prev ^ (prev >>> 30)) + i, modulo 2^32.
      mt[i] = (Math.imul(1812433253, (prev ^ (prev >>> 30)) >>> 0) + i) >>> 0;
    }
    this.index = N;
  }

  /** The next raw 32-bit output of MT19937 (genrand_int32). */
  randomUint32(): number {
    if (this.index >= N) this.twist();
    let y = this.mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Uniform integer in [0, max] by numpy's masked rejection sampling (max ≤ 2**32 - 1). */
  randomInterval(max: number): number {
    assertUint32(max, 'max');
    if (max === 0) return 0; // numpy returns `off` without drawing
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    mask >>>= 0;
    let value: number;
    do {
      value = (this.randomUint32() & mask) >>> 0;
    } while (value > max);
    return value;
  }

  /** `np.random.randint(low, high)`: uniform in [low, high), for ranges up to 2**32. */
  randint(low: number, high: number): number {
    if (!Number.isSafeInteger(low) || !Number.isSafeInteger(high) || high <= low) {
      throw new RangeError(`randint needs integers low < high, got ${low}, ${high}`);
    }
    // Wider ranges take numpy's 64-bit path, which this class does not model.
    if (high - low - 1 > MAX_UINT32) throw new RangeError('randint ranges wider than 2**32 are not supported');
    return low + this.randomInterval(high - low - 1);
  }

  /** The index `np.random.choice(n, 1)[0]` (or `choice(list_of_n, 1)`) draws. */
  choiceIndex(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n - 1 > MAX_UINT32) {
      throw new RangeError(`choice needs a population of 1 to 2**32 elements, got ${n}`);
    }
    return this.randomInterval(n - 1);
  }

  /** `np.random.choice(n, size)` as an array of indices. */
  choice(n: number, size: number): number[] {
    if (!Number.isInteger(size) || size < 0) throw new RangeError(`size must be a non-negative integer, got ${size}`);
    const out: number[] = [];
    for (let i = 0; i < size; i++) out.push(this.choiceIndex(n));
    return out;
  }

  /** `np.random.choice(items, 1)[0]`: one element, uniformly, from a non-empty list. */
  choiceFrom<T>(items: readonly T[]): T {
    return items[this.choiceIndex(items.length)]!;
  }

  /**
   * A copy of the generator's position, as plain JSON-safe data, so a
   * trainer can checkpoint its data stream and resume it exactly. `key` and
   * `pos` are what numpy's `get_state()` reports for the same stream.
   */
  getState(): NumpyRandomStateSnapshot {
    return { key: Array.from(this.mt), pos: this.index };
  }

  /** Continue from a snapshot taken by `getState()` (or numpy's key and pos). */
  setState(state: NumpyRandomStateSnapshot): void {
    const { key, pos } = state;
    if (!Array.isArray(key) || key.length !== N) {
      throw new RangeError(`state.key must hold ${N} 32-bit words, got ${Array.isArray(key) ? key.length : typeof key}`);
    }
    if (!Number.isInteger(pos) || pos < 0 || pos > N) {
      throw new RangeError(`state.pos must be an integer between 0 and ${N}, got ${pos}`);
    }
    key.forEach((word, i) => assertUint32(word, `state.key[${i}]`));
    this.mt.set(key);
    this.index = pos;
  }

  /** Refill the 624-word state (genrand_int32's block step). */
  private twist(): void {
    const mt = this.mt;
    for (let i = 0; i < N; i++) {
      const y = (mt[i]! & UPPER_MASK) | (mt[(i + 1) % N]! & LOWER_MASK);
      let next = mt[(i + M) % N]! ^ (y >>> 1);
      if (y & 1) next ^= MATRIX_A;
      mt[i] = next >>> 0;
    }
    this.index = 0;
  }
}
