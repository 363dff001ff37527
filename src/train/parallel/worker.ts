/**
 * A training thread of a data-parallel step (bundled as dist/trainWorker.js;
 * src/train/parallel/pool.ts starts it). It loads the same backend as the
 * trainer, builds the same network, and for each step: reads the parameters
 * the main thread broadcast, runs forward and backward on its shard with
 * synchronised batch norm, and writes its gradients, loss term and correct
 * predictions into shared memory before the step's last barrier. A failure
 * aborts the step on every thread with a message naming this thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { Genotype } from '../../genotype/model.js';
import { selectBackend, type BackendName } from '../backend.js';
import { setBatchNormSync } from '../network/batchNorm.js';
import { buildNetwork, type NetworkOptions } from '../network/network.js';
import { GroupAbortedError, ThreadGroup, type GroupBuffers } from './group.js';
import { replay, shardGradients } from './shard.js';

export interface WorkerInit {
  readonly rank: number;
  readonly backend: BackendName;
  readonly genotype: Genotype;
  readonly network: NetworkOptions;
  readonly buffers: GroupBuffers;
  readonly timeoutMs: number;
  /** Benchmarks only: batch norm on the shard's own statistics (pool.ts). */
  readonly unsynchronisedBatchNorm?: boolean;
  /** Tests: fail ('throw') or die ('exit') at this 1-based step of this thread. */
  readonly failAt?: { readonly step: number; readonly how: 'throw' | 'exit' };
}

export interface WorkerStep {
  readonly type: 'step';
  /** 1-based count of the steps this thread has been sent. */
  readonly step: number;
  /** The shard, NHWC with the network's input channels. */
  readonly x: Float32Array;
  readonly shape: [number, number, number, number];
  readonly labels: Int32Array;
  readonly batch: number;
  readonly dropPathProb: number;
  readonly draws?: Float64Array;
  readonly auxiliaryWeight: number;
}

export type WorkerRequest = WorkerStep | { readonly type: 'close' };
export type WorkerReply = { readonly type: 'ready'; readonly paramLength: number } | { readonly type: 'error'; readonly message: string };

const init = workerData as WorkerInit;
const port = parentPort!;

async function main(): Promise<void> {
  let group: ThreadGroup | undefined;
  let closing = false;
  process.on('exit', () => {
    if (!closing) group?.abort(`training thread ${init.rank} exited unexpectedly`);
  });
  try {
    await selectBackend(init.backend);
    const net = buildNetwork(init.genotype, init.network);
    const names = [...net.params.keys()];
    const trainable = names.map((n) => net.params.get(n)!);
    const offsets: number[] = [];
    let paramLength = 0;
    for (const v of trainable) {
      offsets.push(paramLength);
      paramLength += v.size;
    }
    if (paramLength !== init.buffers.paramLength) throw new Error(`its network has ${paramLength} parameters, the trainer's ${init.buffers.paramLength}`);
    group = new ThreadGroup(init.buffers, init.rank, init.timeoutMs);
    if (init.unsynchronisedBatchNorm !== true) setBatchNormSync(group);
    const g = group;
    const grads = g.gradsOf(init.rank);
    port.on('message', (msg: WorkerRequest) => {
      if (msg.type === 'close') {
        closing = true;
        net.dispose();
        port.close();
        return;
      }
      try {
        g.resetCalls();
        if (init.failAt?.step === msg.step) {
          if (init.failAt.how === 'exit') process.exit(3);
          throw new Error(`injected failure at step ${msg.step}`);
        }
        tf.tidy(() => {
          trainable.forEach((v, i) => v.assign(tf.tensor(g.params.subarray(offsets[i]!, offsets[i]! + v.size), v.shape, 'float32')));
        });
        const source = msg.draws !== undefined ? replay(msg.draws) : undefined;
        const { loss, correct } = tf.tidy(() => {
          const x = tf.tensor4d(msg.x, msg.shape, 'float32');
          const labels = tf.tensor1d(msg.labels, 'int32');
          const out = shardGradients(net, trainable, {
            x,
            labels,
            batch: msg.batch,
            dropPathProb: msg.dropPathProb,
            ...(source !== undefined ? { random: source.random } : {}),
            auxiliaryWeight: msg.auxiliaryWeight,
            updateStats: false,
          });
          trainable.forEach((v, i) => {
            const grad = out.grads[v.name];
            if (grad == null) grads.fill(0, offsets[i]!, offsets[i]! + v.size);
            else grads.set(grad.dataSync() as Float32Array, offsets[i]!);
          });
          const predicted = out.predicted.dataSync();
          let right = 0;
          for (let i = 0; i < msg.labels.length; i++) if (predicted[i] === msg.labels[i]) right++;
          return { loss: out.loss.dataSync()[0]!, correct: right };
        });
        if (source !== undefined && source.used() !== msg.draws!.length) {
          throw new Error(`drop path used ${source.used()} of the ${msg.draws!.length} values planned for the shard`);
        }
        g.results[2 * init.rank] = loss;
        g.results[2 * init.rank + 1] = correct;
        g.barrier();
      } catch (error) {
        // Another thread's abort is that thread's to report.
        if (!(error instanceof GroupAbortedError)) g.abort(`training thread ${init.rank} failed at its step ${msg.step}: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
    port.postMessage({ type: 'ready', paramLength } satisfies WorkerReply);
  } catch (error) {
    closing = true;
    port.postMessage({ type: 'error', message: error instanceof Error ? error.message : String(error) } satisfies WorkerReply);
  }
}

void main();
