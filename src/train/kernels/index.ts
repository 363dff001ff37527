/**
 * The kernels this project registers on the wasm backend so that the whole
 * DARTS network trains there: the three gradients it lacks, a correct
 * MaxPoolGrad in place of its own (see maxPoolGrad.ts), and a faster
 * Conv2DBackpropInput and Slice (see convBackpropInput.ts, slice.ts).
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2DBackpropFilterConfig } from './convBackpropFilter.js';
import { conv2DBackpropInputConfig } from './convBackpropInput.js';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwiseBackprop.js';
import { maxPoolGradConfig } from './maxPoolGrad.js';
import { setStockSlice, sliceConfig } from './slice.js';

export const WASM_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  maxPoolGradConfig,
  sliceConfig,
];

/**
 * Registers WASM_KERNELS for the wasm backend, replacing what is there.
 * Idempotent; call it after importing @tensorflow/tfjs-backend-wasm (whose
 * import registers its own kernels, which these must override).
 */
export function registerWasmKernels(): void {
  for (const config of WASM_KERNELS) {
    const existing = getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    if (config === sliceConfig) setStockSlice(existing?.kernelFunc);
    if (existing !== undefined) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(config);
  }
}
