/**
 * The flat parameter buffer and the running statistics, laid out from the
 * TensorFlow.js network (src/train/network) so that the same seed gives the
 * same initial weights: the ParamStore's insertion order, each tensor in its
 * tfjs layout (conv [kh,kw,Cin,Cout], depthwise [kh,kw,C,1], linear
 * [in,out]), which is how the WGSL kernels index weights.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Genotype } from '../../genotype/model.js';
import { buildNetwork, type Network } from '../network/network.js';
import type { ParamLayout, ParamSlot, PlanNetwork } from './build.js';

export interface InitialState {
  readonly layout: ParamLayout;
  /** Initial parameters, flat, in layout order. */
  readonly params: Float32Array;
  /** Initial running statistics (means 0, variances 1), flat. */
  readonly buffers: Float32Array;
}

/** Layout and values of a built network's parameters and buffers (read synchronously: cpu or wasm backend). */
export function layoutOf(net: Network): InitialState {
  const params = new Map<string, ParamSlot>();
  let offset = 0;
  for (const [name, v] of net.params) {
    params.set(name, { offset, size: v.size, shape: v.shape });
    offset += v.size;
  }
  const paramCount = offset;
  const buffers = new Map<string, ParamSlot>();
  offset = 0;
  for (const [name, v] of net.buffers) {
    buffers.set(name, { offset, size: v.size, shape: v.shape });
    offset += v.size;
  }
  const bufferCount = offset;
  const p = new Float32Array(paramCount);
  for (const [name, v] of net.params) p.set(v.dataSync() as Float32Array, params.get(name)!.offset);
  const b = new Float32Array(bufferCount);
  for (const [name, v] of net.buffers) b.set(v.dataSync() as Float32Array, buffers.get(name)!.offset);
  return { layout: { params, paramCount, buffers, bufferCount }, params: p, buffers: b };
}

/**
 * Builds the TensorFlow.js network with `seed` on the cpu backend just to
 * read its parameter order and initial values, then disposes it.
 */
export async function initialState(genotype: Genotype, network: PlanNetwork, seed: number): Promise<InitialState> {
  // A dynamic import: bundlers drop a bare one (the package declares no side effects).
  await import('@tensorflow/tfjs-backend-cpu');
  const previous = tf.findBackend(tf.getBackend()) === null ? undefined : tf.getBackend();
  if (previous !== 'cpu') await tf.setBackend('cpu');
  try {
    const net = buildNetwork(genotype, { ...network, seed });
    try {
      return layoutOf(net);
    } finally {
      net.dispose();
    }
  } finally {
    if (previous !== undefined && previous !== 'cpu') await tf.setBackend(previous);
  }
}
