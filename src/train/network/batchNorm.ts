/**
 * BatchNorm2d with PyTorch's semantics, over NHWC tensors.
 *
 * Training: normalise with the batch statistics (biased variance), and move
 * the running statistics by momentum 0.1 towards the batch mean and the
 * *unbiased* batch variance (as PyTorch does). Evaluation: normalise with the
 * running statistics. ε = 1e-5.
 *
 * The training forward is one tf.customGrad with the closed-form backward
 *   dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂)),  dγ = Σ dy · x̂,  dβ = Σ dy
 * which keeps only x̂ and 1/σ for the backward pass. TensorFlow.js's own batch
 * norm keeps every intermediate (≈ 80 MiB per image at C = 16), which
 * overflows the wasm backend's 4 GB heap at batch 64 and takes twice as long.
 *
 * Data-parallel training (src/train/parallel) splits a batch over threads and
 * keeps the statistics of the whole batch (synchronised batch norm): while a
 * `BatchNormSync` is set, each thread computes its shard's per-channel count,
 * mean and M2 = Σ(x − mean)², the sync combines them over the threads in
 * rank order with Chan's parallel formula (float64), and every thread
 * normalises with the whole batch's mean and biased variance; the backward
 * pass likewise sums Σdy and Σdy·x̂ over the threads before forming dx. With
 * no sync set (one thread) the computation is exactly the one-pass path.
 *
 * On the wasm backend with SIMD (and its kernels registered) both paths run
 * as four SIMD passes (kernels/batchNorm.ts): the moments (two reads of x,
 * float64 across chunks), x̂ and y in one pass, Σdy and Σdy·x̂ in one, dx in
 * one, with the same sync calls between them; CELLSCOPE_WASM_SIMD=0 and
 * every other backend keep the composed tf ops below.
 */
import * as tf from '@tensorflow/tfjs-core';
import { BN_APPLY, BN_DX, bnGradSums, bnMoments, bnParams } from '../kernels/batchNorm.js';
import type { WasmBackendLike } from '../kernels/compose.js';
import { simdKernels, type SimdKernels } from '../kernels/simd.js';

export const BN_EPS = 1e-5;
export const BN_MOMENTUM = 0.1;

export interface BatchNormParams {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly runningMean: tf.Variable;
  readonly runningVar: tf.Variable;
}

export interface BatchNormMode {
  readonly training: boolean;
  /** Update the running statistics (training only); default true. */
  readonly updateStats?: boolean;
}

const AXES = [0, 1, 2];

/** Per-channel statistics of part of a batch: count, mean and M2 = Σ(x − mean)². */
export interface ChannelMoments {
  readonly count: number;
  readonly mean: ArrayLike<number>;
  readonly m2: ArrayLike<number>;
}

/**
 * Chan et al.'s pairwise update over `parts` in their order, in float64: the
 * whole set's count, mean and M2 (numerically stable, unlike E[x²] − E[x]²).
 */
export function combineMoments(parts: readonly ChannelMoments[]): { count: number; mean: Float64Array; m2: Float64Array } {
  const channels = parts[0]?.mean.length ?? 0;
  const mean = new Float64Array(channels);
  const m2 = new Float64Array(channels);
  let count = 0;
  for (const part of parts) {
    if (part.count === 0) continue;
    const total = count + part.count;
    for (let c = 0; c < channels; c++) {
      const delta = part.mean[c]! - mean[c]!;
      mean[c] = mean[c]! + (delta * part.count) / total;
      m2[c] = m2[c]! + part.m2[c]! + (delta * delta * count * part.count) / total;
    }
    count = total;
  }
  return { count, mean, m2 };
}

/**
 * How the threads of a data-parallel step agree on whole-batch statistics.
 * Every thread calls it in the same order (the same network, the same pass):
 * each call returns once every thread has contributed, with the same answer
 * on every thread.
 */
export interface BatchNormSync {
  /** The whole batch's per-channel count, mean and M2 from this thread's part. */
  moments(local: ChannelMoments): { count: number; mean: Float64Array; m2: Float64Array };
  /** Σdy and Σdy·x̂ per channel over the whole batch, from this thread's sums. */
  sums(sumDy: Float32Array, sumDyXHat: Float32Array): { sumDy: Float64Array; sumDyXHat: Float64Array };
}

let activeSync: BatchNormSync | undefined;

/** Sets (or with undefined clears) the sync training-mode batch norms use from now on; returns the previous one. */
export function setBatchNormSync(sync: BatchNormSync | undefined): BatchNormSync | undefined {
  const previous = activeSync;
  activeSync = sync;
  return previous;
}

interface BatchStats {
  mean?: tf.Tensor;
  variance?: tf.Tensor;
  /** Values per channel the statistics are over (the whole batch's under a sync). */
  count?: number;
}

/** The training-mode normalisation with its closed-form gradient. */
function normaliseTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, stats: BatchStats): tf.Tensor4D {
  const simd = simdPath(x);
  if (simd !== null) return normaliseSimd(x, gamma, beta, stats, activeSync, simd.backend, simd.kernels);
  if (activeSync !== undefined) return normaliseSynchronised(x, gamma, beta, stats, activeSync);
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const mean = tf.mean(xIn, AXES);
    const centred = tf.sub(xIn, mean);
    const variance = tf.mean(tf.square(centred), AXES);
    const invStd = tf.rsqrt(tf.add(variance, BN_EPS));
    const xHat = tf.mul(centred, invStd);
    save([xHat, invStd, g]);
    // Kept past customGrad's scope for the running-statistics update.
    stats.mean = tf.keep(mean);
    stats.variance = tf.keep(variance);
    return {
      value: tf.add(tf.mul(xHat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dBeta = tf.sum(dy, AXES);
        const dGamma = tf.sum(tf.mul(dy, xh), AXES);
        const m = dy.size / dy.shape[3]!;
        // mean(dy) = dβ/m and mean(dy·x̂) = dγ/m, reused from the sums above.
        const dx = tf.mul(tf.mul(gm, inv), tf.sub(tf.sub(dy, tf.div(dBeta, m)), tf.mul(xh, tf.div(dGamma, m))));
        return [dx, dGamma, dBeta];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor4D;
}

/**
 * `normaliseTraining` over a batch split between threads: the statistics and
 * the backward pass's sums are those of the whole batch (`sync`); the
 * gradients of γ and β returned are this thread's part of the sums (the
 * caller adds the threads' parameter gradients).
 */
function normaliseSynchronised(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, stats: BatchStats, sync: BatchNormSync): tf.Tensor4D {
  const channels = x.shape[3];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const count = xIn.size / channels;
    const [localMean, localM2] = tf.tidy(() => {
      const mean = tf.mean(xIn, AXES);
      return [mean, tf.sum(tf.square(tf.sub(xIn, mean)), AXES)];
    });
    const whole = sync.moments({ count, mean: localMean.dataSync(), m2: localM2.dataSync() });
    tf.dispose([localMean, localM2]);
    const mean = tf.tensor1d(Float32Array.from(whole.mean));
    const variance = tf.tensor1d(Float32Array.from(whole.m2, (v) => v / whole.count));
    const invStd = tf.rsqrt(tf.add(variance, BN_EPS));
    const xHat = tf.mul(tf.sub(xIn, mean), invStd);
    save([xHat, invStd, g]);
    stats.mean = tf.keep(mean);
    stats.variance = tf.keep(variance);
    stats.count = whole.count;
    const m = whole.count;
    return {
      value: tf.add(tf.mul(xHat, g), b),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh, inv, gm] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
        const dBeta = tf.sum(dy, AXES);
        const dGamma = tf.sum(tf.mul(dy, xh), AXES);
        const sums = sync.sums(dBeta.dataSync() as Float32Array, dGamma.dataSync() as Float32Array);
        const meanDy = tf.tensor1d(Float32Array.from(sums.sumDy, (v) => v / m));
        const meanDyXHat = tf.tensor1d(Float32Array.from(sums.sumDyXHat, (v) => v / m));
        const dx = tf.mul(tf.mul(gm, inv), tf.sub(tf.sub(dy, meanDy), tf.mul(xh, meanDyXHat)));
        return [dx, dGamma, dBeta];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor4D;
}

let simdEnabled = process.env.CELLSCOPE_BN_SIMD !== '0';

/**
 * Turns the SIMD passes on wasm off (the composed ops) or back on; returns
 * the previous setting. For comparisons; CELLSCOPE_BN_SIMD=0 starts a
 * process (and its training threads) with them off, the other SIMD kernels on.
 */
export function setBatchNormSimd(enabled: boolean): boolean {
  const previous = simdEnabled;
  simdEnabled = enabled;
  return previous;
}

/** The wasm backend and its SIMD kernels where the SIMD passes apply to x, else null. */
function simdPath(x: tf.Tensor4D): { backend: WasmBackendLike; kernels: SimdKernels } | null {
  if (!simdEnabled || x.dtype !== 'float32' || tf.getBackend() !== 'wasm') return null;
  if (tf.getKernel(BN_APPLY, 'wasm') === undefined || tf.getKernel(BN_DX, 'wasm') === undefined) return null;
  const backend = tf.backend() as unknown as WasmBackendLike;
  const kernels = simdKernels(backend);
  return kernels === null ? null : { backend, kernels };
}

/**
 * `normaliseTraining` (sync undefined) or `normaliseSynchronised` as SIMD
 * passes: the same arithmetic per value, with the statistics and sums in
 * float64 between the passes and the same sync calls.
 */
function normaliseSimd(
  x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, stats: BatchStats, sync: BatchNormSync | undefined,
  backend: WasmBackendLike, kernels: SimdKernels,
): tf.Tensor4D {
  const channels = x.shape[3];
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, g, b, save] = args as [tf.Tensor, tf.Tensor, tf.Tensor, tf.GradSaveFunc];
    const local = bnMoments(backend, kernels, xIn);
    const whole = sync === undefined ? local : sync.moments(local);
    const m = whole.count;
    const mean = Float32Array.from(whole.mean);
    const variance = Float32Array.from(whole.m2, (v) => v / m);
    const invStd = variance.map((v) => 1 / Math.sqrt(Math.fround(v + BN_EPS)));
    const gammaValues = g.dataSync() as Float32Array;
    const p = tf.tensor1d(bnParams(channels, [mean, invStd, gammaValues, b.dataSync() as Float32Array]));
    const [xHat, y] = tf.engine().runKernel(BN_APPLY, { x: xIn, p }) as tf.Tensor[];
    p.dispose();
    save([xHat!]);
    stats.mean = tf.keep(tf.tensor1d(mean));
    stats.variance = tf.keep(tf.tensor1d(variance));
    if (sync !== undefined) stats.count = m;
    const scale = gammaValues.map((gc, c) => gc * invStd[c]!);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xh] = saved as [tf.Tensor];
        const sums = bnGradSums(backend, kernels, dy, xh);
        const localDy = Float32Array.from(sums.sumDy);
        const localDyXHat = Float32Array.from(sums.sumDyXHat);
        const all = sync === undefined ? sums : sync.sums(localDy, localDyXHat);
        const q = tf.tensor1d(bnParams(channels, [
          scale, Float32Array.from(all.sumDy, (v) => v / m), Float32Array.from(all.sumDyXHat, (v) => v / m),
        ]));
        const dx = tf.engine().runKernel(BN_DX, { dy, xh, p: q }) as tf.Tensor;
        q.dispose();
        return [dx, tf.tensor1d(localDyXHat), tf.tensor1d(localDy)];
      },
    };
  });
  return f(x, gamma, beta) as tf.Tensor4D;
}

export function batchNorm(x: tf.Tensor4D, p: BatchNormParams, mode: BatchNormMode): tf.Tensor4D {
  if (!mode.training) {
    return tf.tidy(() => {
      const scale = tf.mul(p.gamma, tf.rsqrt(tf.add(p.runningVar, BN_EPS)));
      const shift = tf.sub(p.beta, tf.mul(p.runningMean, scale));
      return tf.add(tf.mul(x, scale), shift) as tf.Tensor4D;
    });
  }
  const stats: BatchStats = {};
  const y = normaliseTraining(x, p.gamma as tf.Tensor as tf.Tensor1D, p.beta as tf.Tensor as tf.Tensor1D, stats);
  if (mode.updateStats !== false) {
    const m = stats.count ?? x.size / x.shape[3];
    tf.tidy(() => {
      const unbiased = tf.mul(stats.variance!, m / Math.max(m - 1, 1));
      p.runningMean.assign(tf.add(tf.mul(p.runningMean, 1 - BN_MOMENTUM), tf.mul(stats.mean!, BN_MOMENTUM)));
      p.runningVar.assign(tf.add(tf.mul(p.runningVar, 1 - BN_MOMENTUM), tf.mul(unbiased, BN_MOMENTUM)));
    });
  }
  stats.mean?.dispose();
  stats.variance?.dispose();
  return y;
}
