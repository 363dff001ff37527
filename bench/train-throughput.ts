/**
 * Training throughput: images per second of one training step (forward,
 * backward, SGD update) of the DARTS evaluation network, on every usable
 * TensorFlow.js backend and on the PyTorch reference in the same run, with
 * the ratios between them.
 *
 *   npx tsx bench/train-throughput.ts [--genotype DARTS_V2] [--channels 16]
 *     [--layers 8] [--batch 64] [--size 32] [--steps 2] [--warmup 1]
 *     [--backends tensorflow,wasm] [--threads N] [--rounds R] [--profile]
 *
 * The cpu backend is left out unless named: at C=16, 8 cells, batch 64 it
 * takes about ten minutes a step (it is the correctness reference for tiny
 * shapes). --profile prints the kernels that took the most time on each
 * backend (tf.profile: a composed kernel's time includes the kernels it
 * calls; bench/wasm-kernel-profile.ts gives exclusive times on wasm). PyTorch runs through test/reference/darts_torch.py (Debian's
 * python3-torch), with one thread and with every core. The CPU backends
 * of TensorFlow.js (wasm, cpu) are measured with one thread and with
 * `--threads` (default: every core) data-parallel training threads
 * (src/train/parallel), so that each is compared with PyTorch on as many
 * threads. `--rounds R` measures every engine in turn R times and prints
 * each round (with the load average) and the median: on a shared machine
 * compare ratios within a run.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { builtin } from '../src/genotype/library.js';
import { BACKEND_NAMES, selectBackend, type BackendName } from '../src/train/backend.js';
import { parallelTrainingStep, syncTrainingStep } from './syncStep.js';

interface Args {
  genotype: string;
  channels: number;
  layers: number;
  batch: number;
  size: number;
  steps: number;
  warmup: number;
  backends: BackendName[];
  threads: number;
  rounds: number;
  profile: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { genotype: 'DARTS_V2', channels: 16, layers: 8, batch: 64, size: 32, steps: 2, warmup: 1, backends: ['tensorflow', 'wasm'], threads: cpus().length, rounds: 1, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const num = (min = 1) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer ≥ ${min}`);
      i++;
      return n;
    };
    switch (flag) {
      case '--genotype': args.genotype = value ?? ''; i++; break;
      case '--channels': args.channels = num(); break;
      case '--layers': args.layers = num(); break;
      case '--batch': args.batch = num(); break;
      case '--size': args.size = num(); break;
      case '--steps': args.steps = num(); break;
      case '--warmup': args.warmup = num(0); break;
      case '--threads': args.threads = num(); break;
      case '--rounds': args.rounds = num(); break;
      case '--profile': args.profile = true; break;
      case '--backends': {
        const names = (value ?? '').split(',');
        for (const n of names) if (!(BACKEND_NAMES as readonly string[]).includes(n)) throw new Error(`unknown backend ${n}`);
        args.backends = names as BackendName[];
        i++;
        break;
      }
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  return args;
}

interface Measure {
  readonly engine: string;
  readonly imagesPerSecond?: number;
  readonly note?: string;
}

async function measureTfjs(name: BackendName, args: Args, threads = 1): Promise<Measure> {
  let record;
  try {
    record = await selectBackend(name);
  } catch (error) {
    return { engine: name, note: `not usable: ${(error as Error).message.split(':')[0]}` };
  }
  const engine = `tfjs ${record.backend} (${record.package}${record.device === 'gpu' ? `, GPU ${record.gpu?.name}` : ''}), ${threads} thread${threads === 1 ? '' : 's'}`;
  const genotype = builtin(args.genotype)?.genotype;
  if (genotype === undefined) throw new Error(`no built-in genotype ${args.genotype}`);
  const { step, dispose } = threads === 1 ? syncTrainingStep(genotype, args) : await parallelTrainingStep(genotype, args, name, threads);
  try {
    for (let i = 0; i < args.warmup; i++) step();
    const t0 = performance.now();
    for (let i = 0; i < args.steps; i++) step();
    const seconds = (performance.now() - t0) / 1000 / args.steps;
    if (args.profile) await printProfile(engine, step);
    return { engine, imagesPerSecond: args.batch / seconds };
  } finally {
    await dispose();
  }
}

async function printProfile(engine: string, step: () => void): Promise<void> {
  const info = await tf.profile(step);
  const byKernel = new Map<string, number>();
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + ms);
  }
  const total = [...byKernel.values()].reduce((a, b) => a + b, 0);
  console.log(`\n${engine}: time by kernel, one step (${(total / 1000).toFixed(1)} s in kernels)`);
  for (const [name, ms] of [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
    console.log(`  ${name.padEnd(36)} ${(ms / 1000).toFixed(2).padStart(7)} s  ${((100 * ms) / total).toFixed(1).padStart(5)} %`);
  }
}

function torchPython(): string | undefined {
  for (const python of [process.env.CELLSCOPE_TORCH_PYTHON, '/usr/bin/python3', 'python3']) {
    if (python && spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return python;
  }
  return undefined;
}

function measureTorch(args: Args, threads: number): Measure {
  const engine = `PyTorch, ${threads} thread${threads === 1 ? '' : 's'}`;
  const python = torchPython();
  if (python === undefined) return { engine, note: 'PyTorch not found (python3-torch)' };
  const genotype = builtin(args.genotype)!.genotype;
  const cell = (c: typeof genotype.normal) => ({ edges: c.edges.map((e) => [e.op, e.input]), concat: [...c.concat] });
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-bench-'));
  try {
    const job = {
      genotype: { normal: cell(genotype.normal), reduce: cell(genotype.reduce) },
      channels: args.channels, layers: args.layers, classes: 10, batch: args.batch, inputSize: args.size,
      steps: args.steps, warmup: args.warmup, threads,
    };
    writeFileSync(join(dir, 'bench.json'), JSON.stringify(job));
    const r = spawnSync(python, [join(__dirname, '..', 'test', 'reference', 'darts_torch.py'), 'bench', join(dir, 'bench.json')], { encoding: 'utf8' });
    if (r.status !== 0) return { engine, note: `failed: ${r.stderr.trim().split('\n').pop()}` };
    const out = JSON.parse(r.stdout) as { imagesPerSecond: number; torch: string };
    return { engine: `${engine} (torch ${out.torch})`, imagesPerSecond: out.imagesPerSecond };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  console.log(`${args.genotype}, C=${args.channels}, ${args.layers} cells, batch ${args.batch}, ${args.size}×${args.size}: ` +
    `${args.warmup} warm-up step(s), then the mean of ${args.steps}; ${args.rounds} round(s); ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'})`);
  // Each engine with its thread count, compared with PyTorch on as many threads;
  // the engines take turns in every round, so that a change of load hits them alike.
  const parallel = args.threads > 1;
  const engines: Array<{ threads: number; measure: () => Promise<Measure> }> = [];
  for (const name of args.backends) {
    engines.push({ threads: 1, measure: () => measureTfjs(name, args) });
    if (parallel && (name === 'wasm' || name === 'cpu')) engines.push({ threads: args.threads, measure: () => measureTfjs(name, args, args.threads) });
  }
  engines.push({ threads: 1, measure: async () => measureTorch(args, 1) });
  if (parallel) engines.push({ threads: args.threads, measure: async () => measureTorch(args, args.threads) });

  const rounds: Array<Array<Measure & { threads: number }>> = [];
  for (let round = 0; round < args.rounds; round++) {
    const results: Array<Measure & { threads: number }> = [];
    for (const e of engines) results.push({ ...(await e.measure()), threads: e.threads });
    rounds.push(results);
    console.log(`\nround ${round + 1} (load average ${loadavg().map((l) => l.toFixed(2)).join(' ')})`);
    printResults(results, args);
  }
  if (args.rounds > 1) {
    // The median of each engine's rounds (the upper one of an even count).
    const median = rounds[0]!.map((r, i) => {
      const values = rounds.map((round) => round[i]!.imagesPerSecond).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
      return values.length === 0 ? r : { ...r, imagesPerSecond: values[Math.floor(values.length / 2)]! };
    });
    console.log(`\nmedian of ${args.rounds} rounds`);
    printResults(median, args);
  }
}

function printResults(results: Array<Measure & { threads: number }>, args: Args): void {
  for (const r of results) {
    if (r.imagesPerSecond === undefined) {
      console.log(`${r.engine.padEnd(72)} ${r.note}`);
      continue;
    }
    const reference = results.find((t) => t.engine.startsWith('PyTorch') && t.threads === r.threads && t.imagesPerSecond !== undefined);
    const ratio = reference?.imagesPerSecond !== undefined ? `  ${(r.imagesPerSecond / reference.imagesPerSecond).toFixed(2)}× ${reference.engine.split(' (')[0]}` : '';
    console.log(`${r.engine.padEnd(72)} ${r.imagesPerSecond.toFixed(2).padStart(8)} images/s  (${(args.batch / r.imagesPerSecond).toFixed(2)} s/step)${ratio}`);
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
