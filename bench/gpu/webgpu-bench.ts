/**
 * Training throughput of the DARTS evaluation network on the WebGPU backend,
 * as one JSON line on stdout (what bench/gpu/run.sh reads). Bundled by
 * bench/gpu/prepare.sh into a single file that runs with a bare Node and the
 * `webgpu` package beside it, on a machine that reaches no registry.
 *
 *   node webgpu-bench.cjs adapters
 *       the probe's report (src/shared/adapters.ts)
 *   node webgpu-bench.cjs train [--genotype DARTS_V2] [--channels 36] [--layers 20]
 *       [--batch 96] [--size 32] [--steps 5] [--warmup 2] [--adapter NAME|#]
 *       [--profile] [--allow-software] [--stock-filter-grads]
 *       images/s of full training steps (forward, backward, clip_grad_norm_ 5,
 *       SGD with momentum and weight decay) on random CIFAR-sized data, the
 *       first step's seconds (shader compilation), and with --profile the GPU
 *       time of one step by kernel (timestamp queries); --stock-filter-grads
 *       puts TensorFlow.js's own filter-gradient kernels back in place of
 *       src/train/webgpu's (the "before")
 *   node webgpu-bench.cjs kernels [same network flags] [--repeats 3]
 *       the filter-gradient calls of one training step (shapes, strides,
 *       paddings, calls per step), each timed with TensorFlow.js's kernel and
 *       with this project's (GPU time from timestamp queries where the
 *       adapter has them, and wall time to a read), and the largest
 *       difference between the two results; pointwise convolutions also
 *       through each of the override's two paths (batched matmul, direct)
 *   node webgpu-bench.cjs profile-ab [same network flags] [--steps 3] [--warmup 1]
 *       GPU time by kernel of training steps that alternate TensorFlow.js's
 *       filter-gradient kernels and the overrides (--steps rounds, medians):
 *       before and after under the same machine load
 *   node webgpu-bench.cjs plan [plan-bench.ts's flags]
 *       the compiled GPU plan engine (src/train/gpuplan): dispatches per step,
 *       planned bytes, encode ms per step, images/s (bench/gpu/plan-bench.ts)
 *   node webgpu-bench.cjs torch-job [same network flags]
 *       the job bench/gpu/torch_bench.py reads, so both build the same network
 *
 * Every read is `await data()`: dataSync() cannot work on webgpu in Node.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { builtin } from '../../src/genotype/library.js';
import { selectBackend, type BackendRecord } from '../../src/train/backend.js';
import { buildNetwork, type Network } from '../../src/train/network/network.js';
import { crossEntropy, SgdMomentum } from '../../src/train/optim.js';
import { releasePooledBuffers, webgpuMemory } from '../../src/train/webgpu/device.js';
import { forcePointwisePath, isPointwise } from '../../src/train/webgpu/convFilterGrad.js';
import { FILTER_GRAD_KERNELS, useStockWebGpuKernel } from '../../src/train/webgpu/kernels.js';
import { probeAdapters } from '../../src/train/webgpu/probe.js';
import { runPlanBench } from './plan-bench.js';

interface Args {
  genotype: string;
  channels: number;
  layers: number;
  batch: number;
  size: number;
  steps: number;
  warmup: number;
  adapter?: string;
  profile: boolean;
  allowSoftware: boolean;
  stockFilterGrads: boolean;
  repeats: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { genotype: 'DARTS_V2', channels: 36, layers: 20, batch: 96, size: 32, steps: 5, warmup: 2, profile: false, allowSoftware: false, stockFilterGrads: false, repeats: 3 };
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
      case '--adapter': a.adapter = value; i++; break;
      case '--profile': a.profile = true; break;
      case '--allow-software': a.allowSoftware = true; break;
      case '--stock-filter-grads': a.stockFilterGrads = true; break;
      case '--repeats': a.repeats = int(1); break;
      default: throw new Error(`unknown flag ${flag}`);
    }
  }
  if (builtin(a.genotype) === undefined) throw new Error(`no built-in genotype ${a.genotype}`);
  return a;
}

function uniform(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s >>> 8) / 16777216 * 2 - 1;
  }
  return out;
}

/** Milliseconds spent recording steps (JavaScript, TensorFlow.js and Dawn on the CPU), summed. */
let encodeMs = 0;

/** One training step as the trainer takes it; resolves when the GPU has finished it. */
async function step(net: Network, opt: SgdMomentum, x: tf.Tensor4D, y: tf.Tensor1D, nameOf: Map<string, string>): Promise<number> {
  const vars = [...net.params.values()];
  const start = performance.now();
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => crossEntropy(net.forward(x, { training: true }).logits, y), vars);
    const list = Object.entries(grads);
    const norm = tf.sqrt(tf.addN(list.map(([, g]) => tf.sum(tf.square(g)))));
    const coefficient = tf.minimum(tf.div(5, tf.add(norm, 1e-6)), 1);
    opt.step(new Map(list.map(([v, g]) => [nameOf.get(v)!, tf.mul(g, coefficient)])), 0.025);
    return value;
  });
  encodeMs += performance.now() - start;
  const value = (await loss.data())[0]!;
  loss.dispose();
  return value;
}

interface KernelTime {
  readonly kernel: string;
  readonly count: number;
  readonly ms: number;
  readonly percent: number;
}

/** GPU time of one training step by kernel (timestamp queries), largest first. */
async function profileStep(net: Network, opt: SgdMomentum, x: tf.Tensor4D, y: tf.Tensor1D, nameOf: Map<string, string>): Promise<KernelTime[]> {
  const info = await tf.profile(async () => {
    await step(net, opt, x, y, nameOf);
  });
  const byKernel = new Map<string, { count: number; ms: number }>();
  for (const k of info.kernels) {
    const t = await k.kernelTimeMs;
    const ms = typeof t === 'number' ? t : 0;
    const e = byKernel.get(k.name) ?? { count: 0, ms: 0 };
    e.count++;
    e.ms += ms;
    byKernel.set(k.name, e);
  }
  const total = [...byKernel.values()].reduce((s, e) => s + e.ms, 0);
  return [...byKernel]
    .map(([kernel, e]) => ({ kernel, count: e.count, ms: e.ms, percent: (100 * e.ms) / (total || 1) }))
    .sort((a, b) => b.ms - a.ms);
}

function median(values: number[]): number {
  const v = [...values].sort((a, b) => a - b);
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** The network, optimiser and one fixed batch that a benchmarked training step runs on. */
function stepSetup(args: Args): { net: Network; opt: SgdMomentum; nameOf: Map<string, string>; x: tf.Tensor4D; y: tf.Tensor1D } {
  const genotype = builtin(args.genotype)!.genotype;
  const net = buildNetwork(genotype, { channels: args.channels, layers: args.layers, classes: 10, inputSize: args.size });
  const opt = new SgdMomentum(net.params, { momentum: 0.9, weightDecay: 3e-4 });
  const nameOf = new Map([...net.params].map(([name, v]) => [v.name, name]));
  const x = tf.tensor4d(uniform(args.batch * args.size * args.size * 3, 1), [args.batch, args.size, args.size, 3]);
  const y = tf.tensor1d(Array.from({ length: args.batch }, (_, i) => i % 10), 'int32');
  return { net, opt, nameOf, x, y };
}

/**
 * Profiled steps alternating TensorFlow.js's filter-gradient kernels and the
 * overrides, `steps` rounds, in one process: on a loaded machine (lavapipe
 * shares the CPU) both sides see the same load. Per-kernel medians.
 */
async function profileAb(args: Args): Promise<void> {
  const record = await openWebGpu(args);
  const { net, opt, nameOf, x, y } = stepSetup(args);
  const modes = ['stock', 'cellscope'] as const;
  const setMode = (mode: (typeof modes)[number]) => {
    for (const name of FILTER_GRAD_KERNELS) useStockWebGpuKernel(name, mode === 'stock');
  };
  // Compile both sides' shaders before timing.
  for (const mode of modes) {
    setMode(mode);
    for (let i = 0; i < args.warmup; i++) await step(net, opt, x, y, nameOf);
  }
  const runs = new Map<string, { profiles: KernelTime[][]; walls: number[] }>(modes.map((m) => [m, { profiles: [], walls: [] }]));
  for (let r = 0; r < args.steps; r++) {
    for (const mode of modes) {
      setMode(mode);
      const t0 = performance.now();
      await step(net, opt, x, y, nameOf);
      runs.get(mode)!.walls.push((performance.now() - t0) / 1000);
      runs.get(mode)!.profiles.push(await profileStep(net, opt, x, y, nameOf));
    }
  }
  setMode('cellscope');
  const summary = modes.map((mode) => {
    const { profiles, walls } = runs.get(mode)!;
    const names = new Set(profiles.flatMap((p) => p.map((k) => k.kernel)));
    const kernels = [...names].map((kernel) => {
      const of = profiles.map((p) => p.find((k) => k.kernel === kernel));
      return { kernel, count: of[0]?.count ?? 0, ms: median(of.map((k) => k?.ms ?? 0)) };
    });
    const totalMs = median(profiles.map((p) => p.reduce((s, k) => s + k.ms, 0)));
    return {
      filterGrads: mode,
      secondsPerStep: median(walls),
      profileKernelMs: totalMs,
      profile: kernels.map((k) => ({ ...k, percent: (100 * k.ms) / (totalMs || 1) })).sort((a, b) => b.ms - a.ms),
    };
  });
  tf.dispose([x, y]);
  opt.dispose();
  net.dispose();
  console.log(JSON.stringify({
    adapter: record.adapter, genotype: args.genotype, channels: args.channels, layers: args.layers, batch: args.batch, size: args.size,
    rounds: args.steps, runs: summary, node: process.version,
  }));
}

async function openWebGpu(args: Args): Promise<BackendRecord> {
  const record = await selectBackend('webgpu', args.adapter === undefined ? {} : { adapter: args.adapter });
  if (record.adapter?.kind === 'software' && !args.allowSoftware) {
    throw new Error(`only a software adapter was chosen (${record.adapter.name}); pass --allow-software to measure it anyway`);
  }
  return record;
}

async function train(args: Args): Promise<void> {
  const record = await openWebGpu(args);
  for (const name of FILTER_GRAD_KERNELS) useStockWebGpuKernel(name, args.stockFilterGrads);
  const { net, opt, nameOf, x, y } = stepSetup(args);
  const t0 = performance.now();
  const losses: number[] = [await step(net, opt, x, y, nameOf)];
  const firstStepSeconds = (performance.now() - t0) / 1000;
  for (let i = 1; i < args.warmup; i++) losses.push(await step(net, opt, x, y, nameOf));
  const tensorsBefore = tf.memory().numTensors;
  encodeMs = 0;
  const t1 = performance.now();
  for (let i = 0; i < args.steps; i++) losses.push(await step(net, opt, x, y, nameOf));
  const secondsPerStep = (performance.now() - t1) / 1000 / args.steps;
  // Recording runs ahead of the GPU (TensorFlow.js submits every few kernels), so
  // a recording time close to the step time means the CPU side bounds the step.
  const encodeSecondsPerStep = encodeMs / 1000 / args.steps;
  const tensorsAfter = tf.memory().numTensors;
  const memory = webgpuMemory();

  let profile: KernelTime[] | undefined;
  let profileKernelMs: number | undefined;
  if (args.profile) {
    profile = await profileStep(net, opt, x, y, nameOf);
    profileKernelMs = profile.reduce((sum, k) => sum + k.ms, 0);
  }
  const freed = releasePooledBuffers();
  console.log(JSON.stringify({
    engine: 'tfjs webgpu',
    adapter: record.adapter,
    filterGrads: args.stockFilterGrads ? 'stock' : 'cellscope',
    genotype: args.genotype, channels: args.channels, layers: args.layers, batch: args.batch, size: args.size,
    params: net.paramCount(),
    warmup: args.warmup, steps: args.steps,
    firstStepSeconds, secondsPerStep, encodeSecondsPerStep, imagesPerSecond: args.batch / secondsPerStep,
    losses,
    tensorsStable: tensorsAfter === tensorsBefore,
    gpuBytesInUse: memory?.inUse, gpuBytesPooled: memory?.pooled, pooledBytesFreed: freed,
    kernelLaunchesPerStep: profile?.reduce((s, k) => s + k.count, 0),
    profileKernelMs, profile,
    node: process.version,
  }));
  tf.dispose([x, y]);
  opt.dispose();
  net.dispose();
}

/** One filter-gradient call as the network makes it. */
interface FilterGradCall {
  readonly kernel: string;
  readonly x: number[];
  readonly dy: number[];
  readonly attrs: Record<string, unknown>;
}

/** The filter-gradient calls of one training step, with how often each occurs. */
async function recordFilterGradCalls(net: Network, opt: SgdMomentum, x: tf.Tensor4D, y: tf.Tensor1D, nameOf: Map<string, string>) {
  const calls = new Map<string, { call: FilterGradCall; count: number }>();
  for (const kernel of FILTER_GRAD_KERNELS) {
    const inner = tf.getKernel(kernel, 'webgpu')!.kernelFunc;
    tf.unregisterKernel(kernel, 'webgpu');
    tf.registerKernel({
      kernelName: kernel,
      backendName: 'webgpu',
      kernelFunc: (a) => {
        const inputs = a.inputs as unknown as Record<string, tf.TensorInfo>;
        const call: FilterGradCall = { kernel, x: inputs.x!.shape, dy: inputs.dy!.shape, attrs: { ...a.attrs } };
        const key = JSON.stringify(call);
        const entry = calls.get(key) ?? { call, count: 0 };
        entry.count++;
        calls.set(key, entry);
        return inner(a);
      },
    });
  }
  try {
    await step(net, opt, x, y, nameOf);
  } finally {
    for (const kernel of FILTER_GRAD_KERNELS) useStockWebGpuKernel(kernel, false);
  }
  return [...calls.values()];
}

/**
 * Runs `call` `repeats` times after one untimed run: the median GPU ms of a
 * call (0 without timestamp queries), the mean wall ms of a call when
 * `repeats` are queued back to back, and the result.
 */
async function timeCall(call: FilterGradCall, repeats: number): Promise<{ gpuMs: number; wallMs: number; values: Float32Array }> {
  const xs = tf.tensor(uniform(call.x.reduce((a, b) => a * b), 3), call.x);
  const dy = tf.tensor(uniform(call.dy.reduce((a, b) => a * b), 4), call.dy);
  const run = () => tf.engine().runKernel(call.kernel, { x: xs, dy }, call.attrs as tf.NamedAttrMap) as tf.Tensor;
  const first = run();
  const values = (await first.data()) as Float32Array;
  first.dispose();
  const t0 = performance.now();
  const outs = Array.from({ length: repeats }, run);
  await outs[outs.length - 1]!.data();
  const wallMs = (performance.now() - t0) / repeats;
  tf.dispose(outs);
  const info = await tf.profile(async () => {
    for (let i = 0; i < repeats; i++) tf.dispose(run());
  });
  const times: number[] = [];
  for (const k of info.kernels) {
    const t = await k.kernelTimeMs;
    times.push(typeof t === 'number' ? t : 0);
  }
  tf.dispose([xs, dy]);
  return { gpuMs: median(times), wallMs, values };
}

/** Stock and cellscope filter-gradient kernels on the shapes one training step of the network makes. */
async function kernels(args: Args): Promise<void> {
  const record = await openWebGpu(args);
  const { net, opt, nameOf, x, y } = stepSetup(args);
  const calls = await recordFilterGradCalls(net, opt, x, y, nameOf);
  tf.dispose([x, y]);
  opt.dispose();
  net.dispose();
  interface Row extends FilterGradCall {
    readonly count: number;
    readonly stockGpuMs: number;
    readonly stockWallMs: number;
    readonly gpuMs: number;
    readonly wallMs: number;
    readonly relativeDifference: number | null;
    /** Pointwise convolutions: the override forced through each path. */
    readonly paths?: Record<'matmul' | 'direct', { readonly gpuMs: number; readonly wallMs: number }>;
  }
  const rows: Row[] = [];
  for (const { call, count } of calls) {
    useStockWebGpuKernel(call.kernel, true);
    const stock = await timeCall(call, args.repeats);
    useStockWebGpuKernel(call.kernel, false);
    const ours = await timeCall(call, args.repeats);
    // The stock depthwise program ignores dilation: nothing to compare there.
    const dilations = call.attrs.dilations;
    const dilated = Array.isArray(dilations) ? dilations.some((d) => d !== 1) : dilations !== undefined && dilations !== 1;
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < stock.values.length; i++) {
      diff = Math.max(diff, Math.abs(stock.values[i]! - ours.values[i]!));
      scale = Math.max(scale, Math.abs(stock.values[i]!));
    }
    let paths: Row['paths'];
    if (call.kernel === 'Conv2DBackpropFilter') {
      const a = call.attrs as unknown as tf.Conv2DBackpropFilterAttrs;
      const info = tf.backend_util.computeConv2DInfo(call.x as [number, number, number, number], a.filterShape, a.strides, 1, a.pad, a.dimRoundingMode);
      if (isPointwise(info)) {
        try {
          forcePointwisePath('matmul');
          const matmul = await timeCall(call, args.repeats);
          forcePointwisePath('direct');
          const direct = await timeCall(call, args.repeats);
          paths = { matmul: { gpuMs: matmul.gpuMs, wallMs: matmul.wallMs }, direct: { gpuMs: direct.gpuMs, wallMs: direct.wallMs } };
        } finally {
          forcePointwisePath(undefined);
        }
      }
    }
    rows.push({
      ...call, count,
      stockGpuMs: stock.gpuMs, stockWallMs: stock.wallMs, gpuMs: ours.gpuMs, wallMs: ours.wallMs,
      relativeDifference: dilated ? null : diff / (scale || 1),
      ...(paths === undefined ? {} : { paths }),
    });
    releasePooledBuffers();
  }
  const total = (key: 'stockGpuMs' | 'stockWallMs' | 'gpuMs' | 'wallMs') => rows.reduce((s, r) => s + r.count * r[key], 0);
  console.log(JSON.stringify({
    adapter: record.adapter, genotype: args.genotype, channels: args.channels, layers: args.layers, batch: args.batch, size: args.size,
    repeats: args.repeats,
    perStep: { stockGpuMs: total('stockGpuMs'), gpuMs: total('gpuMs'), stockWallMs: total('stockWallMs'), wallMs: total('wallMs') },
    calls: rows.sort((a, b) => b.count * b.stockWallMs - a.count * a.stockWallMs),
    node: process.version,
  }));
}

function torchJob(args: Args): void {
  const genotype = builtin(args.genotype)!.genotype;
  const cell = (c: typeof genotype.normal) => ({ edges: c.edges.map((e) => [e.op, e.input]), concat: [...c.concat] });
  console.log(JSON.stringify({
    genotype: { normal: cell(genotype.normal), reduce: cell(genotype.reduce) },
    genotypeName: args.genotype, channels: args.channels, layers: args.layers, classes: 10,
    batch: args.batch, inputSize: args.size, steps: args.steps, warmup: args.warmup,
  }));
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === 'adapters') console.log(JSON.stringify(await probeAdapters()));
  else if (command === 'train') await train(parseArgs(rest));
  else if (command === 'kernels') await kernels(parseArgs(rest));
  else if (command === 'profile-ab') await profileAb(parseArgs(rest));
  else if (command === 'plan') {
    console.log(JSON.stringify(await runPlanBench(rest)));
    process.exit(0);
  }
  else if (command === 'torch-job') torchJob(parseArgs(rest));
  else throw new Error('usage: webgpu-bench adapters | train [flags] | kernels [flags] | profile-ab [flags] | plan [flags] | torch-job [flags]');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack ?? error.message : error);
  process.exit(1);
});
