/**
 * The linear algebra of the smoothness probe (Shu, Wang & Cai, Section 4.3:
 * wide, shallow cells have a smaller Lipschitz smoothness constant), on any
 * Hessian given only as its action v ↦ Hv:
 *
 * - the top eigenvalue by power iteration (the largest in magnitude; at a
 *   trained minimum the Hessian's dominant eigenvalue is its largest
 *   positive one, the local smoothness constant);
 * - the trace by Hutchinson's estimator, E[zᵀHz] over Rademacher z.
 *
 * Pure: Float64Array vectors, a seeded generator; no TensorFlow, so the
 * algorithms are checked on matrices with a known spectrum.
 */
import { mulberry32 } from '../../shared/mulberry32.js';

/** v ↦ Hv for a symmetric H of size n. */
export type HessianAction = (v: Float64Array) => Promise<Float64Array>;

export function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export function norm(a: Float64Array): number {
  return Math.sqrt(dot(a, a));
}

export interface PowerIterationResult {
  /** The Rayleigh quotient vᵀHv of the last unit iterate: the dominant eigenvalue. */
  readonly eigenvalue: number;
  readonly iterations: number;
  /** Whether successive estimates agreed to the tolerance before maxIterations. */
  readonly converged: boolean;
  /** The estimate after each iteration (for the run file: how it settled). */
  readonly history: readonly number[];
}

export interface PowerIterationOptions {
  readonly maxIterations?: number;
  /** Stop when |λ_k − λ_{k−1}| ≤ tolerance·|λ_k|. */
  readonly tolerance?: number;
  readonly seed?: number;
}

/** Gaussian-free start: uniform in [−1, 1]ⁿ from the seed, normalised (never orthogonal to the top eigenvector but by accident of measure zero). */
function startVector(n: number, seed: number): Float64Array {
  const next = mulberry32(seed >>> 0);
  const v = new Float64Array(n);
  for (let i = 0; i < n; i++) v[i] = 2 * next() - 1;
  const s = norm(v);
  for (let i = 0; i < n; i++) v[i] = v[i]! / s;
  return v;
}

export async function topEigenvalue(n: number, hv: HessianAction, options: PowerIterationOptions = {}): Promise<PowerIterationResult> {
  const maxIterations = options.maxIterations ?? 20;
  const tolerance = options.tolerance ?? 1e-3;
  let v = startVector(n, options.seed ?? 0);
  const history: number[] = [];
  let previous: number | undefined;
  for (let k = 1; k <= maxIterations; k++) {
    const w = await hv(v);
    const lambda = dot(v, w);
    history.push(lambda);
    const size = norm(w);
    if (size === 0 || !Number.isFinite(size)) return { eigenvalue: lambda, iterations: k, converged: size === 0, history };
    if (previous !== undefined && Math.abs(lambda - previous) <= tolerance * Math.abs(lambda)) return { eigenvalue: lambda, iterations: k, converged: true, history };
    previous = lambda;
    v = w.map((x) => x / size);
  }
  return { eigenvalue: history.at(-1)!, iterations: maxIterations, converged: false, history };
}

export interface TraceResult {
  /** The mean of zᵀHz over the samples. */
  readonly trace: number;
  /** Standard error of that mean (0 with one sample). */
  readonly standardError: number;
  readonly samples: number;
}

/** Hutchinson's trace estimate with `samples` Rademacher vectors from the seed (unbiased: E[zzᵀ] = I). */
export async function hutchinsonTrace(n: number, hv: HessianAction, samples: number, seed = 0): Promise<TraceResult> {
  if (samples < 1) throw new Error('Hutchinson\'s estimator needs at least one sample');
  const next = mulberry32((seed ^ 0x5bd1e995) >>> 0);
  const values: number[] = [];
  for (let s = 0; s < samples; s++) {
    const z = new Float64Array(n);
    for (let i = 0; i < n; i++) z[i] = next() < 0.5 ? -1 : 1;
    values.push(dot(z, await hv(z)));
  }
  const mean = values.reduce((a, b) => a + b, 0) / samples;
  const variance = samples > 1 ? values.reduce((a, b) => a + (b - mean) ** 2, 0) / (samples - 1) : 0;
  return { trace: mean, standardError: Math.sqrt(variance / samples), samples };
}
