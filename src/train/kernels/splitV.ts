/**
 * SplitV for the wasm backend, replacing its own, which slices through the
 * stock Slice (a copy of the whole input out of the heap per part: ~0.1 s
 * per split of a cell's output at batch 64). SplitV is the gradient of
 * concatenation, so every cell's output concat runs one in the backward
 * pass. This one copies each part's contiguous runs from heap to heap
 * (slice.ts); dtypes other than float32 and int32 go to the stock kernel.
 */
import { backend_util, util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './compose.js';
import { copySlice } from './slice.js';

let stockSplitV: KernelFunc | undefined;

/** Keeps the wasm backend's own SplitV for the dtypes this one leaves to it. */
export function setStockSplitV(kernel: KernelFunc | undefined): void {
  stockSplitV = kernel;
}

export const splitV: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const x = (inputs as { x: TensorInfo }).x;
  if (x.dtype !== 'float32' && x.dtype !== 'int32') {
    if (stockSplitV === undefined) throw new Error('SplitV (wasm): the stock kernel was not kept');
    return stockSplitV(args);
  }
  const { numOrSizeSplits, axis } = attrs as unknown as { numOrSizeSplits: number | number[]; axis: number | number[] };
  const $axis = util.parseAxisParam(axis, x.shape)[0]!;
  const sizes = backend_util.prepareSplitSize(x as unknown as Parameters<typeof backend_util.prepareSplitSize>[0], numOrSizeSplits, $axis);
  const begin = new Array<number>(x.shape.length).fill(0);
  return sizes.map((s) => {
    const size = [...x.shape];
    size[$axis] = s;
    const part = copySlice(backend as WasmBackendLike, x, [...begin], size);
    begin[$axis]! += s;
    return part;
  });
};

export const splitVConfig: KernelConfig = {
  kernelName: 'SplitV',
  backendName: 'wasm',
  kernelFunc: splitV,
};
