/**
 * Gradient variance at fixed weights (Shu, Wang & Cai, Section 4): the spread
 * of K mini-batch gradients about their mean, summed over every parameter,
 *
 *   variance = (1/K) Σ_k ‖g_k − ḡ‖²,   ratio = variance / ‖ḡ‖²,
 *
 * where ḡ = (1/K) Σ_k g_k. Wide, shallow cells show lower variance. The
 * probe only reads gradients: it never updates the weights, and the caller
 * decides the network mode (the trainer uses training-mode BatchNorm and
 * restores the running statistics afterwards).
 *
 * The sums are accumulated per element in float64 with Welford's update, so
 * the variance does not suffer the cancellation of E‖g‖² − ‖ḡ‖² when the
 * gradients agree closely.
 *
 * Each batch's gradient is concatenated on the device and read once with
 * `await data()` (the WebGPU backend cannot read synchronously in Node).
 */
import * as tf from '@tensorflow/tfjs-core';

export interface GradVarianceResult {
  /** (1/K) Σ_k ‖g_k − ḡ‖², summed over all parameters. */
  readonly variance: number;
  /** ‖ḡ‖², the squared norm of the mean gradient. */
  readonly meanGradNormSq: number;
  /** variance / ‖ḡ‖² (Infinity when ḡ = 0 and variance > 0; NaN when both are 0). */
  readonly ratio: number;
  /** K, the number of mini-batch gradients. */
  readonly batches: number;
}

/**
 * Evaluates `loss(batch)` on each batch, takes its gradient with respect to
 * every trainable variable in `params`, and returns their variance.
 * `loss` runs inside a gradient tape; it must return a scalar.
 */
export async function gradientVariance<B>(
  params: ReadonlyMap<string, tf.Variable>,
  batches: Iterable<B>,
  loss: (batch: B) => tf.Scalar,
): Promise<GradVarianceResult> {
  const variables = [...params.values()].filter((v) => v.trainable);
  if (variables.length === 0) throw new Error('gradient variance needs at least one trainable parameter');
  const total = variables.reduce((a, v) => a + v.size, 0);
  return varianceOfGradients(total, (async function* () {
    for (const batch of batches) yield await gradientVector(variables, () => loss(batch));
  })());
}

/**
 * The variance of flat gradient vectors of `total` elements, one per batch
 * (Welford per element in float64): the probe's arithmetic, shared with the
 * plan engine, which computes its gradients on the GPU.
 */
export async function varianceOfGradients(total: number, gradients: AsyncIterable<Float32Array>): Promise<GradVarianceResult> {
  const mean = new Float64Array(total);
  const m2 = new Float64Array(total);
  let k = 0;
  for await (const flat of gradients) {
    k++;
    for (let i = 0; i < total; i++) {
      const g = flat[i]!;
      const delta = g - mean[i]!;
      mean[i] = mean[i]! + delta / k;
      m2[i] = m2[i]! + delta * (g - mean[i]!);
    }
  }
  if (k === 0) throw new Error('gradient variance needs at least one batch');
  let sumM2 = 0;
  let meanNormSq = 0;
  for (let i = 0; i < total; i++) {
    sumM2 += m2[i]!;
    meanNormSq += mean[i]! * mean[i]!;
  }
  const variance = sumM2 / k;
  return { variance, meanGradNormSq: meanNormSq, ratio: variance / meanNormSq, batches: k };
}

/** The gradient of `f` for `variables`, concatenated in their order (zeros where a variable is unused). */
async function gradientVector(variables: tf.Variable[], f: () => tf.Scalar): Promise<Float32Array> {
  const flat = tf.tidy(() => {
    const { grads } = tf.variableGrads(f, variables);
    return tf.concat(variables.map((v) => {
      const g = grads[v.name];
      return g != null ? tf.reshape(g, [-1]) : tf.zeros([v.size], 'float32');
    }));
  });
  try {
    return (await flat.data()) as Float32Array;
  } finally {
    flat.dispose();
  }
}
