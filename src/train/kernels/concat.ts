/**
 * Concat for the wasm backend, replacing its own, which copies each input's
 * run per outer index with TypedArray.set on a subarray: a cell's output
 * (four nodes concatenated on the channel axis) is one short run per pixel
 * and input, and took ~25 ms at batch 64. Same copies, through simd.ts's
 * copyRuns (one call per part) or else copyRun.
 * Dtypes other than float32 and int32 go to the stock kernel.
 */
import { backend_util, util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './compose.js';
import { simdKernels } from './simd.js';
import { copyRun } from './heapCopy.js';

let stockConcat: KernelFunc | undefined;

/** Keeps the wasm backend's own Concat for the cases this one leaves to it. */
export function setStockConcat(kernel: KernelFunc | undefined): void {
  stockConcat = kernel;
}

export const concat: KernelFunc = (args) => {
  const inputs = args.inputs as unknown as TensorInfo[];
  const dtype = inputs[0]!.dtype;
  const parts = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
  if ((dtype !== 'float32' && dtype !== 'int32') || parts.length < 2 || parts.some((t) => t.dtype !== dtype)) {
    if (stockConcat === undefined) throw new Error('Concat (wasm): the stock kernel was not kept');
    return stockConcat(args);
  }
  const axis = util.parseAxisParam((args.attrs as unknown as { axis: number | number[] }).axis, inputs[0]!.shape)[0]!;
  backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
  const wasm = args.backend as WasmBackendLike;
  const out = wasm.makeOutput(backend_util.computeOutShape(inputs.map((t) => t.shape), axis), dtype as 'float32');
  // Views after the allocation: growing the heap detaches older ones.
  const dst = wasm.typedArrayFromHeap(out) as Float32Array | Int32Array;
  const srcs = parts.map((t) => wasm.typedArrayFromHeap(t) as Float32Array | Int32Array);
  const outer = util.sizeFromShape(parts[0]!.shape.slice(0, axis));
  const inner = parts.map((t) => util.sizeFromShape(t.shape.slice(axis)));
  const total = inner.reduce((a, b) => a + b, 0);
  const simd = simdKernels(wasm);
  if (simd !== null && outer > 0) {
    // One call per part: its outer runs, `total` apart in the output.
    let o = 0;
    for (let i = 0; i < parts.length; i++) {
      simd.copyRuns(srcs[i]!.byteOffset, 4 * inner[i]!, dst.byteOffset + 4 * o, 4 * total, 4 * inner[i]!, outer);
      o += inner[i]!;
    }
    return out;
  }
  for (let b = 0; b < outer; b++) {
    let o = b * total;
    for (let i = 0; i < parts.length; i++) {
      copyRun(dst, o, srcs[i]!, b * inner[i]!, inner[i]!);
      o += inner[i]!;
    }
  }
  return out;
};

export const concatConfig: KernelConfig = {
  kernelName: 'Concat',
  backendName: 'wasm',
  kernelFunc: concat,
};
