/**
 * One training step of the DARTS network on fixed data, as the CPU-backend
 * benchmarks time it (bench/train-throughput.ts, bench/wasm-kernel-profile.ts):
 * forward, cross-entropy, backward and a plain SGD update — the optimiser's
 * cost is small next to the step's — ending with a synchronous read so that
 * the step's work is done when it returns (cpu, wasm and tensorflow backends;
 * WebGPU cannot read synchronously in Node: bench/gpu has its own).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Genotype } from '../src/genotype/model.js';
import { buildNetwork } from '../src/train/network/network.js';
import type { BackendName } from '../src/train/backend.js';
import { ParallelPool } from '../src/train/parallel/pool.js';

export interface StepShape {
  readonly channels: number;
  readonly layers: number;
  readonly batch: number;
  readonly size: number;
}

/** Deterministic inputs in [-0.5, 0.5), the same on every backend and run. */
export function seededUniform(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s >>> 8) / 16777216 - 0.5;
  }
  return out;
}

/** The network and its data on the active backend; `step()` runs one step, `dispose()` frees everything. */
export function syncTrainingStep(genotype: Genotype, shape: StepShape): { step: () => void; dispose: () => void } {
  const net = buildNetwork(genotype, { channels: shape.channels, layers: shape.layers, classes: 10, inputSize: shape.size });
  const x = tf.tensor4d(seededUniform(shape.batch * shape.size * shape.size * 3, 1), [shape.batch, shape.size, shape.size, 3]);
  const onehot = tf.oneHot(tf.tensor1d(Array.from({ length: shape.batch }, (_, i) => i % 10), 'int32'), 10);
  const vars = [...net.params.values()];
  const step = () =>
    tf.tidy(() => {
      const { grads } = tf.variableGrads(() => {
        const { logits } = net.forward(x, { training: true });
        return tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
      }, vars);
      for (const v of vars) {
        const g = grads[v.name];
        if (g !== undefined) v.assign(tf.sub(v, tf.mul(g, 0.01)));
      }
      vars[0]!.dataSync();
    });
  return {
    step,
    dispose: () => {
      net.dispose();
      tf.dispose([x, onehot]);
    },
  };
}

/**
 * The same step over `threads` threads (src/train/parallel): the batch split
 * into shards, synchronised batch norm, the gradients added on the trainer's
 * thread, then the same plain SGD update.
 */
export async function parallelTrainingStep(
  genotype: Genotype,
  shape: StepShape,
  backend: BackendName,
  threads: number,
  options: { unsynchronisedBatchNorm?: boolean } = {},
): Promise<{ step: () => void; dispose: () => Promise<void> }> {
  const networkOptions = { channels: shape.channels, layers: shape.layers, classes: 10, inputSize: shape.size };
  const net = buildNetwork(genotype, networkOptions);
  const pool = await ParallelPool.start({ threads, backend, genotype, networkOptions, net, auxiliaryWeight: 0, ...options });
  const x = seededUniform(shape.batch * shape.size * shape.size * 3, 1);
  const labels = Int32Array.from({ length: shape.batch }, (_, i) => i % 10);
  const step = () => {
    const { grads } = pool.step({ x, shape: [shape.batch, shape.size, shape.size, 3], labels }, 0, () => 0);
    tf.tidy(() => {
      for (const [name, g] of grads) {
        const v = net.params.get(name)!;
        v.assign(tf.sub(v, tf.mul(g, 0.01)));
      }
    });
    tf.dispose([...grads.values()]);
    net.params.values().next().value!.dataSync();
  };
  return {
    step,
    dispose: async () => {
      await pool.close();
      net.dispose();
    },
  };
}
