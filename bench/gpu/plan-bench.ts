/**
 * The compiled GPU plan engine (src/train/gpuplan) on the adapter it finds,
 * as one JSON line on stdout (what bench/gpu/run.sh reads):
 *
 *   npx tsx bench/gpu/plan-bench.ts [--genotype DARTS_V2] [--channels 36] [--layers 20]
 *       [--batch 96] [--size 32] [--steps 5] [--warmup 2] [--encodes 50]
 *       [--adapter NAME] [--allow-software] [--no-run] [--encode-batch B]
 *       [--tfjs-count] [--tfjs-batch B] [--profile] [--direct] [--reduction-workgroups N]
 *
 * Reports the plan's figures (dispatches per step, planned bytes against
 * the bytes without reuse, primitive kernel entries), the CPU milliseconds
 * to encode one step (median of --encodes encodes of the fixed dispatch
 * list, after 20 untimed ones), and unless --no-run, images/s of full training steps (forward,
 * backward, clip 5, SGD with momentum and weight decay) on random data.
 *
 * --encode-batch B: measure encoding on the same network compiled at batch
 * B when the real batch does not fit the adapter's bindings (lavapipe binds
 * 128 MiB). The dispatch list does not depend on the batch (the schedule
 * follows the graph; only workgroup counts change), which the bench checks.
 * --direct: dense convolutions one thread per output (PlanSettings.denseKernels)
 * instead of tiled products.
 * --reduction-workgroups N: PlanSettings.reductionWorkgroups (default 2,048).
 * --profile: after the timed steps, wall ms of each kernel kind over one
 * step, each dispatch submitted and waited for alone.
 * --tfjs-count: TensorFlow.js's WebGPU backend's kernel launches for one
 * training step of the same network (tf.profile), at --tfjs-batch (default
 * the batch; launches do not depend on it).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { builtin } from '../../src/genotype/library.js';
import { selectBackend } from '../../src/train/backend.js';
import { compilePlan, fmtBytes } from '../../src/train/gpuplan/compile.js';
import { openPlanDevice } from '../../src/train/gpuplan/device.js';
import { GpuPlanEngine, GpuPlanError } from '../../src/train/gpuplan/engine.js';
import { initialState } from '../../src/train/gpuplan/layout.js';
import { buildNetwork } from '../../src/train/network/network.js';
import { crossEntropy, SgdMomentum } from '../../src/train/optim.js';

interface Args {
  genotype: string;
  channels: number;
  layers: number;
  batch: number;
  size: number;
  steps: number;
  warmup: number;
  encodes: number;
  adapter?: string;
  allowSoftware: boolean;
  run: boolean;
  encodeBatch?: number;
  tfjsCount: boolean;
  tfjsBatch?: number;
  profile: boolean;
  direct: boolean;
  reductionWorkgroups?: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { genotype: 'DARTS_V2', channels: 36, layers: 20, batch: 96, size: 32, steps: 5, warmup: 2, encodes: 50, allowSoftware: false, run: true, tfjsCount: false, profile: false, direct: false };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const int = (min: number) => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < min) throw new Error(`${flag} needs an integer ≥ ${min}`);
      i++;
      return n;
    };
    switch (flag) {
      case '--genotype': a.genotype = value ?? ''; i++; break;
      case '--channels': a.channels = int(1); break;
      case '--layers': a.layers = int(3); break;
      case '--batch': a.batch = int(1); break;
      case '--size': a.size = int(8); break;
      case '--steps': a.steps = int(1); break;
      case '--warmup': a.warmup = int(1); break;
      case '--encodes': a.encodes = int(1); break;
      case '--adapter': a.adapter = value; i++; break;
      case '--allow-software': a.allowSoftware = true; break;
      case '--no-run': a.run = false; break;
      case '--encode-batch': a.encodeBatch = int(1); break;
      case '--tfjs-count': a.tfjsCount = true; break;
      case '--tfjs-batch': a.tfjsBatch = int(1); break;
      case '--profile': a.profile = true; break;
      case '--direct': a.direct = true; break;
      case '--reduction-workgroups': a.reductionWorkgroups = int(1); break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  return a;
}

function uniform(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s >>> 8) / 16777216) * 2 - 1;
  }
  return out;
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Kernel launches of one TensorFlow.js WebGPU training step (the trainer's step: CE, backward, clip 5, SGD). */
async function tfjsLaunches(args: Args, batch: number): Promise<{ launches: number; adapter: string }> {
  const record = await selectBackend('webgpu', args.adapter === undefined ? {} : { adapter: args.adapter });
  const net = buildNetwork(builtin(args.genotype)!.genotype, { channels: args.channels, layers: args.layers, classes: 10, inputSize: args.size });
  const opt = new SgdMomentum(net.params, { momentum: 0.9, weightDecay: 3e-4 });
  const nameOf = new Map([...net.params].map(([name, v]) => [v.name, name]));
  const x = tf.tensor4d(uniform(batch * args.size * args.size * 3, 1), [batch, args.size, args.size, 3]);
  const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => i % 10), 'int32');
  const vars = [...net.params.values()];
  const info = await tf.profile(async () => {
    const loss = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => crossEntropy(net.forward(x, { training: true }).logits, y), vars);
      const list = Object.entries(grads);
      const norm = tf.sqrt(tf.addN(list.map(([, g]) => tf.sum(tf.square(g)))));
      const coefficient = tf.minimum(tf.div(5, tf.add(norm, 1e-6)), 1);
      opt.step(new Map(list.map(([v, g]) => [nameOf.get(v)!, tf.mul(g, coefficient)])), 0.025);
      return value;
    });
    await loss.data();
    loss.dispose();
  });
  tf.dispose([x, y]);
  opt.dispose();
  net.dispose();
  return { launches: info.kernels.length, adapter: record.adapter?.name ?? '' };
}

/** The bench with `argv` (flags as above); the JSON line's object. Also `webgpu-bench.cjs plan` in the bundle run.sh carries. */
export async function runPlanBench(argv: string[]): Promise<Record<string, unknown>> {
  const args = parseArgs(argv);
  const genotype = builtin(args.genotype)?.genotype;
  if (genotype === undefined) throw new Error(`unknown genotype ${args.genotype}`);
  const network = { channels: args.channels, layers: args.layers, classes: 10, inputSize: args.size, auxiliary: false };
  const settings = { ...network, batch: args.batch, mode: 'train' as const, dropPath: true, denseKernels: args.direct ? ('direct' as const) : ('tiled' as const), ...(args.reductionWorkgroups === undefined ? {} : { reductionWorkgroups: args.reductionWorkgroups }) };
  const init = await initialState(genotype, network, 0);

  // The plan at the real batch, without a device: what it dispatches and needs.
  let t = performance.now();
  const plan = compilePlan(genotype, settings, init.layout);
  const compileMs = performance.now() - t;
  const result: Record<string, unknown> = {
    engine: 'gpuplan',
    denseKernels: settings.denseKernels,
    reductionWorkgroups: settings.reductionWorkgroups ?? 2048,
    genotype: args.genotype, channels: args.channels, layers: args.layers, batch: args.batch, size: args.size,
    parameters: init.layout.paramCount,
    dispatchesPerStep: plan.dispatches.length,
    primitiveOps: plan.primitiveOps,
    planBytes: plan.planBytes,
    unsharedActivationBytes: plan.memory.unsharedBytes,
    arenaBytes: plan.memory.arenaBytes,
    compileMs,
    node: process.version,
  };
  console.error(`plan: ${plan.dispatches.length} dispatches (${plan.primitiveOps} kernel entries), ${fmtBytes(plan.planBytes)} planned (activations ${fmtBytes(plan.memory.arenaBytes)}, ${fmtBytes(plan.memory.unsharedBytes)} without reuse), compiled in ${compileMs.toFixed(0)} ms`);

  const { adapter, device } = await openPlanDevice({ allowSoftware: args.allowSoftware, ...(args.adapter === undefined ? {} : { name: args.adapter }) });
  result.adapter = adapter;
  let engine: GpuPlanEngine;
  let encodeBatch = args.batch;
  t = performance.now();
  try {
    engine = await GpuPlanEngine.create(device, genotype, settings, init);
  } catch (error) {
    if (!(error instanceof GpuPlanError && error.kind === 'out-of-memory') || args.encodeBatch === undefined) throw error;
    console.error(`batch ${args.batch}: ${error.message}; encoding measured at batch ${args.encodeBatch}`);
    result.outOfMemory = error.message;
    encodeBatch = args.encodeBatch;
    engine = await GpuPlanEngine.create(device, genotype, { ...settings, batch: encodeBatch }, init);
    if (engine.figures.dispatchesPerStep !== plan.dispatches.length) throw new Error(`batch ${encodeBatch} plans ${engine.figures.dispatchesPerStep} dispatches, batch ${args.batch} ${plan.dispatches.length}`);
  }
  result.createMs = performance.now() - t;
  result.encodeBatch = encodeBatch;

  // Steady state, as in a run of thousands of steps: 20 untimed encodes first (JIT, Dawn's caches).
  const encodes: number[] = [];
  for (let i = 0; i < args.encodes + 20; i++) {
    const t0 = performance.now();
    engine.encode();
    if (i >= 20) encodes.push(performance.now() - t0);
  }
  result.encodeMsPerStep = median(encodes);
  console.error(`encode: median ${median(encodes).toFixed(2)} ms per step over ${encodes.length} encodes (batch ${encodeBatch})`);

  if (args.run && encodeBatch === args.batch) {
    const n = args.batch;
    const images = uniform(n * args.size * args.size * 3, 1);
    const labels = Int32Array.from({ length: n }, (_, i) => i % 10);
    const masks = new Float32Array(engine.maskCount * n).fill(1);
    t = performance.now();
    engine.step({ images, labels, lr: 0.025, masks });
    await engine.readMetrics();
    result.firstStepSeconds = (performance.now() - t) / 1000;
    for (let i = 1; i < args.warmup; i++) engine.step({ images, labels, lr: 0.025, masks });
    await engine.readMetrics();
    t = performance.now();
    for (let i = 0; i < args.steps; i++) engine.step({ images, labels, lr: 0.025, masks });
    // One read at the end: the steps are queued back to back, as in training.
    const m = await engine.readMetrics();
    const seconds = (performance.now() - t) / 1000;
    result.secondsPerStep = seconds / args.steps;
    result.imagesPerSecond = (n * args.steps) / seconds;
    result.meanLoss = m.loss / m.steps;
    console.error(`run: ${(n * args.steps / seconds).toFixed(2)} images/s (${(seconds / args.steps).toFixed(3)} s per step), mean loss ${(m.loss / m.steps).toFixed(4)}`);
    if (args.profile) {
      const profile = await engine.profileStep();
      result.profile = profile;
      for (const p of profile) console.error(`  ${p.kind.padEnd(15)} ${String(p.dispatches).padStart(4)} dispatches ${String(p.entries).padStart(5)} entries ${p.ms.toFixed(1).padStart(9)} ms`);
    }
  }
  engine.destroy();

  if (args.tfjsCount) {
    const batch = args.tfjsBatch ?? args.batch;
    const { launches } = await tfjsLaunches(args, batch);
    result.tfjsWebgpuLaunchesPerStep = launches;
    result.tfjsBatch = batch;
    result.dispatchRatio = plan.dispatches.length / launches;
    console.error(`tfjs-webgpu: ${launches} kernel launches per step (batch ${batch}); plan/tfjs = ${(plan.dispatches.length / launches).toFixed(4)}`);
  }
  return result;
}

// Run directly (npx tsx bench/gpu/plan-bench.ts …), not when bundled into webgpu-bench.cjs.
if (/plan-bench\.[cm]?[tj]s$/.test(process.argv[1] ?? '')) {
  runPlanBench(process.argv.slice(2)).then(
    (result) => {
      console.log(JSON.stringify(result));
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
