/**
 * One training step on 1 thread against the same step split over N threads
 * (src/train/parallel), alternating in one process so that a change of load
 * hits both alike; also the time the trainer's thread waited at the batch-norm
 * barriers for the other threads (load imbalance and scheduling delays).
 *
 *   npx tsx bench/parallel-step.ts [CHANNELS LAYERS BATCH SIZE [THREADS [ROUNDS]]] [--unsynchronised]
 *
 * `--unsynchronised` adds a third column: the same threads with batch norm on
 * each shard's own statistics and no barrier inside the step. That is NOT
 * what the trainer computes (it is not the whole batch's batch norm); it
 * measures what the synchronisation costs.
 *
 * Default: DARTS_V2, C=16, 8 cells, batch 64, 32×32, every core, 5 rounds.
 */
import { availableParallelism, loadavg } from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { builtin } from '../src/genotype/library.js';
import { selectBackend } from '../src/train/backend.js';
import { ThreadGroup } from '../src/train/parallel/group.js';
import { parallelTrainingStep, syncTrainingStep } from './syncStep.js';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const unsynchronised = argv.includes('--unsynchronised');
  const [channels = 16, layers = 8, batch = 64, size = 32, threads = availableParallelism(), rounds = 5] = argv.filter((a) => !a.startsWith('--')).map(Number);
  await selectBackend('wasm');
  console.log(`DARTS_V2, C=${channels}, ${layers} cells, batch ${batch}, ${size}×${size}, tfjs ${tf.version_core} ${tf.getBackend()}: 1 thread vs ${threads}`);
  const genotype = builtin('DARTS_V2')!.genotype;
  const shape = { channels, layers, batch, size };
  let waited = 0;
  let barriers = 0;
  const barrier = ThreadGroup.prototype.barrier;
  ThreadGroup.prototype.barrier = function (this: ThreadGroup) {
    const t = performance.now();
    barrier.call(this);
    waited += performance.now() - t;
    barriers++;
  };
  const one = syncTrainingStep(genotype, shape);
  const many = await parallelTrainingStep(genotype, shape, 'wasm', threads);
  const loose = unsynchronised ? await parallelTrainingStep(genotype, shape, 'wasm', threads, { unsynchronisedBatchNorm: true }) : undefined;
  one.step();
  many.step();
  loose?.step();
  for (let r = 0; r < rounds; r++) {
    let t = performance.now();
    one.step();
    const a = (performance.now() - t) / 1000;
    waited = 0;
    barriers = 0;
    t = performance.now();
    many.step();
    const b = (performance.now() - t) / 1000;
    const [w, n] = [waited, barriers];
    let c = '';
    if (loose !== undefined) {
      t = performance.now();
      loose.step();
      const d = (performance.now() - t) / 1000;
      c = `; unsynchronised batch norm ${d.toFixed(2)} s (${(a / d).toFixed(2)}×)`;
    }
    console.log(`load ${loadavg()[0]!.toFixed(2)}: 1 thread ${a.toFixed(2)} s, ${threads} threads ${b.toFixed(2)} s (${(a / b).toFixed(2)}×; the trainer's thread waited ${(w / 1000).toFixed(2)} s at ${n} barriers)${c}`);
  }
  one.dispose();
  await many.dispose();
  await loose?.dispose();
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
