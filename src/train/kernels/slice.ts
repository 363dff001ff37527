/**
 * Slice for the wasm backend, replacing its own, which first copies the
 * whole input out of the wasm heap (readSync) and then copies the slice row
 * by row. Slices are the gradients of padding and concatenation, so a DARTS
 * step runs many. This one copies the contiguous runs of the slice straight
 * from heap to heap (simd.ts's copyRuns, one call per run of runs, or else
 * copyRun). float32 and int32 (the same 4-byte copy); other dtypes go to the
 * stock kernel.
 */
import { slice_util, util, type KernelConfig, type KernelFunc, type TensorInfo } from '@tensorflow/tfjs-core';
import type { WasmBackendLike } from './compose.js';
import { simdKernels } from './simd.js';
import { copyRun } from './heapCopy.js';

let stockSlice: KernelFunc | undefined;

/** Keeps the wasm backend's own Slice for the dtypes this one leaves to it. */
export function setStockSlice(kernel: KernelFunc | undefined): void {
  stockSlice = kernel;
}

export const slice: KernelFunc = (args) => {
  const { inputs, backend, attrs } = args;
  const x = (inputs as { x: TensorInfo }).x;
  if ((x.dtype !== 'float32' && x.dtype !== 'int32') || stockSlice === undefined) {
    if (stockSlice === undefined) throw new Error('Slice (wasm): the stock kernel was not kept');
    return stockSlice(args);
  }
  const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
  const [b, s] = slice_util.parseSliceParams(x, begin, size);
  return copySlice(backend as WasmBackendLike, x, b, s);
};

/**
 * x[begin : begin + size] (float32 or int32) into a new tensor, copying the
 * contiguous runs of the slice from heap to heap. Shared with SplitV.
 */
export function copySlice(wasm: WasmBackendLike, x: TensorInfo, b: number[], s: number[]): TensorInfo {
  const out = wasm.makeOutput(s, x.dtype as 'float32');
  if (util.sizeFromShape(s) === 0) return out;
  // Views after the allocation: growing the heap detaches older ones.
  const src = wasm.typedArrayFromHeap(x) as Float32Array | Int32Array;
  const dst = wasm.typedArrayFromHeap(out) as Float32Array | Int32Array;
  const shape = x.shape;
  const rank = shape.length;
  // Innermost axes taken whole merge into one contiguous run.
  let inner = rank - 1;
  let run = s[inner]!;
  while (inner > 0 && b[inner] === 0 && s[inner] === shape[inner]) {
    inner--;
    run *= s[inner]!;
  }
  const strides = util.computeStrides(shape);
  const outer = s.slice(0, inner);
  const index = new Array<number>(inner).fill(0);
  const count = util.sizeFromShape(outer);
  let o = 0;
  const simd = simdKernels(wasm);
  if (simd !== null) {
    // One call per index of the outer axes but the last, copying that axis's runs.
    const last = inner - 1;
    const runs = last >= 0 ? outer[last]! : 1;
    const step = last >= 0 ? strides[last]! : 0;
    for (let n = 0; n < count / runs; n++) {
      let offset = b[inner]! * (inner < rank - 1 ? strides[inner]! : 1);
      for (let d = 0; d < inner; d++) offset += (b[d]! + index[d]!) * strides[d]!;
      simd.copyRuns(src.byteOffset + 4 * offset, 4 * step, dst.byteOffset + 4 * o, 4 * run, 4 * run, runs);
      o += run * runs;
      for (let d = last - 1; d >= 0; d--) {
        if (++index[d]! < outer[d]!) break;
        index[d] = 0;
      }
    }
    return out;
  }
  for (let n = 0; n < count; n++) {
    let offset = b[inner]! * (inner < rank - 1 ? strides[inner]! : 1);
    for (let d = 0; d < inner; d++) offset += (b[d]! + index[d]!) * strides[d]!;
    copyRun(dst, o, src, offset, run);
    o += run;
    for (let d = inner - 1; d >= 0; d--) {
      if (++index[d]! < outer[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

export const sliceConfig: KernelConfig = {
  kernelName: 'Slice',
  backendName: 'wasm',
  kernelFunc: slice,
};
