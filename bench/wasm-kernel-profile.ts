/**
 * Where a wasm training step goes, kernel by kernel: every kernel registered
 * on the wasm backend (stock and src/train/kernels) is wrapped with a timer
 * that counts *exclusive* time (a composed kernel's own time, without the
 * wasm kernels it calls), and one training step of the DARTS network runs.
 * The rest of the step's wall time is JavaScript outside kernels (the
 * engine's bookkeeping, gradient tape, op wrappers).
 *
 *   npx tsx bench/wasm-kernel-profile.ts [--genotype DARTS_V2] [--channels 16]
 *     [--layers 8] [--batch 64] [--size 32] [--steps 1] [--top 30]
 *
 * Kernel names carry a shape tag when CELLSCOPE_PROFILE_SHAPES=1 (the first
 * input's shape and, for convolutions, the filter's), to tell the 1×1 from the
 * k×k convolutions.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { builtin } from '../src/genotype/library.js';
import { selectBackend } from '../src/train/backend.js';
import { syncTrainingStep } from './syncStep.js';

interface Args {
  genotype: string;
  channels: number;
  layers: number;
  batch: number;
  size: number;
  steps: number;
  top: number;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { genotype: 'DARTS_V2', channels: 16, layers: 8, batch: 64, size: 32, steps: 1, top: 30 };
  for (let i = 0; i < argv.length; i += 2) {
    const flag = argv[i]!.replace(/^--/, '') as keyof Args;
    const value = argv[i + 1];
    if (!(flag in args) || value === undefined) throw new Error(`unknown flag or missing value: ${argv[i]}`);
    (args as unknown as Record<string, string | number>)[flag] = flag === 'genotype' ? value : Number(value);
  }
  return args;
}

interface Tally {
  calls: number;
  ms: number;
}

const tallies = new Map<string, Tally>();
/** Time spent in nested kernels, per level of the call stack (to make times exclusive). */
const childMs: number[] = [];
const withShapes = process.env.CELLSCOPE_PROFILE_SHAPES === '1';

function tag(name: string, inputs: unknown): string {
  if (!withShapes) return name;
  const list = Array.isArray(inputs) ? inputs : Object.values(inputs as Record<string, { shape?: number[] }>);
  const shapes = (list as Array<{ shape?: number[] }>).slice(0, 2).map((t) => JSON.stringify(t?.shape ?? []));
  return `${name} ${shapes.join(' ')}`;
}

function wrapWasmKernels(): void {
  for (const config of tf.getKernelsForBackend('wasm')) {
    const inner = config.kernelFunc;
    const wrapped: tf.KernelFunc = (args) => {
      childMs.push(0);
      const t0 = performance.now();
      const out = inner(args);
      const total = performance.now() - t0;
      const nested = childMs.pop()!;
      if (childMs.length > 0) childMs[childMs.length - 1]! += total;
      const key = tag(config.kernelName, args.inputs);
      const t = tallies.get(key) ?? { calls: 0, ms: 0 };
      t.calls++;
      t.ms += total - nested;
      tallies.set(key, t);
      return out;
    };
    tf.unregisterKernel(config.kernelName, 'wasm');
    tf.registerKernel({ ...config, kernelFunc: wrapped });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await selectBackend('wasm');
  wrapWasmKernels();
  const genotype = builtin(args.genotype)?.genotype;
  if (genotype === undefined) throw new Error(`no built-in genotype ${args.genotype}`);
  // The same step as bench/train-throughput.ts times.
  const { step, dispose } = syncTrainingStep(genotype, args);
  step(); // warm-up: XNNPACK operator caches, heap growth
  tallies.clear();
  const t0 = performance.now();
  for (let i = 0; i < args.steps; i++) step();
  const wall = (performance.now() - t0) / args.steps;
  const rows = [...tallies].map(([name, t]) => ({ name, calls: t.calls / args.steps, ms: t.ms / args.steps })).sort((a, b) => b.ms - a.ms);
  const inKernels = rows.reduce((s, r) => s + r.ms, 0);
  console.log(`${args.genotype}, C=${args.channels}, ${args.layers} cells, batch ${args.batch}: ${(wall / 1000).toFixed(2)} s/step, ` +
    `${(inKernels / 1000).toFixed(2)} s in wasm kernels (exclusive), ${((wall - inKernels) / 1000).toFixed(2)} s outside`);
  console.log(`${'kernel'.padEnd(withShapes ? 70 : 38)} ${'calls'.padStart(6)} ${'ms'.padStart(8)} ${'%'.padStart(6)}`);
  for (const r of rows.slice(0, args.top)) {
    console.log(`${r.name.padEnd(withShapes ? 70 : 38)} ${String(r.calls).padStart(6)} ${r.ms.toFixed(0).padStart(8)} ${((100 * r.ms) / wall).toFixed(1).padStart(6)}`);
  }
  dispose();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
