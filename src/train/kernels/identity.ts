/**
 * Identity for the wasm backend, replacing its own full copy with a shared
 * reference (as the cpu backend and the wasm backend's own Reshape do).
 *
 * The engine clones every tensor it saves for the backward pass through this
 * kernel, so a DARTS step ran ~1,900 copies of activations (0.3–0.5 s at
 * batch 64). Sharing is safe because no kernel writes into its inputs and a
 * variable's assign replaces its data rather than overwriting it; the
 * backend frees the memory when the last reference is disposed. Strings
 * (not heap data) go to the stock kernel.
 */
import type { KernelBackend, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs-core';

let stockIdentity: KernelFunc | undefined;

/** Keeps the wasm backend's own Identity for string tensors. */
export function setStockIdentity(kernel: KernelFunc | undefined): void {
  stockIdentity = kernel;
}

export const identity: KernelFunc = (args) => {
  const x = (args.inputs as { x: TensorInfo }).x;
  if (x.dtype === 'string') {
    if (stockIdentity === undefined) throw new Error('Identity (wasm): the stock kernel was not kept');
    return stockIdentity(args);
  }
  (args.backend as KernelBackend).incRef(x.dataId);
  return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
};

export const identityConfig: KernelConfig = {
  kernelName: 'Identity',
  backendName: 'wasm',
  kernelFunc: identity,
};
