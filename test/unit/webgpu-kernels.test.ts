/**
 * This project's filter-gradient kernels on webgpu (src/train/webgpu/
 * convFilterGrad.ts, depthwiseFilterGrad.ts) against the cpu backend, on
 * the shapes the DARTS network makes and around them: kernels 1/3/5/7 and
 * 1×7/7×1, strides 1 and 2, 'same', 'valid' and explicit symmetric
 * paddings, dilation 2 for depthwise, channel counts that are not multiples
 * of 4, batches 1 to 8, chunkings whose last chunk is short. Through the
 * kernels directly and through tf.grad. Skipped, saying why, where Dawn
 * finds no adapter (on Linux without a GPU: scripts/setup-lavapipe.sh).
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { convFilterGradPath, forcePointwisePath, planPointwiseChunks, POINTWISE_MATMUL_MIN_CHANNELS } from '../../src/train/webgpu/convFilterGrad.js';
import { isWebGpuOverride, useStockWebGpuKernel } from '../../src/train/webgpu/kernels.js';
import { MAX_PARTIAL_ELEMENTS, planRowChunks } from '../../src/train/webgpu/partialSums.js';
import { relativeMaxError, seeded, tf, tryWebGpu } from './train-helpers.js';

let unavailable: string | undefined;

before(async () => {
  ({ unavailable } = await tryWebGpu());
});

function needWebGpu(t: { skip(message: string): void }): boolean {
  if (unavailable !== undefined) t.skip(unavailable);
  return unavailable === undefined;
}

type Pad = 'same' | 'valid' | number;

interface ConvCase {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly cIn: number;
  readonly cOut: number;
  readonly kh: number;
  readonly kw: number;
  readonly stride: [number, number];
  /** A number p: explicit symmetric padding [[0,0],[p,p],[p,p],[0,0]] as the network passes it. */
  readonly pad: Pad;
}

function padAttr(pad: Pad): 'same' | 'valid' | tf.backend_util.ExplicitPadding {
  return typeof pad === 'number' ? [[0, 0], [pad, pad], [pad, pad], [0, 0]] : pad;
}

function convInfo(c: ConvCase): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo([c.n, c.h, c.w, c.cIn], [c.kh, c.kw, c.cIn, c.cOut], c.stride, 1, padAttr(c.pad));
}

/** Runs kernel `name` on `backend` with seeded x and dy; returns the filter gradient's values. */
async function filterGrad(backend: string, name: string, xShape: number[], dyShape: number[], attrs: object, seed: number): Promise<Float32Array> {
  await tf.setBackend(backend);
  const x = tf.tensor(seeded(xShape.reduce((a, b) => a * b), seed), xShape);
  const dy = tf.tensor(seeded(dyShape.reduce((a, b) => a * b), seed + 1), dyShape);
  const before = tf.memory().numTensors;
  const out = tf.engine().runKernel(name, { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
  const values = (await out.data()) as Float32Array;
  out.dispose();
  assert.equal(tf.memory().numTensors, before, `${backend} ${name}: tensors left behind`);
  tf.dispose([x, dy]);
  return values;
}

async function checkConv(c: ConvCase, seed: number): Promise<void> {
  const info = convInfo(c);
  const attrs = { strides: c.stride, pad: padAttr(c.pad), dataFormat: 'NHWC', filterShape: [c.kh, c.kw, c.cIn, c.cOut] };
  const dyShape = [c.n, info.outHeight, info.outWidth, c.cOut];
  const cpu = await filterGrad('cpu', 'Conv2DBackpropFilter', [c.n, c.h, c.w, c.cIn], dyShape, attrs, seed);
  const gpu = await filterGrad('webgpu', 'Conv2DBackpropFilter', [c.n, c.h, c.w, c.cIn], dyShape, attrs, seed);
  const err = relativeMaxError(cpu, gpu);
  assert.ok(err < 1e-4, `conv ${JSON.stringify(c)} (${convFilterGradPath(info)}): relative error ${err}`);
}

test('the filter-gradient overrides are registered on webgpu', (t) => {
  if (!needWebGpu(t)) return;
  assert.ok(isWebGpuOverride('Conv2DBackpropFilter'));
  assert.ok(isWebGpuOverride('DepthwiseConv2dNativeBackpropFilter'));
});

test('chunk plans cover every position once, within the partial-sum bound', () => {
  for (const [positions, cIn, cOut] of [[175, 5, 7], [98304, 144, 144], [6144, 576, 144], [64, 3, 3], [97 * 89, 36, 36], [1, 1, 1]] as const) {
    const plan = planPointwiseChunks(positions, cIn, cOut);
    assert.equal(plan.chunks * plan.length, positions, `pointwise ${positions}`);
    assert.ok(plan.chunks * cIn * cOut <= Math.max(cIn * cOut, MAX_PARTIAL_ELEMENTS));
  }
  for (const [rows, width, filterSize] of [[45, 15, 60], [3072, 32, 324], [1, 1, 1], [7, 3, 4_000_000], [96 * 32, 32, 2916]] as const) {
    const plan = planRowChunks(rows, width, filterSize);
    assert.ok(plan.rowsPerChunk >= 1 && plan.rowsPerChunk <= rows);
    assert.equal(plan.chunks, Math.ceil(rows / plan.rowsPerChunk), `rows ${rows}`);
    assert.ok(plan.chunks * filterSize <= Math.max(filterSize, MAX_PARTIAL_ELEMENTS));
  }
  // The network's big first-stage gradient is split: parallel work for a GPU.
  assert.ok(planRowChunks(96 * 32, 32, 9 * 36).chunks >= 96);
  assert.ok(planPointwiseChunks(96 * 32 * 32, 36, 36).chunks >= 96);
});

test('Conv2DBackpropFilter, 1×1 stride 1, as a batched matmul and as the direct program, equals cpu', async (t) => {
  if (!needWebGpu(t)) return;
  const cases: ConvCase[] = [
    { n: 1, h: 4, w: 4, cIn: 3, cOut: 5, kh: 1, kw: 1, stride: [1, 1], pad: 'valid' },
    { n: 2, h: 8, w: 8, cIn: 16, cOut: 16, kh: 1, kw: 1, stride: [1, 1], pad: 0 },
    { n: 7, h: 5, w: 5, cIn: 13, cOut: 6, kh: 1, kw: 1, stride: [1, 1], pad: 'same' },
    { n: 8, h: 16, w: 16, cIn: 24, cOut: 24, kh: 1, kw: 1, stride: [1, 1], pad: 'valid' },
    { n: 4, h: 8, w: 8, cIn: 48, cOut: 36, kh: 1, kw: 1, stride: [1, 1], pad: 'valid' },
    { n: 3, h: 2, w: 2, cIn: 33, cOut: 65, kh: 1, kw: 1, stride: [1, 1], pad: 'valid' },
    { n: 5, h: 7, w: 7, cIn: 37, cOut: 19, kh: 1, kw: 1, stride: [1, 1], pad: 0 },
  ];
  try {
    for (const [i, c] of cases.entries()) {
      assert.equal(convFilterGradPath(convInfo(c)), c.cIn * c.cOut >= POINTWISE_MATMUL_MIN_CHANNELS ? 'matmul' : 'direct');
      for (const path of ['matmul', 'direct'] as const) {
        forcePointwisePath(path);
        assert.equal(convFilterGradPath(convInfo(c)), path);
        await checkConv(c, 10 + i);
      }
      forcePointwisePath(undefined);
    }
  } finally {
    forcePointwisePath(undefined);
  }
});

test('Conv2DBackpropFilter, k×k, strided and padded (the direct path), equals cpu', async (t) => {
  if (!needWebGpu(t)) return;
  const cases: ConvCase[] = [
    // The stem, FactorizedReduce, conv_7x1_1x7's two halves, the auxiliary head's 2×2.
    { n: 2, h: 16, w: 16, cIn: 3, cOut: 12, kh: 3, kw: 3, stride: [1, 1], pad: 1 },
    { n: 3, h: 8, w: 8, cIn: 6, cOut: 5, kh: 1, kw: 1, stride: [2, 2], pad: 'valid' },
    { n: 2, h: 7, w: 7, cIn: 6, cOut: 5, kh: 1, kw: 1, stride: [2, 2], pad: 0 },
    { n: 2, h: 8, w: 8, cIn: 5, cOut: 5, kh: 1, kw: 7, stride: [1, 2], pad: 'same' },
    { n: 2, h: 8, w: 4, cIn: 5, cOut: 5, kh: 7, kw: 1, stride: [2, 1], pad: 'same' },
    { n: 4, h: 2, w: 2, cIn: 7, cOut: 9, kh: 2, kw: 2, stride: [1, 1], pad: 'valid' },
    { n: 1, h: 9, w: 9, cIn: 5, cOut: 7, kh: 5, kw: 5, stride: [2, 2], pad: 2 },
    { n: 3, h: 15, w: 15, cIn: 3, cOut: 7, kh: 3, kw: 3, stride: [1, 1], pad: 'same' },
    { n: 8, h: 16, w: 16, cIn: 4, cOut: 6, kh: 5, kw: 5, stride: [1, 1], pad: 'valid' },
    { n: 5, h: 10, w: 10, cIn: 6, cOut: 3, kh: 7, kw: 7, stride: [2, 2], pad: 3 },
    { n: 2, h: 6, w: 6, cIn: 4, cOut: 4, kh: 1, kw: 1, stride: [1, 1], pad: 1 },
  ];
  for (const [i, c] of cases.entries()) {
    assert.equal(convFilterGradPath(convInfo(c)), 'direct');
    await checkConv(c, 30 + i);
  }
});

interface DepthwiseCase {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly c: number;
  readonly k: number;
  readonly stride: number;
  readonly dilation: number;
  readonly pad: Pad;
  readonly multiplier?: number;
}

/**
 * The depthwise filter gradient by its definition, for dilation > 1 (the cpu
 * backend's kernel ignores dilation): dW[i, j, c, m] = Σ x[n, y·s + i·d − top,
 * x·s + j·d − left, c] · dy[n, y, x, c·M + m].
 */
function depthwiseFilterGradByDefinition(x: Float32Array, dy: Float32Array, info: tf.backend_util.Conv2DInfo): Float32Array {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels, filterHeight, filterWidth } = info;
  const m = outChannels / inChannels;
  const out = new Float32Array(filterHeight * filterWidth * outChannels);
  for (let i = 0; i < filterHeight; i++) {
    for (let j = 0; j < filterWidth; j++) {
      for (let d2 = 0; d2 < outChannels; d2++) {
        let sum = 0;
        for (let n = 0; n < batchSize; n++) {
          for (let yo = 0; yo < outHeight; yo++) {
            const xr = yo * info.strideHeight + i * info.dilationHeight - info.padInfo.top;
            if (xr < 0 || xr >= inHeight) continue;
            for (let xo = 0; xo < outWidth; xo++) {
              const xc = xo * info.strideWidth + j * info.dilationWidth - info.padInfo.left;
              if (xc < 0 || xc >= inWidth) continue;
              sum += x[((n * inHeight + xr) * inWidth + xc) * inChannels + Math.floor(d2 / m)]! * dy[((n * outHeight + yo) * outWidth + xo) * outChannels + d2]!;
            }
          }
        }
        out[(i * filterWidth + j) * outChannels + d2] = sum;
      }
    }
  }
  return out;
}

test('DepthwiseConv2dNativeBackpropFilter, any kernel, stride, padding and dilation, equals cpu', async (t) => {
  if (!needWebGpu(t)) return;
  const cases: DepthwiseCase[] = [
    // sep_conv 3/5/7 at stride 1 and 2 (padding k/2), dil_conv 3/5 (dilation 2, padding k−1).
    { n: 2, h: 8, w: 8, c: 5, k: 3, stride: 1, dilation: 1, pad: 1 },
    { n: 3, h: 8, w: 8, c: 6, k: 3, stride: 2, dilation: 1, pad: 1 },
    { n: 1, h: 9, w: 9, c: 7, k: 5, stride: 1, dilation: 1, pad: 2 },
    { n: 4, h: 8, w: 8, c: 3, k: 5, stride: 2, dilation: 1, pad: 2 },
    { n: 2, h: 7, w: 7, c: 9, k: 7, stride: 1, dilation: 1, pad: 3 },
    { n: 2, h: 8, w: 8, c: 5, k: 3, stride: 1, dilation: 2, pad: 2 },
    { n: 3, h: 8, w: 8, c: 6, k: 5, stride: 1, dilation: 2, pad: 4 },
    { n: 2, h: 9, w: 9, c: 5, k: 3, stride: 2, dilation: 2, pad: 2 },
    { n: 1, h: 5, w: 5, c: 3, k: 1, stride: 1, dilation: 1, pad: 'valid' },
    { n: 5, h: 10, w: 10, c: 4, k: 3, stride: 2, dilation: 1, pad: 'same' },
    { n: 2, h: 11, w: 11, c: 6, k: 3, stride: 1, dilation: 1, pad: 'valid' },
    { n: 8, h: 16, w: 16, c: 13, k: 3, stride: 1, dilation: 1, pad: 1 },
    { n: 3, h: 15, w: 15, c: 5, k: 5, stride: 1, dilation: 1, pad: 2 },
    { n: 2, h: 6, w: 6, c: 3, k: 3, stride: 1, dilation: 1, pad: 1, multiplier: 2 },
  ];
  for (const [i, d] of cases.entries()) {
    const m = d.multiplier ?? 1;
    const info = tf.backend_util.computeConv2DInfo([d.n, d.h, d.w, d.c], [d.k, d.k, d.c, m], d.stride, d.dilation, padAttr(d.pad), undefined, true);
    const attrs = { strides: [d.stride, d.stride], dilations: [d.dilation, d.dilation], pad: padAttr(d.pad), filterShape: [d.k, d.k, d.c, m] };
    const dyShape = [d.n, info.outHeight, info.outWidth, d.c * m];
    const xShape = [d.n, d.h, d.w, d.c];
    const reference = depthwiseFilterGradByDefinition(seeded(d.n * d.h * d.w * d.c, 60 + i), seeded(dyShape.reduce((a, b) => a * b), 61 + i), info);
    if (d.dilation === 1) {
      // The definition agrees with TensorFlow.js's cpu kernel where that one applies.
      const cpu = await filterGrad('cpu', 'DepthwiseConv2dNativeBackpropFilter', xShape, dyShape, attrs, 60 + i);
      assert.ok(relativeMaxError(cpu, reference) < 1e-5, `reference ${JSON.stringify(d)}`);
    }
    const gpu = await filterGrad('webgpu', 'DepthwiseConv2dNativeBackpropFilter', xShape, dyShape, attrs, 60 + i);
    const err = relativeMaxError(reference, gpu);
    assert.ok(err < 1e-4, `depthwise ${JSON.stringify(d)}: relative error ${err}`);
  }
});

test('through tf.grad: filter gradients of conv2d and depthwiseConv2d as the network calls them equal cpu', async (t) => {
  if (!needWebGpu(t)) return;
  const grads = async (backend: string): Promise<Float32Array[]> => {
    await tf.setBackend(backend);
    const out = tf.tidy(() => {
      const x = tf.tensor4d(seeded(3 * 9 * 9 * 6, 90), [3, 9, 9, 6]);
      const w1 = tf.tensor4d(seeded(6 * 10, 91), [1, 1, 6, 10]);
      const w3 = tf.tensor4d(seeded(9 * 6 * 10, 92), [3, 3, 6, 10]);
      const dw = tf.tensor4d(seeded(25 * 6, 93), [5, 5, 6, 1]);
      const loss = (...[a, b, c]: tf.Tensor[]) => {
        const pointwise = tf.conv2d(x, a as tf.Tensor4D, 1, 'valid');
        const strided = tf.conv2d(x, b as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
        const depthwise = tf.depthwiseConv2d(x, c as tf.Tensor4D, 2, [[0, 0], [2, 2], [2, 2], [0, 0]]);
        return tf.add(tf.add(tf.sum(tf.square(pointwise)), tf.sum(tf.mul(strided, strided))), tf.sum(tf.sin(depthwise)));
      };
      return tf.grads(loss)([w1, w3, dw]);
    });
    const values = await Promise.all(out.map(async (g) => (await g.data()) as Float32Array));
    tf.dispose(out);
    return values;
  };
  const cpu = await grads('cpu');
  const gpu = await grads('webgpu');
  for (const [i, name] of ['1×1', '3×3 stride 2', 'depthwise 5×5 stride 2'].entries()) {
    const err = relativeMaxError(cpu[i]!, gpu[i]!);
    assert.ok(err < 1e-4, `${name}: relative error ${err}`);
  }
});

test('stock and override can be swapped back and forth (what the GPU bench compares)', async (t) => {
  if (!needWebGpu(t)) return;
  const c: ConvCase = { n: 2, h: 6, w: 6, cIn: 5, cOut: 3, kh: 1, kw: 1, stride: [1, 1], pad: 'valid' };
  const attrs = { strides: c.stride, pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, 5, 3] };
  try {
    useStockWebGpuKernel('Conv2DBackpropFilter', true);
    assert.ok(!isWebGpuOverride('Conv2DBackpropFilter'));
    const stock = await filterGrad('webgpu', 'Conv2DBackpropFilter', [2, 6, 6, 5], [2, 6, 6, 3], attrs, 99);
    useStockWebGpuKernel('Conv2DBackpropFilter', false);
    assert.ok(isWebGpuOverride('Conv2DBackpropFilter'));
    const ours = await filterGrad('webgpu', 'Conv2DBackpropFilter', [2, 6, 6, 5], [2, 6, 6, 3], attrs, 99);
    assert.ok(relativeMaxError(stock, ours) < 1e-5);
  } finally {
    useStockWebGpuKernel('Conv2DBackpropFilter', false);
  }
});
