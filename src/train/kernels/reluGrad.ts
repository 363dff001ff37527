/**
 * ReLU's gradient on the wasm backend in one pass. TensorFlow.js computes it
 * as mul(dy, cast(step(x), 'float32')): a Step kernel writing a mask the
 * size of the activation, then a Multiply reading it back (cast.ts makes the
 * cast free), 82 times per DARTS step. The kernel `CellscopeReluGrad` does
 * the same arithmetic per value (dy · 1, dy · 0 or dy · NaN) in one SIMD
 * pass (simd.ts), and a Relu gradient that dispatches to it on wasm
 * replaces the registered one; on every other backend, and for dtypes other
 * than float32, the original gradient runs unchanged.
 */
import {
  engine, getBackend, getGradient, registerGradient,
  type GradConfig, type KernelConfig, type KernelFunc, type NamedAttrMap, type Tensor, type TensorInfo,
} from '@tensorflow/tfjs-core';
// The original gradients first, so that the one replaced here is not registered over it later.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { WasmBackendLike } from './compose.js';
import { simdKernels } from './simd.js';

export const RELU_GRAD = 'CellscopeReluGrad';

export const reluGrad: KernelFunc = ({ inputs, backend }) => {
  const { dy, x } = inputs as { dy: TensorInfo; x: TensorInfo };
  const wasm = backend as WasmBackendLike;
  const out = wasm.makeOutput([...x.shape], 'float32');
  // Views after the allocation: growing the heap detaches older ones.
  const o = wasm.typedArrayFromHeap(out);
  const xv = wasm.typedArrayFromHeap(x);
  const g = wasm.typedArrayFromHeap(dy);
  const simd = simdKernels(backend);
  const vectors = simd === null ? 0 : Math.floor(o.length / 4);
  if (vectors > 0) simd!.reluGrad(g.byteOffset, xv.byteOffset, o.byteOffset, vectors);
  for (let i = 4 * vectors; i < o.length; i++) {
    const v = xv[i]!;
    o[i] = g[i]! * (v > 0 ? 1 : v !== v ? Number.NaN : 0);
  }
  return out;
};

export const reluGradConfig: KernelConfig = {
  kernelName: RELU_GRAD,
  backendName: 'wasm',
  kernelFunc: reluGrad,
};

let stockReluGrad: GradConfig | undefined;

const reluGradient: GradConfig = {
  kernelName: 'Relu',
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs: NamedAttrMap) => {
    const [x] = saved as [Tensor];
    const g = dy as Tensor;
    if (getBackend() === 'wasm' && x.dtype === 'float32' && g.dtype === 'float32') {
      return { x: () => engine().runKernel(RELU_GRAD, { dy: g, x }) as Tensor };
    }
    if (stockReluGrad === undefined) throw new Error('Relu gradient: the original was not kept');
    return stockReluGrad.gradFunc(dy, saved, attrs);
  },
};

/**
 * Puts the dispatching Relu gradient in place of the registered one (kept
 * for other backends). Idempotent.
 */
export function registerReluGradient(): void {
  const current = getGradient('Relu');
  if (current === undefined || current === reluGradient) return;
  stockReluGrad = current;
  registerGradient(reluGradient);
}
