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
 */
import * as tf from '@tensorflow/tfjs-core';

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

/** The training-mode normalisation with its closed-form gradient. */
function normaliseTraining(x: tf.Tensor4D, gamma: tf.Tensor1D, beta: tf.Tensor1D, stats: { mean?: tf.Tensor; variance?: tf.Tensor }): tf.Tensor4D {
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

export function batchNorm(x: tf.Tensor4D, p: BatchNormParams, mode: BatchNormMode): tf.Tensor4D {
  if (!mode.training) {
    return tf.tidy(() => {
      const scale = tf.mul(p.gamma, tf.rsqrt(tf.add(p.runningVar, BN_EPS)));
      const shift = tf.sub(p.beta, tf.mul(p.runningMean, scale));
      return tf.add(tf.mul(x, scale), shift) as tf.Tensor4D;
    });
  }
  const stats: { mean?: tf.Tensor; variance?: tf.Tensor } = {};
  const y = normaliseTraining(x, p.gamma as tf.Tensor as tf.Tensor1D, p.beta as tf.Tensor as tf.Tensor1D, stats);
  if (mode.updateStats !== false) {
    const m = x.size / x.shape[3];
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
