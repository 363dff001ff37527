/**
 * Data-parallel training steps on the CPU backends: the trainer's thread is
 * thread 0 and keeps the model everything else uses (evaluation, probes,
 * checkpoints, the optimiser); `threads − 1` worker threads (worker.ts) each
 * hold a replica of the network.
 *
 * A step: the parameters are broadcast through shared memory; the batch
 * (augmented by the trainer as for one thread) is cut into contiguous
 * shards (shard.ts), thread r taking shard r; drop-path values are drawn for
 * the whole batch from the trainer's generator, as one thread draws them,
 * and each thread replays its shard's; every thread runs forward and
 * backward with synchronised batch norm (whole-batch statistics,
 * batchNorm.ts); the threads' gradients are added in rank order (float64,
 * then float32) into one gradient per parameter, which the trainer's
 * optimiser step consumes unchanged. So the result depends only on the
 * number of threads, never on timing: a resumed run equals an uninterrupted
 * one at the same thread count.
 *
 * A thread that throws, exits or stops answering aborts the step on every
 * thread (group.ts): `step` throws with the thread and its error named.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type { Genotype } from '../../genotype/model.js';
import type { BackendName } from '../backend.js';
import { setBatchNormSync } from '../network/batchNorm.js';
import type { Network, NetworkOptions } from '../network/network.js';
import { allocateGroup, GroupAbortedError, ThreadGroup } from './group.js';
import { replay, shardDraws, shardGradients, shardsOf } from './shard.js';
import type { WorkerInit, WorkerReply, WorkerRequest } from './worker.js';

/** Default wait of a barrier for the other threads before the step is aborted. */
export const DEFAULT_BARRIER_TIMEOUT_MS = 300_000;

export interface PoolOptions {
  readonly threads: number;
  readonly backend: BackendName;
  readonly genotype: Genotype;
  readonly networkOptions: NetworkOptions;
  /** The trainer's network (thread 0's replica). */
  readonly net: Network;
  readonly auxiliaryWeight: number;
  readonly timeoutMs?: number;
  /**
   * Benchmarks only (bench/parallel-step.ts --unsynchronised): batch norm on
   * each shard's own statistics, no barrier inside a step — NOT what one
   * thread computes; it measures what the synchronisation costs.
   */
  readonly unsynchronisedBatchNorm?: boolean;
  /** Tests: make worker thread `rank` fail at its step `step`. */
  readonly failWorker?: { readonly rank: number; readonly step: number; readonly how: 'throw' | 'exit' };
}

/** One batch for a step: NHWC with the network's input channels. */
export interface StepBatch {
  readonly x: Float32Array;
  readonly shape: [number, number, number, number];
  readonly labels: Int32Array;
}

export interface StepResult {
  /** The whole batch's objective (the shards' terms added in rank order). */
  readonly loss: number;
  readonly correct: number;
  /** The whole batch's gradient by parameter name (new tensors, the caller disposes them). */
  readonly grads: Map<string, tf.Tensor>;
}

/**
 * How a worker thread starts: the bundled dist/trainWorker.js beside the
 * running bundle, else (running from source: tests, benchmarks) the
 * TypeScript source through tsx's require hook (a worker does not inherit the
 * parent's loader, and `--import tsx` does not load a .ts worker entry).
 */
function workerEntry(): { file: string; eval: boolean } {
  const bundled = join(__dirname, 'trainWorker.js');
  if (existsSync(bundled)) return { file: bundled, eval: false };
  const source = join(__dirname, 'worker.ts');
  if (existsSync(source)) {
    // Resolved at run time (never bundled: the bundled trainer takes the branch above).
    const tsx = createRequire(__filename).resolve('tsx/cjs');
    return { file: `require(${JSON.stringify(tsx)}); require(${JSON.stringify(source)});`, eval: true };
  }
  throw new Error(`the training thread's script is missing: neither ${bundled} nor ${source} exists`);
}

export class ParallelPool {
  private readonly workers: Worker[] = [];
  private readonly group: ThreadGroup;
  private readonly names: string[];
  private readonly trainable: tf.Variable[];
  private readonly offsets: number[] = [];
  private sent = 0;
  /** Why a worker ended between steps (seen by the next step). */
  private failure: string | undefined;
  private closed = false;

  private constructor(readonly options: PoolOptions) {
    const net = options.net;
    this.names = [...net.params.keys()];
    this.trainable = this.names.map((n) => net.params.get(n)!);
    let length = 0;
    for (const v of this.trainable) {
      this.offsets.push(length);
      length += v.size;
    }
    let maxChannels = 1;
    for (const [name, v] of net.buffers) if (name.endsWith('running_mean')) maxChannels = Math.max(maxChannels, v.size);
    this.group = new ThreadGroup(allocateGroup(options.threads, maxChannels, length), 0, options.timeoutMs ?? DEFAULT_BARRIER_TIMEOUT_MS);
  }

  get threads(): number {
    return this.options.threads;
  }

  /** Starts the worker threads and waits until each has its backend and network. */
  static async start(options: PoolOptions): Promise<ParallelPool> {
    if (!Number.isInteger(options.threads) || options.threads < 2) throw new Error(`a parallel pool needs at least 2 threads, got ${options.threads}`);
    const pool = new ParallelPool(options);
    try {
      await Promise.all(Array.from({ length: options.threads - 1 }, (_, i) => pool.spawn(i + 1)));
    } catch (error) {
      await pool.close();
      throw error;
    }
    return pool;
  }

  private spawn(rank: number): Promise<void> {
    const entry = workerEntry();
    const fail = this.options.failWorker;
    const init: WorkerInit = {
      rank,
      backend: this.options.backend,
      genotype: this.options.genotype,
      network: this.options.networkOptions,
      buffers: this.group.buffers,
      timeoutMs: this.group.timeoutMs,
      ...(this.options.unsynchronisedBatchNorm === true ? { unsynchronisedBatchNorm: true } : {}),
      ...(fail !== undefined && fail.rank === rank ? { failAt: { step: fail.step, how: fail.how } } : {}),
    };
    const worker = new Worker(entry.file, { workerData: init, eval: entry.eval });
    this.workers.push(worker);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (reply: WorkerReply) => {
        if (reply.type === 'ready') {
          ready = true;
          resolve();
        } else {
          reject(new Error(`training thread ${rank} could not start: ${reply.message}`));
        }
      });
      worker.on('error', (error) => {
        const message = `training thread ${rank} failed: ${error.message}`;
        this.failure ??= message;
        this.group.abort(message);
        if (!ready) reject(new Error(message));
      });
      worker.on('exit', (code) => {
        if (this.closed) return;
        const message = `training thread ${rank} exited (code ${code})`;
        this.failure ??= message;
        this.group.abort(message);
        if (!ready) reject(new Error(message));
      });
    });
  }

  /**
   * One step's gradients over the whole batch (synchronous: the trainer's
   * thread computes shard 0 and waits for the others). `random` is the
   * trainer's drop-path source, drawn for the whole batch.
   */
  step(batch: StepBatch, dropPathProb: number, random: () => number): StepResult {
    if (this.failure !== undefined) throw new Error(this.failure);
    const aborted = this.group.aborted();
    if (aborted !== undefined) throw new Error(aborted.message);
    const net = this.options.net;
    const n = batch.shape[0];
    const shards = shardsOf(n, this.threads);
    const [, h, w, c] = batch.shape;
    const pixels = h * w * c;
    // The parameters, as thread 0 holds them.
    for (let i = 0; i < this.trainable.length; i++) this.group.params.set(this.trainable[i]!.dataSync() as Float32Array, this.offsets[i]!);
    // The whole batch's drop-path values, in the order one thread draws them.
    const sites = dropPathProb > 0 ? net.dropPathSites : 0;
    const draws = new Float64Array(sites * n);
    for (let i = 0; i < draws.length; i++) draws[i] = random();
    this.group.beginStep(shards.length);
    this.sent++;
    for (let r = 1; r < shards.length; r++) {
      const s = shards[r]!;
      const message: WorkerRequest = {
        type: 'step',
        step: this.sent,
        x: batch.x.slice(s.start * pixels, (s.start + s.size) * pixels),
        shape: [s.size, h, w, c],
        labels: batch.labels.slice(s.start, s.start + s.size),
        batch: n,
        dropPathProb,
        ...(sites > 0 ? { draws: shardDraws(draws, sites, n, s) } : {}),
        auxiliaryWeight: this.options.auxiliaryWeight,
      };
      this.workers[r - 1]!.postMessage(message);
    }
    const own = shards[0]!;
    const source = sites > 0 ? replay(shardDraws(draws, sites, n, own)) : undefined;
    const previous = setBatchNormSync(this.options.unsynchronisedBatchNorm === true ? undefined : this.group);
    // Parameters without a gradient (none on thread 0: none on any, the graph is the same) are left out, as one thread leaves them.
    const present: boolean[] = [];
    try {
      const { loss, correct } = tf.tidy(() => {
        const x = tf.tensor4d(batch.x.subarray(0, own.size * pixels), [own.size, h, w, c], 'float32');
        const labels = tf.tensor1d(batch.labels.subarray(0, own.size), 'int32');
        const out = shardGradients(net, this.trainable, {
          x,
          labels,
          batch: n,
          dropPathProb,
          ...(source !== undefined ? { random: source.random } : {}),
          auxiliaryWeight: this.options.auxiliaryWeight,
          updateStats: true,
        });
        const grads = this.group.gradsOf(0);
        this.trainable.forEach((v, i) => {
          const g = out.grads[v.name];
          present.push(g != null);
          if (g == null) grads.fill(0, this.offsets[i]!, this.offsets[i]! + v.size);
          else grads.set(g.dataSync() as Float32Array, this.offsets[i]!);
        });
        const predicted = out.predicted.dataSync();
        let right = 0;
        for (let i = 0; i < own.size; i++) if (predicted[i] === batch.labels[i]) right++;
        return { loss: out.loss.dataSync()[0]!, correct: right };
      });
      this.group.results[0] = loss;
      this.group.results[1] = correct;
      this.group.barrier();
    } catch (error) {
      if (error instanceof GroupAbortedError) throw new Error(error.message);
      this.group.abort(`training thread 0 failed: ${error instanceof Error ? error.message : String(error)}`);
      throw error;
    } finally {
      setBatchNormSync(previous);
    }
    let loss = 0;
    let correct = 0;
    for (let r = 0; r < shards.length; r++) {
      loss += this.group.results[2 * r]!;
      correct += this.group.results[2 * r + 1]!;
    }
    const slots = shards.map((_, r) => this.group.gradsOf(r));
    const grads = new Map<string, tf.Tensor>();
    this.trainable.forEach((v, i) => {
      if (!present[i]) return;
      const start = this.offsets[i]!;
      const sum = new Float32Array(v.size);
      for (let j = 0; j < v.size; j++) {
        let s = 0;
        for (const slot of slots) s += slot[start + j]!;
        sum[j] = s;
      }
      grads.set(this.names[i]!, tf.tensor(sum, v.shape, 'float32'));
    });
    return { loss, correct, grads };
  }

  /** Stops the worker threads. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.group.abort('the trainer closed its training threads');
    await Promise.all(
      this.workers.map(async (worker) => {
        worker.postMessage({ type: 'close' } satisfies WorkerRequest);
        await worker.terminate();
      }),
    );
  }
}
