/**
 * The optimisation pieces of the DARTS training recipe, with PyTorch's
 * semantics reproduced exactly so that runs compare with the literature:
 *
 * - `SgdMomentum`: `torch.optim.SGD(momentum, weight_decay)` with dampening 0
 *   and no Nesterov: d_p = g + wd·p; buf = momentum·buf + d_p (on the first
 *   step buf = d_p); p -= lr·buf.
 * - `clipGradNorm`: `torch.nn.utils.clip_grad_norm_` over all parameters
 *   together (L2): coefficient max/(‖g‖ + 1e-6), applied only when below 1.
 * - `cosineLr`: `CosineAnnealingLR` stepped once per epoch, as DARTS does:
 *   lr_e = lr_min + (lr0 − lr_min)(1 + cos(π e / E)) / 2 for epoch e = 0..E−1.
 * - `crossEntropy`: mean softmax cross-entropy over integer labels.
 *
 * Parameters and gradients are keyed by the network's parameter names (the
 * keys of its `params` map), never by tf.Variable names.
 *
 * Reads from the device are asynchronous (`await t.data()`): the WebGPU
 * backend cannot read synchronously in Node.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface SgdOptions {
  readonly momentum: number;
  readonly weightDecay: number;
}

/** A tensor's values by parameter name, as a checkpoint stores them. */
export interface NamedArray {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What a checkpoint needs to restore the optimiser exactly. */
export interface SgdState {
  /** Momentum buffers by parameter name; absent for parameters not stepped yet. */
  readonly buffers: ReadonlyMap<string, NamedArray>;
}

export class SgdMomentum {
  private readonly buffers = new Map<string, tf.Tensor>();

  constructor(
    private readonly params: ReadonlyMap<string, tf.Variable>,
    readonly options: SgdOptions,
  ) {}

  /**
   * One update with learning rate `lr`. Parameters without a gradient are left
   * alone and keep their momentum buffer, as PyTorch skips `p.grad is None`.
   */
  step(grads: ReadonlyMap<string, tf.Tensor>, lr: number): void {
    const { momentum, weightDecay } = this.options;
    for (const [name, grad] of grads) {
      const param = this.params.get(name);
      if (param === undefined) throw new Error(`gradient for unknown parameter '${name}'`);
      const previous = this.buffers.get(name);
      const next = tf.tidy(() => {
        const dp = weightDecay !== 0 ? tf.add(grad, tf.mul(param, weightDecay)) : grad.clone();
        const buf = previous === undefined || momentum === 0 ? dp : tf.add(tf.mul(previous, momentum), dp);
        param.assign(tf.sub(param, tf.mul(buf, lr)));
        return buf;
      });
      previous?.dispose();
      if (momentum !== 0) this.buffers.set(name, tf.keep(next));
      else next.dispose();
    }
  }

  /** Copies of the momentum buffers (read from the device). */
  async getState(): Promise<SgdState> {
    const entries = [...this.buffers];
    // All reads issued together: one wait for the device, not one per buffer.
    const values = await Promise.all(entries.map(([, buf]) => buf.data()));
    const buffers = new Map<string, NamedArray>();
    entries.forEach(([name, buf], i) => buffers.set(name, { shape: buf.shape, data: (values[i] as Float32Array).slice() }));
    return { buffers };
  }

  setState(state: SgdState): void {
    this.disposeBuffers();
    for (const [name, { shape, data }] of state.buffers) {
      const param = this.params.get(name);
      if (param === undefined) throw new Error(`optimiser state for unknown parameter '${name}'`);
      if (!sameShape(param.shape, shape)) {
        throw new Error(`optimiser state for '${name}' has shape [${shape.join(', ')}], the parameter [${param.shape.join(', ')}]`);
      }
      this.buffers.set(name, tf.tensor(data, [...shape], 'float32'));
    }
  }

  dispose(): void {
    this.disposeBuffers();
  }

  private disposeBuffers(): void {
    for (const buf of this.buffers.values()) buf.dispose();
    this.buffers.clear();
  }
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export interface ClippedGradients {
  readonly grads: Map<string, tf.Tensor>;
  /** The total L2 norm before clipping (what clip_grad_norm_ returns). */
  readonly totalNorm: number;
}

/** Σ‖g‖² over all gradients (in the map's order), on the device: clip_grad_norm_'s total norm, squared. */
export function sumOfSquares(grads: ReadonlyMap<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))) as tf.Scalar);
}

/**
 * The clipping step of `clip_grad_norm_` once the total norm is known:
 * scales all gradients by maxNorm / (totalNorm + 1e-6) when that is below 1.
 * Returns new tensors (the inputs are not disposed). The coefficient is
 * computed in float64 and multiplied in float32, as PyTorch does.
 */
export function scaleToNorm(grads: ReadonlyMap<string, tf.Tensor>, totalNorm: number, maxNorm: number): Map<string, tf.Tensor> {
  const coefficient = maxNorm / (totalNorm + 1e-6);
  const out = new Map<string, tf.Tensor>();
  for (const [n, g] of grads) out.set(n, coefficient < 1 ? tf.mul(g, tf.scalar(coefficient, 'float32')) : g.clone());
  return out;
}

/**
 * `clip_grad_norm_(params, maxNorm)`: scales all gradients by
 * maxNorm / (‖g‖ + 1e-6) when that is below 1. Returns new tensors (the
 * inputs are not disposed) and the norm before clipping, which is NaN or
 * infinite when a gradient is.
 */
export async function clipGradNorm(grads: ReadonlyMap<string, tf.Tensor>, maxNorm: number): Promise<ClippedGradients> {
  const squares = sumOfSquares(grads);
  let totalNorm: number;
  try {
    totalNorm = Math.sqrt((await squares.data())[0]!);
  } finally {
    squares.dispose();
  }
  return { grads: scaleToNorm(grads, totalNorm, maxNorm), totalNorm };
}

/** Learning rate of epoch `epoch` (0-based) of `epochs` under per-epoch cosine annealing. */
export function cosineLr(epoch: number, epochs: number, lr0: number, lrMin = 0): number {
  if (epochs <= 0) return lr0;
  return lrMin + ((lr0 - lrMin) * (1 + Math.cos((Math.PI * epoch) / epochs))) / 2;
}

/** Mean softmax cross-entropy of `logits` [N, K] against integer `labels` [N]. */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    const classes = logits.shape[logits.shape.length - 1]!;
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), classes);
    const logProbs = tf.logSoftmax(logits);
    return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logProbs), -1))) as tf.Scalar;
  });
}

/** The training objective: cross-entropy, plus the weighted auxiliary loss when the head exists. */
export function objective(out: { logits: tf.Tensor2D; auxLogits?: tf.Tensor2D }, labels: tf.Tensor, auxiliaryWeight: number): tf.Scalar {
  const main = crossEntropy(out.logits, labels);
  return out.auxLogits === undefined ? main : (tf.add(main, tf.mul(crossEntropy(out.auxLogits, labels), auxiliaryWeight)) as tf.Scalar);
}

/** Number of rows of `logits` whose largest entry is at `labels` (first maximum wins, as argmax). */
export async function countCorrect(logits: tf.Tensor, labels: Int32Array): Promise<number> {
  const predicted = tf.argMax(logits, -1);
  try {
    return countMatches(await predicted.data(), labels);
  } finally {
    predicted.dispose();
  }
}

/** How many of `predicted` (class indices, as read from argMax) equal `labels`. */
export function countMatches(predicted: ArrayLike<number>, labels: Int32Array): number {
  let correct = 0;
  for (let i = 0; i < labels.length; i++) if (predicted[i] === labels[i]) correct++;
  return correct;
}
