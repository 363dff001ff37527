/**
 * Before/after timings of our wasm kernels (src/train/kernels) on the shapes
 * one DARTS_V2 training step (C=16, 8 cells, batch 64, 32×32) gives them,
 * in one process: the kernels of git revision `--before` (extracted with
 * `git archive` under .cache/; the stock wasm kernel where it has none)
 * against the working tree's, called directly on fresh heap tensors of the
 * same values (a composed kernel of either runs the kernels registered now
 * inside), alternating, `--repeats` times; medians of the
 * process's CPU time per call (on a shared machine wall time also counts
 * other processes' turns) per shape, and the sum weighted by the calls per step (from
 * `CELLSCOPE_PROFILE_SHAPES=1 npx tsx bench/wasm-kernel-profile.ts`).
 *
 *   npx tsx bench/wasm-kernel-ab.ts [--before HEAD] [--repeats 7] [--kernel Conv2DBackpropFilter]
 *     [--filter '[5,5,']   (cases whose input shapes contain the text)
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-wasm';
import { registerWasmKernels, WASM_KERNELS } from '../src/train/kernels/index.js';
import { seededUniform } from './syncStep.js';

interface Case {
  kernel: string;
  /** Input name → shape. */
  inputs: Record<string, number[]>;
  attrs: Record<string, unknown>;
  /** Calls per training step. */
  calls: number;
}

const conv1x1 = (x: number[], cOut: number, stride: number, calls: number): Case => {
  const [n, h, w, cIn] = x as [number, number, number, number];
  const out = (s: number) => Math.floor((s - 1) / stride) + 1;
  return {
    kernel: 'Conv2DBackpropFilter', calls,
    inputs: { x, dy: [n, out(h), out(w), cOut] },
    attrs: { strides: stride, pad: 'valid', dataFormat: 'NHWC', filterShape: [1, 1, cIn, cOut], dilations: 1 },
  };
};

const depthwise = (x: number[], k: number, stride: number, dilation: number, calls: number): Case => {
  const [n, h, w, c] = x as [number, number, number, number];
  const pad = dilation * Math.floor(k / 2);
  const out = (s: number) => Math.floor((s + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
  return {
    kernel: 'DepthwiseConv2dNativeBackpropFilter', calls,
    inputs: { x, dy: [n, out(h), out(w), c] },
    attrs: { strides: stride, dilations: dilation, pad: [[0, 0], [pad, pad], [pad, pad], [0, 0]], filterShape: [k, k, c, 1] },
  };
};

/** The input gradient of the same depthwise convolutions. */
const depthwiseInput = (x: number[], k: number, stride: number, dilation: number, calls: number): Case => {
  const f = depthwise(x, k, stride, dilation, calls);
  return {
    kernel: 'DepthwiseConv2dNativeBackpropInput', calls,
    inputs: { dy: f.inputs.dy!, filter: [k, k, x[3]!, 1] },
    attrs: { strides: stride, dilations: dilation, pad: f.attrs.pad, inputShape: x },
  };
};

/** The forward depthwise convolution (sep_conv_k×k, dil_conv_k×k). */
const depthwiseForward = (x: number[], k: number, stride: number, dilation: number, calls: number): Case => {
  const f = depthwise(x, k, stride, dilation, calls);
  return {
    kernel: 'DepthwiseConv2dNative', calls,
    inputs: { x, filter: [k, k, x[3]!, 1] },
    attrs: { strides: stride, dilations: dilation, pad: f.attrs.pad, dataFormat: 'NHWC' },
  };
};

const maxPoolGrad = (x: number[], stride: number, calls: number): Case => {
  const [n, h, w, c] = x as [number, number, number, number];
  const out = (s: number) => Math.floor((s + 2 - 3) / stride) + 1;
  return { kernel: 'MaxPoolGrad', calls, inputs: { input: x, dy: [n, out(h), out(w), c], output: [n, out(h), out(w), c] }, attrs: { filterSize: 3, strides: stride, pad: 1 } };
};

/** avg_pool_3x3: a 'valid' pool of the input padded by 1 (ops.ts). */
const avgPoolGrad = (x: number[], stride: number, calls: number): Case => {
  const [n, h, w, c] = x as [number, number, number, number];
  const out = (s: number) => Math.floor((s + 2 - 3) / stride) + 1;
  return { kernel: 'AvgPoolGrad', calls, inputs: { dy: [n, out(h), out(w), c], input: [n, h + 2, w + 2, c] }, attrs: { filterSize: 3, strides: stride, pad: 'valid' } };
};

const splitV = (x: number[], parts: number, calls: number): Case =>
  ({ kernel: 'SplitV', calls, inputs: { x }, attrs: { numOrSizeSplits: parts, axis: 3 } });

/** A cell's output: its four nodes concatenated on the channel axis (array inputs, as the engine passes them). */
const concat4 = (node: number[], calls: number): Case =>
  ({ kernel: 'Concat', calls, inputs: { a: node, b: node, c: node, d: node }, attrs: { axis: 3 } });

/** The shapes of DARTS_V2, C=16, 8 cells, batch 64 (calls per step from the profile). */
const CASES: Case[] = [
  conv1x1([64, 32, 32, 16], 16, 1, 22),
  conv1x1([64, 16, 16, 32], 32, 1, 22),
  conv1x1([64, 8, 8, 64], 64, 1, 22),
  conv1x1([64, 32, 32, 48], 16, 1, 3),
  conv1x1([64, 32, 32, 64], 16, 1, 1),
  conv1x1([64, 32, 32, 64], 32, 1, 2),
  conv1x1([64, 16, 16, 128], 32, 1, 3),
  conv1x1([64, 16, 16, 128], 64, 1, 2),
  conv1x1([64, 8, 8, 256], 64, 1, 3),
  conv1x1([64, 32, 32, 64], 16, 2, 2),
  // The stem: 3×3, 3 → 48 channels, padding 1.
  { kernel: 'Conv2DBackpropFilter', calls: 1, inputs: { x: [64, 32, 32, 3], dy: [64, 32, 32, 48] },
    attrs: { strides: 1, pad: [[0, 0], [1, 1], [1, 1], [0, 0]], dataFormat: 'NHWC', filterShape: [3, 3, 3, 48], dilations: 1 } },
  depthwise([64, 32, 32, 16], 3, 1, 1, 20),
  depthwise([64, 32, 32, 16], 3, 1, 2, 2),
  depthwise([64, 16, 16, 32], 3, 1, 1, 20),
  depthwise([64, 16, 16, 32], 3, 1, 2, 2),
  depthwise([64, 8, 8, 64], 3, 1, 1, 20),
  depthwise([64, 8, 8, 64], 3, 1, 2, 2),
  depthwiseInput([64, 32, 32, 16], 3, 1, 1, 20),
  depthwiseInput([64, 32, 32, 16], 3, 1, 2, 2),
  depthwiseInput([64, 16, 16, 32], 3, 1, 1, 20),
  depthwiseInput([64, 16, 16, 32], 3, 1, 2, 2),
  depthwiseInput([64, 8, 8, 64], 3, 1, 1, 20),
  depthwiseInput([64, 8, 8, 64], 3, 1, 2, 2),
  maxPoolGrad([64, 32, 32, 32], 2, 5),
  maxPoolGrad([64, 16, 16, 64], 2, 5),
  // AmoebaNet's 5×5 and 7×7 depthwise convolutions (not in DARTS_V2: calls per AmoebaNet step), and a 3×3 for scale.
  depthwiseForward([64, 32, 32, 16], 3, 1, 1, 24),
  depthwiseForward([64, 32, 32, 16], 5, 1, 1, 8),
  depthwiseForward([64, 16, 16, 32], 5, 1, 1, 8),
  depthwiseForward([64, 16, 16, 32], 7, 1, 1, 6),
  depthwiseForward([64, 8, 8, 64], 7, 1, 1, 6),
  depthwiseForward([64, 32, 32, 32], 7, 2, 1, 2),
  depthwiseForward([64, 16, 16, 64], 7, 2, 1, 2),
  // AmoebaNet's avg_pool_3x3 (not in DARTS_V2: calls per AmoebaNet step).
  avgPoolGrad([64, 32, 32, 16], 1, 6),
  avgPoolGrad([64, 16, 16, 32], 1, 6),
  avgPoolGrad([64, 32, 32, 32], 2, 2),
  splitV([64, 32, 32, 64], 4, 2),
  splitV([64, 16, 16, 128], 4, 3),
  splitV([64, 8, 8, 256], 4, 3),
  concat4([64, 32, 32, 16], 2),
  concat4([64, 16, 16, 32], 3),
  concat4([64, 8, 8, 64], 3),
];

function parseArgs(argv: string[]): { before: string; repeats: number; kernel?: string; filter?: string } {
  const args: { before: string; repeats: number; kernel?: string; filter?: string } = { before: 'HEAD', repeats: 7 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i], argv[i + 1]];
    if (flag === '--before' && value) args.before = value;
    else if (flag === '--repeats' && value) args.repeats = Number(value);
    else if (flag === '--kernel' && value) args.kernel = value;
    else if (flag === '--filter' && value) args.filter = value;
    else throw new Error(`unknown flag or missing value: ${flag}`);
  }
  return args;
}

/** The kernel functions of src/train/kernels at `rev`, extracted under .cache/. */
async function kernelsAt(rev: string): Promise<{ WASM_KERNELS: readonly tf.KernelConfig[]; registerWasmKernels(): void }> {
  const sha = execFileSync('git', ['rev-parse', '--short', rev], { encoding: 'utf8' }).trim();
  const dir = resolve('.cache', `kernels-${sha}`);
  if (!existsSync(join(dir, 'src/train/kernels/index.ts'))) {
    mkdirSync(dir, { recursive: true });
    const tar = execFileSync('git', ['archive', sha, 'src/train/kernels'], { maxBuffer: 1 << 28 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
  }
  return (await import(pathToFileURL(join(dir, 'src/train/kernels/index.ts')).href)) as { WASM_KERNELS: readonly tf.KernelConfig[]; registerWasmKernels(): void };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  await tf.setBackend('wasm');
  // The stock kernels, for what the `before` revision does not override.
  const stockConfigs = tf.getKernelsForBackend('wasm');
  const stock = new Map(stockConfigs.map((k) => [k.kernelName, k.kernelFunc]));
  // Each revision's registration keeps the stock kernels its replacements fall back on: the old one's
  // first, then the stock kernels back in place for the working tree's.
  const old = await kernelsAt(args.before);
  old.registerWasmKernels();
  for (const k of old.WASM_KERNELS) {
    tf.unregisterKernel(k.kernelName, 'wasm');
    const original = stockConfigs.find((c) => c.kernelName === k.kernelName);
    if (original !== undefined) tf.registerKernel(original);
  }
  registerWasmKernels();
  const backend = tf.backend() as tf.KernelBackend & { disposeData(id: object): boolean };
  const before = old.WASM_KERNELS;
  const find = (list: readonly tf.KernelConfig[], name: string) => list.find((k) => k.kernelName === name)?.kernelFunc;
  console.log(`load ${readFileSync('/proc/loadavg', 'utf8').trim()}; before = ${args.before}, after = working tree, ${args.repeats} repeats`);
  const totals = { before: 0, after: 0 };
  const shapeOf = (c: Case) => Object.values(c.inputs).map((s) => JSON.stringify(s)).join(' ');
  for (const c of CASES.filter((c) => (args.kernel === undefined || c.kernel === args.kernel) && (args.filter === undefined || shapeOf(c).includes(args.filter)))) {
    const variants = { before: find(before, c.kernel) ?? stock.get(c.kernel), after: find(WASM_KERNELS, c.kernel) };
    if (variants.before === undefined || variants.after === undefined) throw new Error(`no ${c.kernel} in both`);
    const data = Object.entries(c.inputs).map(([name, shape], k) => [name, shape, seededUniform(shape.reduce((a, b) => a * b, 1), k + 1)] as const);
    const ms: Record<'before' | 'after', number[]> = { before: [], after: [] };
    let maxDiff = 0;
    for (let r = 0; r < args.repeats + 1; r++) {
      const results: Partial<Record<'before' | 'after', Float32Array>> = {};
      for (const which of (r % 2 === 0 ? ['before', 'after'] : ['after', 'before']) as Array<'before' | 'after'>) {
        // Fresh tensors for every call, as in training: XNNPACK caches what it packs per tensor (BatchMatMul's
        // right operand), so reusing inputs would time a packing that training pays on every call only once.
        const inputs = data.map(([name, shape, v]) => [name, tf.tensor(v, shape)] as const);
        const infos = Object.fromEntries(inputs.map(([name, t]) => [name, { dataId: t.dataId, shape: t.shape, dtype: t.dtype }]));
        const t0 = process.cpuUsage();
        const made = variants[which]!({ inputs: c.kernel === 'Concat' ? Object.values(infos) as unknown as tf.NamedTensorInfoMap : infos, attrs: c.attrs as tf.NamedAttrMap, backend });
        const t1 = process.cpuUsage(t0);
        if (r > 0) ms[which].push((t1.user + t1.system) / 1000); // the first round warms up
        // Several outputs (SplitV): compared one after another.
        const outs = Array.isArray(made) ? made : [made];
        const values = outs.map((o) => backend.readSync(o.dataId) as Float32Array);
        results[which] = new Float32Array(values.reduce((n, v) => n + v.length, 0));
        let at = 0;
        for (const v of values) (results[which].set(v, at), (at += v.length));
        for (const o of outs) backend.disposeData(o.dataId);
        for (const [, t] of inputs) t.dispose();
      }
      const [a, b] = [results.before!, results.after!];
      let scale = 0;
      for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]!));
      for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!) / (scale || 1));
    }
    const [mb, ma] = [median(ms.before), median(ms.after)];
    totals.before += mb * c.calls;
    totals.after += ma * c.calls;
    const shape = Object.values(c.inputs).map((s) => JSON.stringify(s)).join(' ');
    const extra = c.kernel === 'Conv2DBackpropFilter' ? ` s=${String(c.attrs.strides)}` :
      c.kernel === 'DepthwiseConv2dNativeBackpropFilter' ? ` d=${String(c.attrs.dilations)}` : '';
    console.log(`${c.kernel} ${shape}${extra} ×${c.calls}: before ${mb.toFixed(2)} ms, after ${ma.toFixed(2)} ms ` +
      `(${(mb / ma).toFixed(2)}×), max |Δ|/max|before| ${maxDiff.toExponential(1)}`);
  }
  console.log(`per step (calls × median): before ${totals.before.toFixed(0)} ms, after ${totals.after.toFixed(0)} ms ` +
    `(${(totals.before / totals.after).toFixed(2)}×); load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
