/**
 * What every thread of a data-parallel step does with its shard, and how a
 * batch is cut into shards.
 *
 * The whole-batch objective is the mean over N images, L = (1/N) Σ ℓᵢ; a
 * shard of n images computes (n/N) · mean over its images, so that its
 * gradients are its exact share of ∂L and the threads' gradients add up to
 * the whole batch's (with synchronised batch norm, every cross-sample term
 * is the whole batch's too: src/train/network/batchNorm.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Network } from '../network/network.js';
import { objective } from '../optim.js';

export interface Shard {
  readonly start: number;
  readonly size: number;
}

/** Contiguous shards of `n` samples over at most `parts` threads, sizes differing by at most one (larger first); never an empty shard. */
export function shardsOf(n: number, parts: number): Shard[] {
  const k = Math.max(1, Math.min(parts, n));
  const base = Math.floor(n / k);
  const extra = n % k;
  const shards: Shard[] = [];
  let start = 0;
  for (let i = 0; i < k; i++) {
    const size = base + (i < extra ? 1 : 0);
    shards.push({ start, size });
    start += size;
  }
  return shards;
}

/**
 * The drop-path draws of one shard, from the whole batch's: `all` holds
 * `sites` × `batch` values drawn as one thread draws them (site after site,
 * one per sample); the shard's are the same values, site after site.
 */
export function shardDraws(all: Float64Array, sites: number, batch: number, shard: Shard): Float64Array {
  const out = new Float64Array(sites * shard.size);
  for (let c = 0; c < sites; c++) out.set(all.subarray(c * batch + shard.start, c * batch + shard.start + shard.size), c * shard.size);
  return out;
}

/** A uniform source that replays `draws` in order; it throws past their end (the network drew more than was planned). */
export function replay(draws: Float64Array): { random: () => number; used: () => number } {
  let i = 0;
  return {
    random: () => {
      if (i >= draws.length) throw new Error(`drop path drew more than the ${draws.length} values planned for the shard`);
      return draws[i++]!;
    },
    used: () => i,
  };
}

export interface ShardInput {
  readonly x: tf.Tensor4D;
  readonly labels: tf.Tensor1D;
  /** Images in the whole batch. */
  readonly batch: number;
  readonly dropPathProb: number;
  readonly random?: () => number;
  readonly auxiliaryWeight: number;
  /** Update the running statistics (the main thread; its batch norms see the whole batch's statistics). */
  readonly updateStats: boolean;
}

export interface ShardOutput {
  /** The shard's term of the whole batch's objective. */
  readonly loss: tf.Scalar;
  /** Gradients by tf.Variable name (absent: no gradient). */
  readonly grads: tf.NamedTensorMap;
  /** Predicted class of each image of the shard. */
  readonly predicted: tf.Tensor;
}

/** Forward and backward of one shard (call inside tf.tidy; the sync of batch norm must be set when the batch is split). */
export function shardGradients(net: Network, trainable: tf.Variable[], input: ShardInput): ShardOutput {
  const n = input.x.shape[0];
  let logits: tf.Tensor2D | undefined;
  const result = tf.variableGrads(() => {
    const out = net.forward(input.x, {
      training: true,
      updateStats: input.updateStats,
      dropPathProb: input.dropPathProb,
      ...(input.random !== undefined ? { random: input.random } : {}),
    });
    logits = tf.keep(out.logits);
    return tf.mul(objective(out, input.labels, input.auxiliaryWeight), n / input.batch) as tf.Scalar;
  }, trainable);
  const predicted = tf.argMax(logits!, -1);
  logits!.dispose();
  return { loss: result.value, grads: result.grads, predicted };
}
