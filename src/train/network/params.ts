/**
 * The network's parameters and buffers, by PyTorch state-dict name.
 *
 * Names follow the module tree of the DARTS PyTorch code (`stem.0.weight`,
 * `cells.3._ops.2.op.1.weight`, `cells.3.preprocess0.bn.running_mean`,
 * `auxiliary_head.features.2.weight`, `classifier.bias`), so that weights can
 * be exchanged with PyTorch and checkpoints read by name.
 *
 * Layouts. TensorFlow.js convolutions are NHWC, so tensors are kept in TF
 * layout here and converted only when exchanging with PyTorch:
 * | kind      | here (tfjs)              | PyTorch                  |
 * | conv      | [kh, kw, Cin, Cout]      | [Cout, Cin, kh, kw]      |
 * | depthwise | [kh, kw, C, 1]           | [C, 1, kh, kw]           |
 * | linear    | [in, out]                | [out, in]                |
 * | vector    | [C]                      | [C]                      |
 * | activation| [N, H, W, C]             | [N, C, H, W]             |
 * Activations are NHWC here and NCHW in PyTorch; channel order (and so every
 * concatenation) is the same in both.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mulberry32 } from '../../shared/mulberry32.js';

/** How a tensor is laid out here (see the table above); `activation` is NHWC, for inputs. */
export type ParamLayout = 'conv' | 'depthwise' | 'linear' | 'vector' | 'activation';

export interface ParamInfo {
  readonly layout: ParamLayout;
  /** Part of the auxiliary head (excluded from the reported parameter count). */
  readonly auxiliary: boolean;
}

/** A tensor in PyTorch layout: what is exchanged with PyTorch and checkpoints. */
export interface TorchTensor {
  readonly shape: number[];
  readonly data: Float32Array;
}

/** Permutation from tfjs layout to PyTorch layout. */
const TO_TORCH: Record<ParamLayout, number[] | undefined> = {
  conv: [3, 2, 0, 1],
  depthwise: [2, 3, 0, 1],
  linear: [1, 0],
  vector: undefined,
  activation: [0, 3, 1, 2],
};

/** Permutation from PyTorch layout back to tfjs layout. */
const FROM_TORCH: Record<ParamLayout, number[] | undefined> = {
  conv: [2, 3, 1, 0],
  depthwise: [2, 3, 0, 1],
  linear: [1, 0],
  vector: undefined,
  activation: [0, 2, 3, 1],
};

/**
 * A tensor of the given layout, copied out in PyTorch layout. Synchronous,
 * so only on backends that read synchronously (cpu, wasm, tensorflow): the
 * comparisons with PyTorch use it; code that may run on WebGPU uses
 * `readTorch`.
 */
export function toTorch(t: tf.Tensor, layout: ParamLayout): TorchTensor {
  const u = inTorchLayout(t, layout);
  const out = { shape: u.shape, data: u.dataSync().slice() as Float32Array };
  if (u !== t) u.dispose();
  return out;
}

/** `toTorch` on any backend: the copy is read with `await data()`. */
export async function readTorch(t: tf.Tensor, layout: ParamLayout): Promise<TorchTensor> {
  const u = inTorchLayout(t, layout);
  try {
    return { shape: u.shape, data: ((await u.data()) as Float32Array).slice() };
  } finally {
    if (u !== t) u.dispose();
  }
}

function inTorchLayout(t: tf.Tensor, layout: ParamLayout): tf.Tensor {
  const perm = TO_TORCH[layout];
  return perm === undefined ? t : tf.transpose(t, perm);
}

/** Buffers are BatchNorm running statistics; they are vectors in both layouts. */
export class ParamStore {
  readonly params = new Map<string, tf.Variable>();
  readonly buffers = new Map<string, tf.Variable>();
  readonly info = new Map<string, ParamInfo>();
  private readonly random: () => number;
  /** Set while building the auxiliary head. */
  auxiliary = false;

  constructor(seed: number) {
    this.random = mulberry32(seed);
  }

  /**
   * A trainable parameter with PyTorch's default initialisation: convolution
   * and linear weights U(−b, b) with b = 1/√fan_in (kaiming_uniform with
   * a = √5), linear biases the same, BatchNorm γ = 1 and β = 0.
   */
  param(name: string, shape: number[], layout: ParamLayout, init: 'fan_in' | 'ones' | 'zeros', fanIn = 1): tf.Variable {
    if (this.params.has(name)) throw new Error(`duplicate parameter ${name}`);
    const size = shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (init === 'ones') values.fill(1);
    else if (init === 'fan_in') {
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < size; i++) values[i] = (2 * this.random() - 1) * bound;
    }
    // Unnamed: tfjs variable names are global, and several networks may coexist.
    const v = tf.tidy(() => tf.variable(tf.tensor(values, shape), true));
    this.params.set(name, v);
    this.info.set(name, { layout, auxiliary: this.auxiliary });
    return v;
  }

  buffer(name: string, size: number, fill: number): tf.Variable {
    const v = tf.tidy(() => tf.variable(tf.fill([size], fill), false));
    this.buffers.set(name, v);
    this.info.set(name, { layout: 'vector', auxiliary: this.auxiliary });
    return v;
  }

  /** Number of trainable scalars; `withAuxiliary` false leaves the auxiliary head out. */
  count(withAuxiliary: boolean): number {
    let n = 0;
    for (const [name, v] of this.params) if (withAuxiliary || !this.info.get(name)!.auxiliary) n += v.size;
    return n;
  }

  /** Every parameter and buffer in PyTorch layout, by state-dict name (synchronous: see `toTorch`). */
  exportTorch(): Map<string, TorchTensor> {
    const out = new Map<string, TorchTensor>();
    for (const [name, v] of [...this.params, ...this.buffers]) out.set(name, toTorch(v, this.info.get(name)!.layout));
    return out;
  }

  /** `exportTorch` on any backend (read with `await data()`). */
  async readTorchState(): Promise<Map<string, TorchTensor>> {
    const entries = [...this.params, ...this.buffers];
    const values = await Promise.all(entries.map(([name, v]) => readTorch(v, this.info.get(name)!.layout)));
    return new Map(entries.map(([name], i) => [name, values[i]!]));
  }

  /**
   * Loads tensors in PyTorch layout by name. Every parameter and buffer must
   * be present with the right shape; names this network lacks are ignored
   * (e.g. PyTorch's `num_batches_tracked`).
   */
  importTorch(state: ReadonlyMap<string, TorchTensor>): void {
    for (const [name, v] of [...this.params, ...this.buffers]) {
      const src = state.get(name);
      if (src === undefined) throw new Error(`state has no ${name}`);
      const perm = FROM_TORCH[this.info.get(name)!.layout];
      tf.tidy(() => {
        const t = tf.tensor(src.data, src.shape);
        const value = perm === undefined ? t : tf.transpose(t, perm);
        if (!value.shape.every((n, i) => n === v.shape[i]) || value.rank !== v.rank) {
          throw new Error(`${name}: shape ${JSON.stringify(src.shape)} does not fit ${JSON.stringify(v.shape)}`);
        }
        v.assign(value);
      });
    }
  }

  dispose(): void {
    for (const v of [...this.params.values(), ...this.buffers.values()]) v.dispose();
    this.params.clear();
    this.buffers.clear();
  }
}
