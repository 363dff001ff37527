/**
 * Cast for the wasm backend, replacing its own for a cast to the dtype the
 * tensor already has, which it copies: that is the middle of TensorFlow.js's
 * ReLU gradient, dy · cast(step(x), 'float32'), so a DARTS step copied ~80
 * activations for nothing. The same value shares the data instead (as
 * identity.ts, and why that is safe). Other casts go to the stock kernel.
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

let stockCast: KernelFunc | undefined;

/** Keeps the wasm backend's own Cast for casts that change the dtype. */
export function setStockCast(kernel: KernelFunc | undefined): void {
  stockCast = kernel;
}

export const cast: KernelFunc = (args) => {
  const x = (args.inputs as { x: TensorInfo }).x;
  const { dtype } = args.attrs as unknown as { dtype: string };
  if (dtype !== x.dtype || x.dtype === 'string' || x.dtype === 'complex64') {
    if (stockCast === undefined) throw new Error('Cast (wasm): the stock kernel was not kept');
    return stockCast(args);
  }
  (args.backend as KernelBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

export const castConfig: KernelConfig = {
  kernelName: 'Cast',
  backendName: 'wasm',
  kernelFunc: cast,
};
