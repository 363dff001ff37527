/**
 * The kernels registered on the wasm backend (src/train/kernels: the missing
 * conv/depthwise gradients, faster Conv2DBackpropInput, Slice, SplitV,
 * Concat, Sum/Mean and Identity, a correct MaxPoolGrad) against the
 * cpu backend, on many small shapes. Where the cpu backend is itself no
 * reference (it ignores dilation in the depthwise gradients), a direct
 * evaluation of the defining sums is, and it is checked against cpu first.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simdKernels } from '../../src/train/kernels/simd.js';
import { onBackend, relativeMaxError, seeded, tf } from './train-helpers.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
const TOL = 2e-5;

function outInfo(xShape: number[], filterShape: number[], strides: number | [number, number], dilations: number, pad: Pad, depthwise: boolean) {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    strides,
    dilations,
    pad,
    undefined,
    depthwise,
  );
}

async function compare(label: string, make: () => tf.Tensor, tol = TOL): Promise<void> {
  const [cpu] = await onBackend('cpu', make);
  const [wasm] = await onBackend('wasm', make);
  assert.deepEqual(wasm!.shape, cpu!.shape, label);
  const err = relativeMaxError(cpu!.values, wasm!.values);
  assert.ok(err <= tol, `${label}: relative error ${err}`);
}

const PADS: Pad[] = ['same', 'valid', 1, [[0, 0], [2, 0], [1, 2], [0, 0]]];

test('Conv2DBackpropFilter on wasm equals cpu (kernels 1–7, rectangular, strides 1/2, all paddings)', async () => {
  const kernels: Array<[number, number]> = [[1, 1], [2, 2], [3, 3], [5, 5], [7, 7], [1, 7], [7, 1]];
  const strides: Array<number | [number, number]> = [1, 2, [1, 2], [2, 1]];
  let n = 0;
  for (const [kh, kw] of kernels) {
    for (const s of strides) {
      for (const pad of PADS) {
        // tfjs sizes a numeric padding from the filter height and vertical
        // stride only, so it is meaningful for square filters and strides only.
        if (typeof pad === 'number' && (kh !== kw || Array.isArray(s))) continue;
        for (const [h, w] of [[9, 8], [8, 8]] as const) {
          const xShape = [2, h, w, 3];
          const fShape = [kh, kw, 3, 4];
          const info = outInfo(xShape, fShape, s, 1, pad, false);
          if (info.outHeight <= 0 || info.outWidth <= 0) continue;
          const xv = seeded(2 * h * w * 3, ++n);
          const dyv = seeded(2 * info.outHeight * info.outWidth * 4, 1000 + n);
          await compare(`k=${kh}x${kw} s=${s} pad=${JSON.stringify(pad)} ${h}x${w}`, () =>
            tf.engine().runKernel(
              'Conv2DBackpropFilter',
              { x: tf.tensor(xv, xShape), dy: tf.tensor(dyv, [2, info.outHeight, info.outWidth, 4]) },
              { strides: s, pad, dataFormat: 'NHWC', filterShape: fShape } as unknown as tf.NamedAttrMap,
            ) as tf.Tensor,
          );
        }
      }
    }
  }
  assert.ok(n > 100);
});

test('Conv2DBackpropFilter SIMD path on wasm equals cpu (channels 3–68 × 8–64, 1×1 and 3×3, strides 1/2, paddings, >512 positions)', async () => {
  // simd.ts's loop takes blocks of 4 input and 8 output channels; other counts (3, 12, 68) are zero-padded copies.
  const cases: Array<{ n: number; h: number; w: number; cIn: number; cOut: number; k: number; s: number; pad: Pad }> = [
    { n: 2, h: 9, w: 8, cIn: 4, cOut: 8, k: 1, s: 1, pad: 'valid' },
    { n: 2, h: 9, w: 8, cIn: 16, cOut: 16, k: 1, s: 1, pad: 'valid' },
    { n: 3, h: 17, w: 13, cIn: 48, cOut: 16, k: 1, s: 1, pad: 'valid' },
    { n: 3, h: 17, w: 13, cIn: 64, cOut: 64, k: 1, s: 1, pad: 'valid' },
    { n: 2, h: 9, w: 9, cIn: 8, cOut: 24, k: 1, s: 2, pad: 'valid' },
    { n: 2, h: 9, w: 8, cIn: 12, cOut: 8, k: 3, s: 1, pad: 1 },
    { n: 2, h: 9, w: 8, cIn: 8, cOut: 16, k: 3, s: 2, pad: 'same' },
    { n: 2, h: 7, w: 9, cIn: 68, cOut: 8, k: 1, s: 1, pad: 'valid' },
    { n: 2, h: 7, w: 9, cIn: 8, cOut: 12, k: 1, s: 1, pad: 'valid' },
    { n: 2, h: 9, w: 8, cIn: 3, cOut: 48, k: 3, s: 1, pad: 1 },
    { n: 3, h: 17, w: 13, cIn: 128, cOut: 32, k: 1, s: 1, pad: 'valid' },
  ];
  await onBackend('wasm', () => tf.scalar(0));
  // CELLSCOPE_WASM_SIMD=0 runs this file on the fallback paths (BatchMatMul, JavaScript loops) instead.
  if (process.env.CELLSCOPE_WASM_SIMD !== '0') assert.ok(simdKernels(tf.backend()) !== null, 'the SIMD module instantiates over the wasm backend\'s memory');
  let seed = 3000;
  for (const c of cases) {
    const xShape = [c.n, c.h, c.w, c.cIn];
    const fShape = [c.k, c.k, c.cIn, c.cOut];
    const info = outInfo(xShape, fShape, c.s, 1, c.pad, false);
    const xv = seeded(xShape.reduce((a, b) => a * b), ++seed);
    const dyShape = [c.n, info.outHeight, info.outWidth, c.cOut];
    const dyv = seeded(dyShape.reduce((a, b) => a * b), ++seed);
    await compare(JSON.stringify(c), () =>
      tf.engine().runKernel(
        'Conv2DBackpropFilter',
        { x: tf.tensor(xv, xShape), dy: tf.tensor(dyv, dyShape) },
        { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: fShape } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor,
    );
  }
});

test('Conv2DBackpropInput on wasm equals cpu (kernels 1–7, rectangular, strides 1/2, all paddings)', async () => {
  const kernels: Array<[number, number]> = [[1, 1], [2, 2], [3, 3], [5, 5], [7, 7], [1, 7], [7, 1]];
  const strides: Array<number | [number, number]> = [1, 2, [1, 2], [2, 1]];
  let n = 0;
  for (const [kh, kw] of kernels) {
    for (const s of strides) {
      for (const pad of PADS) {
        if (typeof pad === 'number' && (kh !== kw || Array.isArray(s))) continue;
        for (const [h, w] of [[9, 8], [8, 8]] as const) {
          const xShape = [2, h, w, 3];
          const fShape = [kh, kw, 3, 4];
          const info = outInfo(xShape, fShape, s, 1, pad, false);
          if (info.outHeight <= 0 || info.outWidth <= 0) continue;
          const wv = seeded(kh * kw * 3 * 4, ++n + 5000);
          const dyv = seeded(2 * info.outHeight * info.outWidth * 4, 7000 + n);
          await compare(`k=${kh}x${kw} s=${s} pad=${JSON.stringify(pad)} ${h}x${w}`, () =>
            tf.engine().runKernel(
              'Conv2DBackpropInput',
              { dy: tf.tensor(dyv, [2, info.outHeight, info.outWidth, 4]), filter: tf.tensor(wv, fShape) },
              { strides: s, pad, dataFormat: 'NHWC', inputShape: xShape } as unknown as tf.NamedAttrMap,
            ) as tf.Tensor,
          );
        }
      }
    }
  }
  assert.ok(n > 100);
});

test('conv2d gradients (input and filter) through tf.grad on wasm equal cpu', async () => {
  for (const [k, s, pad] of [[1, 1, 'valid'], [1, 2, 'valid'], [3, 1, 'same'], [3, 2, 1], [7, 2, 3]] as const) {
    const xv = seeded(2 * 8 * 8 * 5, k * 10 + s);
    const wv = seeded(k * k * 5 * 6, k * 20 + s);
    const make = (): tf.Tensor[] => {
      const f = (x: tf.Tensor4D, w: tf.Tensor4D) => tf.sum(tf.square(tf.conv2d(x, w, s, pad)));
      return tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([tf.tensor4d(xv, [2, 8, 8, 5]), tf.tensor4d(wv, [k, k, 5, 6])]);
    };
    const cpu = await onBackend('cpu', make);
    const wasm = await onBackend('wasm', make);
    for (let i = 0; i < 2; i++) {
      const err = relativeMaxError(cpu[i]!.values, wasm[i]!.values);
      assert.ok(err <= TOL, `k=${k} s=${s} grad ${i}: ${err}`);
    }
  }
});

/** The defining sums of a depthwise convolution's gradients, evaluated directly. */
function depthwiseGradsByDefinition(
  x: Float32Array, xShape: number[], w: Float32Array, fShape: number[], dy: Float32Array,
  info: tf.backend_util.Conv2DInfo,
): { dW: Float32Array; dX: Float32Array } {
  const [n, h, wd, c] = xShape as [number, number, number, number];
  const [kh, kw, , mult] = fShape as [number, number, number, number];
  const { outHeight: oh, outWidth: ow, strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
  const { top, left } = info.padInfo;
  const dW = new Float32Array(kh * kw * c * mult);
  const dX = new Float32Array(n * h * wd * c);
  for (let b = 0; b < n; b++)
    for (let y = 0; y < oh; y++)
      for (let xo = 0; xo < ow; xo++)
        for (let i = 0; i < kh; i++)
          for (let j = 0; j < kw; j++) {
            const yi = y * sh + i * dh - top;
            const xi = xo * sw + j * dw - left;
            if (yi < 0 || yi >= h || xi < 0 || xi >= wd) continue;
            for (let ch = 0; ch < c; ch++)
              for (let m = 0; m < mult; m++) {
                const g = dy[((b * oh + y) * ow + xo) * c * mult + ch * mult + m]!;
                const xIdx = ((b * h + yi) * wd + xi) * c + ch;
                const wIdx = ((i * kw + j) * c + ch) * mult + m;
                dW[wIdx] = dW[wIdx]! + x[xIdx]! * g;
                dX[xIdx] = dX[xIdx]! + w[wIdx]! * g;
              }
          }
  return { dW, dX };
}

interface DepthwiseCase {
  /** Channels; 3 unless given (more than 8 exercises the blocked accumulation). */
  c?: number;
  k: number;
  s: number;
  pad: Pad;
  d: number;
  mult: number;
  h: number;
  w: number;
}

function depthwiseCases(): DepthwiseCase[] {
  const cases: DepthwiseCase[] = [];
  for (const k of [3, 5, 7])
    for (const s of [1, 2])
      for (const pad of PADS)
        for (const mult of [1, 2]) cases.push({ k, s, pad, d: 1, mult, h: 9, w: 8 });
  // Channel counts around the eight-channel blocks of the filter gradient.
  for (const c of [8, 13, 16]) for (const s of [1, 2]) cases.push({ c, k: 3, s, pad: 1, d: 1, mult: 1, h: 9, w: 8 });
  cases.push({ c: 16, k: 3, s: 1, pad: 2, d: 2, mult: 1, h: 11, w: 10 }, { c: 13, k: 5, s: 2, pad: 4, d: 2, mult: 1, h: 11, w: 10 });
  // The SIMD loop's sixteen-channel blocks (simd.ts), with JavaScript for the rest (20, 36) and a
  // kernel wider than the image (taps with no valid column or row).
  for (const c of [20, 32, 36]) for (const s of [1, 2]) for (const pad of [1, 'same', 'valid'] as const) cases.push({ c, k: 3, s, pad, d: 1, mult: 1, h: 9, w: 7 });
  cases.push({ c: 32, k: 5, s: 2, pad: 4, d: 2, mult: 1, h: 11, w: 10 }, { c: 16, k: 7, s: 1, pad: 3, d: 1, mult: 1, h: 2, w: 3 });
  // Dilated, as dil_conv uses it (dilation 2, padding 2 or 4) and more.
  for (const [k, pad] of [[3, 2], [5, 4], [3, 'same'], [3, 'valid'], [3, 1]] as const)
    for (const d of [2, 3]) for (const mult of [1, 2]) cases.push({ k, s: 1, pad, d, mult, h: 11, w: 10 });
  // Stride and dilation together (dil_conv in a reduction cell), odd and even sides, and 16 channels' worth of blocks.
  for (const [k, pad] of [[3, 2], [5, 4], [3, 'valid']] as const)
    for (const [h, w] of [[11, 10], [8, 8]] as const) for (const mult of [1, 2]) cases.push({ k, s: 2, pad, d: 2, mult, h, w });
  return cases;
}

function depthwiseData(c: DepthwiseCase, seed: number) {
  const ch = c.c ?? 3;
  const xShape = [2, c.h, c.w, ch];
  const fShape = [c.k, c.k, ch, c.mult];
  const info = outInfo(xShape, fShape, c.s, c.d, c.pad, true);
  assert.ok(info.outHeight > 0 && info.outWidth > 0, `empty output for ${JSON.stringify(c)}`);
  return {
    xShape, fShape, info,
    x: seeded(2 * c.h * c.w * ch, seed),
    w: seeded(c.k * c.k * ch * c.mult, seed + 1),
    dy: seeded(2 * info.outHeight * info.outWidth * ch * c.mult, seed + 2),
    dyShape: [2, info.outHeight, info.outWidth, ch * c.mult],
  };
}

function runDepthwiseFilter(c: DepthwiseCase, data: ReturnType<typeof depthwiseData>): tf.Tensor {
  return tf.engine().runKernel(
    'DepthwiseConv2dNativeBackpropFilter',
    { x: tf.tensor(data.x, data.xShape), dy: tf.tensor(data.dy, data.dyShape) },
    { strides: c.s, pad: c.pad, dilations: c.d, filterShape: data.fShape } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor;
}

function runDepthwiseInput(c: DepthwiseCase, data: ReturnType<typeof depthwiseData>): tf.Tensor {
  return tf.engine().runKernel(
    'DepthwiseConv2dNativeBackpropInput',
    { dy: tf.tensor(data.dy, data.dyShape), filter: tf.tensor(data.w, data.fShape) },
    { strides: c.s, pad: c.pad, dilations: c.d, inputShape: data.xShape } as unknown as tf.NamedAttrMap,
  ) as tf.Tensor;
}

test('depthwise gradients on wasm equal cpu at dilation 1 (kernels 3/5/7, strides 1/2, paddings, multipliers)', async () => {
  const cases = depthwiseCases().filter((c) => c.d === 1);
  let seed = 0;
  for (const c of cases) {
    const data = depthwiseData(c, (seed += 3));
    const label = JSON.stringify(c);
    await compare(`filter ${label}`, () => runDepthwiseFilter(c, data));
    await compare(`input ${label}`, () => runDepthwiseInput(c, data));
    // The direct sums agree with cpu here, so they are a fair reference where cpu is not.
    const ref = depthwiseGradsByDefinition(data.x, data.xShape, data.w, data.fShape, data.dy, data.info);
    const [cpuW, cpuX] = await onBackend('cpu', () => [runDepthwiseFilter(c, data), runDepthwiseInput(c, data)]);
    assert.ok(relativeMaxError(ref.dW, cpuW!.values) <= TOL, `definition vs cpu filter ${label}`);
    assert.ok(relativeMaxError(ref.dX, cpuX!.values) <= TOL, `definition vs cpu input ${label}`);
  }
});

test('depthwise gradients on wasm equal the defining sums at dilation 2 and 3 (strides 1 and 2)', async () => {
  let seed = 500;
  for (const c of depthwiseCases().filter((c) => c.d > 1)) {
    const data = depthwiseData(c, (seed += 3));
    const ref = depthwiseGradsByDefinition(data.x, data.xShape, data.w, data.fShape, data.dy, data.info);
    const [dW, dX] = await onBackend('wasm', () => [runDepthwiseFilter(c, data), runDepthwiseInput(c, data)]);
    assert.deepEqual(dW!.shape, data.fShape);
    assert.deepEqual(dX!.shape, data.xShape);
    assert.ok(relativeMaxError(ref.dW, dW!.values) <= TOL, `filter ${JSON.stringify(c)}`);
    assert.ok(relativeMaxError(ref.dX, dX!.values) <= TOL, `input ${JSON.stringify(c)}`);
  }
});

test('DepthwiseConv2dNative on wasm equals cpu (5×5 and 7×7 at 16–32 channels by simd.ts; 3×3 and 20 channels by XNNPACK; strides, dilations, paddings, tiny images)', async () => {
  const cases: Array<{ c: number; k: number; s: number; d: number; pad: Pad; h: number; w: number }> = [];
  for (const c of [16, 32, 20])
    for (const k of [3, 5, 7])
      for (const [s, d] of [[1, 1], [2, 1], [1, 2], [2, 2], [1, 3]] as const)
        for (const pad of ['same', 'valid', (d * (k - 1)) / 2, [[0, 0], [2, 0], [1, 2], [0, 0]]] as Pad[]) cases.push({ c, k, s, d, pad, h: 11, w: 10 });
  // A filter wider than the image (no column with every tap inside) and a one-pixel image.
  cases.push({ c: 16, k: 7, s: 1, d: 1, pad: 3, h: 2, w: 3 }, { c: 16, k: 5, s: 1, d: 1, pad: 2, h: 1, w: 1 }, { c: 32, k: 5, s: 2, d: 2, pad: 4, h: 11, w: 10 });
  let seed = 7000;
  let n = 0;
  for (const c of cases) {
    const xShape = [2, c.h, c.w, c.c];
    const fShape = [c.k, c.k, c.c, 1];
    const info = outInfo(xShape, fShape, c.s, c.d, c.pad, true);
    if (info.outHeight <= 0 || info.outWidth <= 0) continue;
    // cpu refuses stride and dilation both > 1: there it is the stride-1 result at every other pixel
    // (the same sums, for a padding that does not depend on the stride).
    const both = c.s > 1 && c.d > 1;
    if (both && typeof c.pad === 'string') continue;
    const xv = seeded(xShape.reduce((a, b) => a * b), ++seed);
    const wv = seeded(fShape.reduce((a, b) => a * b), ++seed);
    n++;
    const run = (s: number) =>
      tf.engine().runKernel(
        'DepthwiseConv2dNative',
        { x: tf.tensor(xv, xShape), filter: tf.tensor(wv, fShape) },
        { strides: s, pad: c.pad, dilations: c.d, dataFormat: 'NHWC' } as unknown as tf.NamedAttrMap,
      ) as tf.Tensor4D;
    await compare(`depthwise ${JSON.stringify(c)}`, () => {
      if (!both || tf.getBackend() === 'wasm') return run(c.s);
      const full = run(1);
      return tf.stridedSlice(full, [0, 0, 0, 0], full.shape, [1, c.s, c.s, 1]);
    });
  }
  assert.ok(n > 150);
});

test('MaxPoolGrad on wasm equals cpu, including windows whose values are all ≤ 0', async () => {
  const ranges: Array<[number, number]> = [[-2, -0.01], [-1, 1], [-1, 0]];
  const configs: Array<{ f: number; s: number; pad: Pad }> = [
    { f: 3, s: 1, pad: 1 }, { f: 3, s: 2, pad: 1 }, { f: 3, s: 1, pad: 'same' }, { f: 2, s: 2, pad: 'valid' },
    { f: 3, s: 2, pad: 'valid' }, { f: 5, s: 3, pad: 'same' },
  ];
  let seed = 900;
  // 3 channels: the JavaScript loop; 8 and 20: simd.ts's (vectors of 4 channels).
  for (const c of [3, 8, 20]) {
    for (const [lo, hi] of ranges) {
      for (const { f, s, pad } of configs) {
        const xv = seeded(2 * 9 * 8 * c, ++seed, lo, hi);
        if (hi === 0) for (let i = 0; i < xv.length; i += 3) xv[i] = 0; // ties at 0 and exact zeros
        // Few distinct values: ties inside windows, where the first maximum in row-major order must win.
        if (lo === -1 && hi === 1 && c === 8) for (let i = 0; i < xv.length; i++) xv[i] = Math.round(xv[i]! * 2) / 2;
        // Distinct upstream gradients, so a gradient routed to the wrong cell shows.
        const make = () =>
          tf.grad((x: tf.Tensor) => {
            const pooled = tf.maxPool(x as tf.Tensor4D, f, s, pad);
            return tf.sum(tf.mul(pooled, tf.reshape(tf.range(1, 1 + pooled.size), pooled.shape)));
          })(tf.tensor4d(xv, [2, 9, 8, c]));
        await compare(`maxPool c=${c} f=${f} s=${s} pad=${JSON.stringify(pad)} values in [${lo}, ${hi})`, make, 0);
      }
    }
  }
});

test('AvgPoolGrad on wasm (a depthwise input gradient) equals cpu (windows 1–5, strides 1–3, paddings, 3 and 16 channels)', async () => {
  let seed = 9000;
  let n = 0;
  for (const c of [3, 16])
    for (const f of [1, 2, 3, 5])
      for (const s of [1, 2, 3])
        for (const pad of ['valid', 'same', 1] as const) {
          if (typeof pad === 'number' && pad >= f) continue;
          const xShape = [2, 9, 8, c];
          const info = tf.backend_util.computePool2DInfo(xShape as [number, number, number, number], f, s, 1, pad);
          if (info.outHeight <= 0 || info.outWidth <= 0) continue;
          const dyShape = [2, info.outHeight, info.outWidth, c];
          const dyv = seeded(dyShape.reduce((a, b) => a * b), ++seed);
          n++;
          await compare(`avgPoolGrad c=${c} f=${f} s=${s} pad=${pad}`, () =>
            tf.engine().runKernel('AvgPoolGrad', { dy: tf.tensor(dyv, dyShape), input: tf.zeros(xShape) }, { filterSize: f, strides: s, pad } as unknown as tf.NamedAttrMap) as tf.Tensor,
          );
        }
  assert.ok(n > 50);
  // The network's avg_pool_3x3 (count_include_pad=False), through tf.grad.
  const xv = seeded(2 * 8 * 8 * 16, 77);
  await compare('avg_pool_3x3 gradient', () => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.avgPool(tf.pad(x as tf.Tensor4D, [[0, 0], [1, 1], [1, 1], [0, 0]]), 3, 2, 'valid'), tf.reshape(tf.range(1, 1 + 2 * 4 * 4 * 16), [2, 4, 4, 16]))))(tf.tensor4d(xv, [2, 8, 8, 16])));
});

test('Slice on wasm equals cpu (ranks 1–5, partial and whole axes, int32)', async () => {
  const shapes = [[7], [3, 5], [2, 4, 6], [2, 3, 4, 5], [2, 2, 3, 2, 3]];
  let seed = 1300;
  for (const shape of shapes) {
    const n = shape.reduce((a, b) => a * b, 1);
    for (let trial = 0; trial < 6; trial++) {
      const r = seeded(2 * shape.length, ++seed, 0, 1);
      // Trial 0 takes whole axes after the first, so contiguous runs merge.
      const begin = shape.map((d, i) => (trial === 0 && i > 0 ? 0 : Math.floor(r[i]! * d)));
      const size = shape.map((d, i) => (trial === 0 && i > 0 ? d : 1 + Math.floor(r[shape.length + i]! * (d - begin[i]!))));
      const values = seeded(n, seed + 50);
      await compare(`slice ${JSON.stringify(shape)} at ${JSON.stringify(begin)} size ${JSON.stringify(size)}`, () => tf.slice(tf.tensor(values, shape), begin, size), 0);
      await compare('int32 slice', () => tf.slice(tf.tensor(Int32Array.from(values, (v) => Math.round(v * 100)), shape, 'int32'), begin, size), 0);
    }
  }
});

test('Concat and SplitV on wasm equal cpu (every axis, 2–4 parts, short and long runs, int32)', async () => {
  const shapes = [[2, 3, 4, 5], [2, 16, 16, 3], [3, 7], [300]];
  let seed = 1500;
  for (const shape of shapes) {
    for (let axis = 0; axis < shape.length; axis++) {
      for (const parts of [2, 3, 4]) {
        const pieces = Array.from({ length: parts }, (_, i) => {
          const s = [...shape];
          s[axis] = shape[axis]! + i; // unequal sizes
          return { s, v: seeded(s.reduce((a, b) => a * b, 1), ++seed) };
        });
        const label = `${JSON.stringify(shape)} axis ${axis} parts ${parts}`;
        await compare(`concat ${label}`, () => tf.concat(pieces.map((p) => tf.tensor(p.v, p.s)), axis), 0);
        await compare(`concat int32 ${label}`, () => tf.concat(pieces.map((p) => tf.tensor(Int32Array.from(p.v, (x) => Math.round(x * 100)), p.s, 'int32')), axis), 0);
        const sizes = pieces.map((p) => p.s[axis]!);
        const whole = shape.map((d, i) => (i === axis ? sizes.reduce((a, b) => a + b, 0) : d));
        const wv = seeded(whole.reduce((a, b) => a * b, 1), ++seed);
        const [cpuParts, wasmParts] = [await onBackend('cpu', () => tf.split(tf.tensor(wv, whole), sizes, axis)), await onBackend('wasm', () => tf.split(tf.tensor(wv, whole), sizes, axis))];
        assert.equal(wasmParts.length, parts);
        for (let i = 0; i < parts; i++) {
          assert.deepEqual(wasmParts[i]!.shape, cpuParts[i]!.shape, `split ${label}`);
          assert.deepEqual(Array.from(wasmParts[i]!.values), Array.from(cpuParts[i]!.values), `split ${label} part ${i}`);
        }
      }
    }
  }
});

test('Sum and Mean on wasm equal cpu over leading axes (eight-column blocks and remainders), and fall back elsewhere', async () => {
  const cases: Array<{ shape: number[]; axis: number | number[]; keepDims?: boolean }> = [
    { shape: [4, 5, 6, 16], axis: [0, 1, 2] }, { shape: [4, 5, 6, 13], axis: [0, 1, 2], keepDims: true },
    { shape: [3, 7, 24], axis: [1, 0] }, { shape: [50, 3], axis: 0 }, { shape: [2, 3, 4, 5], axis: [0] },
    { shape: [2, 3, 4, 5], axis: [1, 2] }, { shape: [2, 3, 4, 5], axis: [0, 1, 2, 3] }, { shape: [6, 10], axis: 1 }, { shape: [6, 10], axis: -1 },
  ];
  let seed = 1700;
  for (const { shape, axis, keepDims } of cases) {
    // An offset makes float32 accumulation error visible next to float64 sums.
    const v = seeded(shape.reduce((a, b) => a * b, 1), ++seed, 2, 4);
    const label = `${JSON.stringify(shape)} axis ${JSON.stringify(axis)} keepDims ${keepDims ?? false}`;
    await compare(`sum ${label}`, () => tf.sum(tf.tensor(v, shape), axis, keepDims), 1e-6);
    await compare(`mean ${label}`, () => tf.mean(tf.tensor(v, shape), axis, keepDims), 1e-6);
  }
  // int32 sums stay exact (the stock kernel).
  await compare('int32 sum', () => tf.sum(tf.tensor([1, 2, 3, 4, 5, 6], [3, 2], 'int32'), 0), 0);
});

test('Identity on wasm shares the data: a clone reads the same values and outlives its source', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const before = backend.numDataIds();
  const a = tf.tensor([1, 2, 3, 4], [2, 2]);
  const b = tf.clone(a);
  assert.equal(backend.numDataIds(), before + 1, 'no copy made');
  a.dispose();
  assert.deepEqual(Array.from(b.dataSync()), [1, 2, 3, 4]);
  b.dispose();
  assert.equal(backend.numDataIds(), before, 'freed with the last reference');
  // A variable assigned after cloning keeps the clone unchanged.
  const v = tf.variable(tf.tensor([5, 6]));
  const snapshot = tf.clone(v);
  v.assign(tf.tensor([7, 8]));
  assert.deepEqual(Array.from(snapshot.dataSync()), [5, 6]);
  tf.dispose([v, snapshot]);
});

test('Cast on wasm to the same dtype shares the data; other casts equal cpu', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const before = backend.numDataIds();
  const a = tf.tensor([1.5, -2.5, 0, 4]);
  const b = tf.cast(a, 'float32');
  assert.equal(backend.numDataIds(), before + 1, 'no copy made');
  a.dispose();
  assert.deepEqual(Array.from(b.dataSync()), [1.5, -2.5, 0, 4]);
  b.dispose();
  assert.equal(backend.numDataIds(), before, 'freed with the last reference');
  const values = [1.5, -2.5, 0, 4, -0.7, 2.9];
  // (float32 → bool is left out: the stock wasm Cast truncates into a Uint8Array, -2.5 → 254, where cpu gives true.)
  for (const [from, to] of [['float32', 'int32'], ['int32', 'float32'], ['int32', 'int32'], ['bool', 'float32']] as const) {
    await compare(`${from} → ${to}`, () => tf.cast(tf.tensor(values, [6], from), to), 0);
  }
  // ReLU's gradient runs dy · cast(step(x), 'float32').
  await compare('relu gradient', () => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), tf.range(0, 6))))(tf.tensor(values)), 0);
});

test('ReLU gradient on wasm (one fused kernel) equals cpu value for value, special values and remainders included', async () => {
  const specials = [Number.NaN, -1, -0, 0, 2, Infinity, -Infinity, 1e-30, -1e-30];
  for (const n of [1, 3, 4, 9, 37, 64 * 5 * 5 * 16 + 3]) {
    const xv = seeded(n, n, -1, 1);
    const dyv = seeded(n, n + 1, -2, 2);
    for (let i = 0; i < Math.min(n, specials.length); i++) {
      xv[i] = specials[i]!;
      dyv[(i + 3) % n] = specials[i]!;
    }
    const make = () => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tf.relu(x), tf.tensor(dyv))))(tf.tensor(xv));
    const [cpu] = await onBackend('cpu', make);
    const [wasm] = await onBackend('wasm', make);
    // Exactly the same values: NaN where cpu has NaN, the same signed zeros.
    for (let i = 0; i < n; i++) {
      const [a, b] = [cpu!.values[i]!, wasm!.values[i]!];
      assert.ok(Object.is(a, b), `n=${n} [${i}]: x=${xv[i]} dy=${dyv[i]}: cpu ${a}, wasm ${b}`);
    }
  }
  await tf.setBackend('wasm');
  assert.ok(tf.getKernel('CellscopeReluGrad', 'wasm') !== undefined);
});

test('composed kernels release every intermediate', async () => {
  await tf.setBackend('wasm');
  const backend = tf.backend() as unknown as { numDataIds(): number };
  const before = backend.numDataIds();
  const tensorsBefore = tf.memory().numTensors;
  const c: DepthwiseCase = { k: 3, s: 2, pad: 1, d: 1, mult: 2, h: 9, w: 8 };
  const data = depthwiseData(c, 7);
  tf.tidy(() => {
    runDepthwiseFilter(c, data);
    runDepthwiseInput(c, data);
    const x = tf.tensor4d(seeded(2 * 8 * 8 * 3, 1), [2, 8, 8, 3]);
    tf.grads((a: tf.Tensor, w: tf.Tensor) => tf.sum(tf.conv2d(a as tf.Tensor4D, w as tf.Tensor4D, 2, 'same')))([x, tf.ones([3, 3, 3, 4])]);
    tf.grad((a: tf.Tensor) => tf.sum(tf.maxPool(a as tf.Tensor4D, 3, 2, 1)))(x);
  });
  assert.equal(tf.memory().numTensors, tensorsBefore);
  assert.equal(backend.numDataIds(), before);
});
