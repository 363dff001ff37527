/**
 * The kernels this project registers on the wasm backend so that the whole
 * DARTS network trains there, and trains fast: the three gradients it lacks
 * (convBackpropFilter.ts, depthwiseBackprop.ts), a correct MaxPoolGrad
 * (maxPoolGrad.ts), and faster replacements for kernels a training step runs
 * hundreds of times: Conv2DBackpropInput, Slice, SplitV, Concat, Sum and Mean
 * over leading axes, and a copy-free Identity and same-dtype Cast (one file
 * each); simd.ts holds the SIMD loops several of them run.
 *
 * A replacement that handles only some cases hands the rest to the stock
 * kernel it replaced, kept at registration; the stock kernel's setup (the
 * binding of its wasm function) stays on the registered config, since the
 * backend runs setups of the kernels registered when it initialises.
 */
import { getKernel, registerKernel, unregisterKernel, type KernelConfig, type KernelFunc } from '@tensorflow/tfjs-core';
import { avgPoolGradConfig } from './avgPoolGrad.js';
import { bnApplyConfig, bnDxConfig } from './batchNorm.js';
import { castConfig, setStockCast } from './cast.js';
import { concatConfig, setStockConcat } from './concat.js';
import { conv2DBackpropFilterConfig } from './convBackpropFilter.js';
import { conv2DBackpropInputConfig } from './convBackpropInput.js';
import { depthwiseBackpropFilterConfig, depthwiseBackpropInputConfig } from './depthwiseBackprop.js';
import { depthwiseConv2dNativeConfig, setStockDepthwise } from './depthwiseForward.js';
import { identityConfig, setStockIdentity } from './identity.js';
import { meanConfig, setStockMean, setStockSum, sumConfig } from './leadingReduce.js';
import { maxPoolGradConfig } from './maxPoolGrad.js';
import { registerReluGradient, reluGradConfig } from './reluGrad.js';
import { setStockSlice, sliceConfig } from './slice.js';
import { setStockSplitV, splitVConfig } from './splitV.js';

/** Replacements that fall back on the stock kernel, with where to keep it. */
const KEEPS_STOCK = new Map<KernelConfig, (stock: KernelFunc | undefined) => void>([
  [sliceConfig, setStockSlice],
  [splitVConfig, setStockSplitV],
  [identityConfig, setStockIdentity],
  [concatConfig, setStockConcat],
  [sumConfig, setStockSum],
  [meanConfig, setStockMean],
  [castConfig, setStockCast],
  [depthwiseConv2dNativeConfig, setStockDepthwise],
]);

export const WASM_KERNELS: readonly KernelConfig[] = [
  conv2DBackpropFilterConfig,
  conv2DBackpropInputConfig,
  depthwiseBackpropFilterConfig,
  depthwiseBackpropInputConfig,
  maxPoolGradConfig,
  avgPoolGradConfig,
  reluGradConfig,
  bnApplyConfig,
  bnDxConfig,
  ...KEEPS_STOCK.keys(),
];

/**
 * Registers WASM_KERNELS for the wasm backend, replacing what is there, and
 * the Relu gradient that uses one of them on wasm (reluGrad.ts).
 * Idempotent; call it after importing @tensorflow/tfjs-backend-wasm (whose
 * import registers its own kernels, which these must override).
 */
export function registerWasmKernels(): void {
  for (const config of WASM_KERNELS) {
    const existing = getKernel(config.kernelName, config.backendName);
    if (existing?.kernelFunc === config.kernelFunc) continue;
    KEEPS_STOCK.get(config)?.(existing?.kernelFunc);
    if (existing !== undefined) unregisterKernel(config.kernelName, config.backendName);
    registerKernel(existing?.setupFunc === undefined ? config : { ...config, setupFunc: existing.setupFunc });
  }
  registerReluGradient();
}
