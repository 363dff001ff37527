/**
 * The operations of a DARTS cell (shared/reference/darts-network.md,
 * "Operations"), as functions over NHWC tensors with their parameters in a
 * ParamStore under PyTorch module names.
 *
 * Faithfulness to PyTorch, where TensorFlow.js differs:
 * - Padding is symmetric (PyTorch `padding=p`): explicit paddings
 *   [[0,0],[p,p],[p,p],[0,0]], never TF's 'same'.
 * - avg_pool_3x3 does not count padding cells (count_include_pad=False).
 *   tfjs's own padded average pool does so in the forward pass but its
 *   gradient divides by the full window, so the pool here is a 'valid' pool
 *   of the zero-padded input rescaled by the fraction of real cells.
 * - dil_conv: TensorFlow.js has no depthwise gradient at dilation > 1, so the
 *   dilated depthwise convolution has its own gradient on wasm (whose
 *   kernels take dilation), and elsewhere is space-to-batch → undilated
 *   depthwise → batch-to-space (the same sums, exactly), or at stride 2 the
 *   one phase that stride keeps.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchNorm, type BatchNormMode, type BatchNormParams } from './batchNorm.js';
import type { ParamStore } from './params.js';

export type ForwardMode = BatchNormMode;
export type Stride = 1 | 2;

/** One operation of a cell: the forward function and whether it is the identity (no drop path). */
export interface CellOp {
  readonly name: string;
  readonly identity: boolean;
  forward(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor4D;
}

// ---- Layers -----------------------------------------------------------------

/** A bias-free convolution weight [kh, kw, Cin, Cout] named `<name>.weight`. */
export function convWeight(store: ParamStore, name: string, cIn: number, cOut: number, kh: number, kw = kh): tf.Variable {
  return store.param(`${name}.weight`, [kh, kw, cIn, cOut], 'conv', 'fan_in', cIn * kh * kw);
}

/** A depthwise weight [k, k, C, 1] named `<name>.weight` (PyTorch groups=C: fan-in k²). */
export function depthwiseWeight(store: ParamStore, name: string, c: number, k: number): tf.Variable {
  return store.param(`${name}.weight`, [k, k, c, 1], 'depthwise', 'fan_in', k * k);
}

/** An affine BatchNorm2d named `<name>.weight/bias/running_mean/running_var`. */
export function batchNormParams(store: ParamStore, name: string, c: number): BatchNormParams {
  return {
    gamma: store.param(`${name}.weight`, [c], 'vector', 'ones'),
    beta: store.param(`${name}.bias`, [c], 'vector', 'zeros'),
    runningMean: store.buffer(`${name}.running_mean`, c, 0),
    runningVar: store.buffer(`${name}.running_var`, c, 1),
  };
}

/** Symmetric zero padding of the spatial axes (PyTorch `padding=(ph, pw)`). */
export function padSpatial(x: tf.Tensor4D, ph: number, pw = ph, value = 0): tf.Tensor4D {
  if (ph === 0 && pw === 0) return x;
  return tf.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]], value);
}

/**
 * Symmetric padding as the convolution's own explicit padding: no padded
 * copy, and the gradient kernels read the same padding.
 */
function explicitPadding(ph: number, pw: number): 'valid' | tf.backend_util.ExplicitPadding {
  return ph === 0 && pw === 0 ? 'valid' : [[0, 0], [ph, ph], [pw, pw], [0, 0]];
}

/** PyTorch Conv2d(bias=False) with symmetric padding. */
export function conv(x: tf.Tensor4D, w: tf.Tensor, stride: [number, number] | number, padding: [number, number] | number = 0): tf.Tensor4D {
  const [ph, pw] = typeof padding === 'number' ? [padding, padding] : padding;
  return tf.conv2d(x, w as tf.Tensor4D, stride, explicitPadding(ph, pw));
}

/** Depthwise k×k convolution (dilation 1) with symmetric padding. */
export function depthwise(x: tf.Tensor4D, w: tf.Tensor, stride: number, padding: number): tf.Tensor4D {
  return tf.depthwiseConv2d(x, w as tf.Tensor4D, stride, explicitPadding(padding, padding));
}

/**
 * Depthwise k×k convolution at dilation d with symmetric padding p, as
 * PyTorch computes it. On wasm it is the dilated convolution itself (XNNPACK
 * computes it forward; the gradient kernels of src/train/kernels take any
 * dilation and stride), through a custom gradient because TensorFlow.js's
 * own depthwise gradient refuses dilation > 1 and its op refuses stride and
 * dilation both > 1. Elsewhere it goes through space-to-batch
 * (dilatedDepthwiseBySpaceToBatch), which wasm also ran but at ~0.1–0.4 s
 * per call (its SpaceToBatchND/BatchToSpaceND are generic 6-D transposes):
 * a quarter of a DARTS step.
 */
export function dilatedDepthwise(x: tf.Tensor4D, w: tf.Tensor, stride: number, padding: number, dilation: number): tf.Tensor4D {
  if (tf.getBackend() === 'wasm') return dilatedDepthwiseDirect(x, w as tf.Tensor4D, stride, padding, dilation);
  return dilatedDepthwiseBySpaceToBatch(x, w, stride, padding, dilation);
}

function dilatedDepthwiseDirect(x: tf.Tensor4D, w: tf.Tensor4D, stride: number, padding: number, dilation: number): tf.Tensor4D {
  const common = { strides: [stride, stride], dilations: [dilation, dilation], pad: explicitPadding(padding, padding) };
  const run = (name: string, inputs: tf.NamedTensorMap, attrs: object): tf.Tensor =>
    tf.engine().runKernel(name, inputs, { ...common, ...attrs } as unknown as tf.NamedAttrMap) as tf.Tensor;
  const f = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [xIn, wIn, save] = args as [tf.Tensor4D, tf.Tensor4D, tf.GradSaveFunc];
    save([xIn, wIn]);
    return {
      value: run('DepthwiseConv2dNative', { x: xIn, filter: wIn }, { dataFormat: 'NHWC' }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, ws] = saved as [tf.Tensor4D, tf.Tensor4D];
        return [
          run('DepthwiseConv2dNativeBackpropInput', { dy, filter: ws }, { inputShape: xs.shape }),
          run('DepthwiseConv2dNativeBackpropFilter', { x: xs, dy }, { filterShape: ws.shape }),
        ];
      },
    };
  });
  return f(x, w) as tf.Tensor4D;
}

/**
 * The dilated depthwise convolution through space-to-batch: output row y at
 * stride 1 reads padded rows y + d·i, i.e. phase y mod d at row ⌊y/d⌋ + i, an
 * undilated convolution of that phase. At stride s = d only phase 0 is read.
 */
export function dilatedDepthwiseBySpaceToBatch(x: tf.Tensor4D, w: tf.Tensor, stride: number, padding: number, dilation: number): tf.Tensor4D {
  const [n, h, wd, c] = x.shape;
  const k = w.shape[0]!;
  if (stride !== 1 && stride !== dilation) throw new Error(`dilated depthwise: stride ${stride} with dilation ${dilation} is not supported`);
  const hp = h + 2 * padding;
  const wp = wd + 2 * padding;
  // Round the padded sides up to multiples of d (extra zeros are never read by a kept output).
  const extraH = (dilation - (hp % dilation)) % dilation;
  const extraW = (dilation - (wp % dilation)) % dilation;
  const phases = tf.spaceToBatchND(x, [dilation, dilation], [[padding, padding + extraH], [padding, padding + extraW]]) as tf.Tensor4D;
  const ph = (hp + extraH) / dilation;
  const pw = (wp + extraW) / dilation;
  if (stride === dilation) {
    // Phase (0, 0) is the first block of the batch.
    const first = tf.slice(phases, [0, 0, 0, 0], [n, ph, pw, c]);
    return tf.depthwiseConv2d(first, w as tf.Tensor4D, 1, 'valid');
  }
  const conv1 = tf.depthwiseConv2d(phases, w as tf.Tensor4D, 1, 'valid');
  const outH = h + 2 * padding - dilation * (k - 1);
  const outW = wd + 2 * padding - dilation * (k - 1);
  const cropH = conv1.shape[1] * dilation - outH;
  const cropW = conv1.shape[2] * dilation - outW;
  return tf.batchToSpaceND(conv1, [dilation, dilation], [[0, cropH], [0, cropW]]) as tf.Tensor4D;
}

/** 3×3 average pool, padding 1, padding cells not counted (count_include_pad=False). */
export function avgPool3x3(x: tf.Tensor4D, stride: number): tf.Tensor4D {
  const [, h, w] = x.shape;
  const sum = tf.avgPool(padSpatial(x, 1), 3, stride, 'valid');
  // Fraction of each window inside the image: count/9, a constant.
  const fraction = tf.avgPool(padSpatial(tf.ones([1, h, w, 1]) as tf.Tensor4D, 1), 3, stride, 'valid');
  return tf.div(sum, fraction);
}

/** 3×3 max pool, padding 1 (padding never wins, as with PyTorch's −∞ padding). */
export function maxPool3x3(x: tf.Tensor4D, stride: number): tf.Tensor4D {
  return tf.maxPool(x, 3, stride, 1);
}

// ---- Operations ---------------------------------------------------------------

/** ReLU → 1×1 conv → BN (`op.1`, `op.2`): the cell's preprocessing. */
export function reluConvBn(store: ParamStore, name: string, cIn: number, cOut: number): CellOp {
  const w = convWeight(store, `${name}.op.1`, cIn, cOut, 1);
  const bn = batchNormParams(store, `${name}.op.2`, cOut);
  return {
    name: 'relu_conv_bn',
    identity: false,
    forward: (x, mode) => batchNorm(conv(tf.relu(x), w, 1), bn, mode),
  };
}

/**
 * FactorizedReduce: ReLU, two 1×1 stride-2 convs (C_in → C_out/2 each), the
 * second on the input shifted by one pixel, concatenated, then BN.
 */
export function factorizedReduce(store: ParamStore, name: string, cIn: number, cOut: number): CellOp {
  // PyTorch's BatchNorm(C_out) would not fit an odd concatenation.
  if (cOut % 2 !== 0) throw new Error(`FactorizedReduce needs an even channel count, got ${cOut}`);
  const half = cOut / 2;
  const w1 = convWeight(store, `${name}.conv_1`, cIn, half, 1);
  const w2 = convWeight(store, `${name}.conv_2`, cIn, half, 1);
  const bn = batchNormParams(store, `${name}.bn`, cOut);
  return {
    name: 'factorized_reduce',
    identity: false,
    forward: (x, mode) => {
      const r = tf.relu(x);
      const [n, h, w, c] = r.shape;
      const shifted = tf.slice(r, [0, 1, 1, 0], [n, h - 1, w - 1, c]);
      const y = tf.concat([conv(r, w1, 2), conv(shifted, w2, 2)], 3);
      return batchNorm(y, bn, mode);
    },
  };
}

/** [ReLU → depthwise k×k (stride s) → pointwise → BN] then the same at stride 1 (`op.1`…`op.7`). */
function sepConv(store: ParamStore, name: string, c: number, k: number, stride: Stride): CellOp {
  const p = Math.floor(k / 2);
  const dw1 = depthwiseWeight(store, `${name}.op.1`, c, k);
  const pw1 = convWeight(store, `${name}.op.2`, c, c, 1);
  const bn1 = batchNormParams(store, `${name}.op.3`, c);
  const dw2 = depthwiseWeight(store, `${name}.op.5`, c, k);
  const pw2 = convWeight(store, `${name}.op.6`, c, c, 1);
  const bn2 = batchNormParams(store, `${name}.op.7`, c);
  return {
    name: `sep_conv_${k}x${k}`,
    identity: false,
    forward: (x, mode) => {
      const a = batchNorm(conv(depthwise(tf.relu(x), dw1, stride, p), pw1, 1), bn1, mode);
      return batchNorm(conv(depthwise(tf.relu(a), dw2, 1, p), pw2, 1), bn2, mode);
    },
  };
}

/** ReLU → depthwise k×k dilated 2 (stride s, padding (k−1)) → pointwise → BN (`op.1`…`op.3`). */
function dilConv(store: ParamStore, name: string, c: number, k: number, stride: Stride): CellOp {
  const dilation = 2;
  const p = dilation * Math.floor(k / 2);
  const dw = depthwiseWeight(store, `${name}.op.1`, c, k);
  const pw = convWeight(store, `${name}.op.2`, c, c, 1);
  const bn = batchNormParams(store, `${name}.op.3`, c);
  return {
    name: `dil_conv_${k}x${k}`,
    identity: false,
    forward: (x, mode) => batchNorm(conv(dilatedDepthwise(tf.relu(x), dw, stride, p, dilation), pw, 1), bn, mode),
  };
}

/** ReLU → 1×7 conv (stride (1, s)) → 7×1 conv (stride (s, 1)) → BN (`op.1`…`op.3`). */
function conv7x1x7(store: ParamStore, name: string, c: number, stride: Stride): CellOp {
  const w1 = convWeight(store, `${name}.op.1`, c, c, 1, 7);
  const w2 = convWeight(store, `${name}.op.2`, c, c, 7, 1);
  const bn = batchNormParams(store, `${name}.op.3`, c);
  return {
    name: 'conv_7x1_1x7',
    identity: false,
    forward: (x, mode) => batchNorm(conv(conv(tf.relu(x), w1, [1, stride], [0, 3]), w2, [stride, 1], [3, 0]), bn, mode),
  };
}

/**
 * Builds operation `op` of the evaluation network at C channels and the
 * given stride, its parameters under `name` (e.g. `cells.3._ops.2`).
 * Throws on an operation the evaluation network does not define.
 */
export function buildOp(store: ParamStore, name: string, op: string, c: number, stride: Stride): CellOp {
  switch (op) {
    case 'none':
      return {
        name: op,
        identity: false,
        // PyTorch multiplies by 0 (the strided input at stride 2): zeros, no gradient.
        forward: (x) => tf.zeros([x.shape[0], Math.ceil(x.shape[1] / stride), Math.ceil(x.shape[2] / stride), x.shape[3]]),
      };
    case 'avg_pool_3x3':
      return { name: op, identity: false, forward: (x) => avgPool3x3(x, stride) };
    case 'max_pool_3x3':
      return { name: op, identity: false, forward: (x) => maxPool3x3(x, stride) };
    case 'skip_connect':
      return stride === 1 ? { name: op, identity: true, forward: (x) => x } : factorizedReduce(store, name, c, c);
    case 'sep_conv_3x3':
    case 'sep_conv_5x5':
    case 'sep_conv_7x7':
      return sepConv(store, name, c, Number(op.charAt(9)), stride);
    case 'dil_conv_3x3':
    case 'dil_conv_5x5':
      return dilConv(store, name, c, Number(op.charAt(9)), stride);
    case 'conv_7x1_1x7':
      return conv7x1x7(store, name, c, stride);
    default:
      throw new Error(`unknown operation '${op}'`);
  }
}
