/**
 * Faithfulness against PyTorch: the same weights and inputs through our
 * network (wasm backend) and through test/reference/darts_torch.py (float64)
 * give the same logits and loss (relative error ≤ 1e-4), the same gradient for
 * every parameter (relative L2 ≤ 1e-2), the same running statistics after the
 * step and the same evaluation-mode logits. DARTS_V2, NASNet and AmoebaNet
 * (loose-end concats), with the auxiliary head, and one all-operations genotype.
 *
 * Needs PyTorch (Debian: apt-get install -y --no-install-recommends python3-torch),
 * a test-only tool; skipped with a message when it is absent. Set
 * CELLSCOPE_TORCH_PYTHON to choose the interpreter.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtin } from '../../src/genotype/library.js';
import type { Genotype } from '../../src/genotype/model.js';
import { selectBackend } from '../../src/train/backend.js';
import { buildNetwork, type NetworkOptions } from '../../src/train/network/network.js';
import { toTorch } from '../../src/train/network/params.js';
import { meanCrossEntropy, namedGrads, relativeL2, relativeMaxError, seeded, tf } from './train-helpers.js';

const SCRIPT = join(__dirname, '..', 'reference', 'darts_torch.py');

/** The first interpreter that can import torch: $CELLSCOPE_TORCH_PYTHON, Debian's, then PATH's. */
function torchPython(): string | undefined {
  const candidates = [process.env.CELLSCOPE_TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (r.status === 0) return python;
  }
  return undefined;
}

const PYTHON = torchPython();
const SKIP = PYTHON === undefined ? 'PyTorch not found (apt-get install -y --no-install-recommends python3-torch)' : false;

interface TorchOut {
  logits: number[];
  auxLogits: number[] | null;
  loss: number;
  grads: Record<string, number[]>;
  buffers: Record<string, number[]>;
  evalLogits: number[];
}

function jsonGenotype(g: Genotype) {
  const cell = (c: Genotype['normal']) => ({ edges: c.edges.map((e) => [e.op, e.input]), concat: [...c.concat] });
  return { normal: cell(g.normal), reduce: cell(g.reduce) };
}

/** Writes the network's state and the input (NCHW) for the reference, runs it, reads its answer. */
function runTorch(dir: string, genotype: Genotype, options: Required<NetworkOptions>, state: Map<string, { shape: number[]; data: Float32Array }>, labels: number[]): TorchOut {
  const index: Record<string, { offset: number; shape: number[] }> = {};
  let offset = 0;
  for (const [name, t] of state) {
    index[name] = { offset, shape: t.shape };
    offset += t.data.length;
  }
  const blob = new Float32Array(offset);
  for (const [name, t] of state) blob.set(t.data, index[name]!.offset);
  writeFileSync(join(dir, 'tensors.bin'), Buffer.from(blob.buffer));
  const job = {
    genotype: jsonGenotype(genotype),
    channels: options.channels,
    layers: options.layers,
    classes: options.classes,
    inputSize: options.inputSize,
    auxiliary: options.auxiliary,
    auxWeight: 0.4,
    labels,
    tensors: 'tensors.bin',
    index,
  };
  writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
  const r = spawnSync(PYTHON!, [SCRIPT, 'compare', join(dir, 'job.json'), join(dir, 'out.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `darts_torch.py failed: ${r.stderr}`);
  return JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as TorchOut;
}

function f32(a: number[]): Float32Array {
  return Float32Array.from(a);
}

async function compareWithTorch(genotype: Genotype, options: Required<NetworkOptions>, batch: number): Promise<void> {
  await selectBackend('wasm');
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-torch-'));
  const net = buildNetwork(genotype, options);
  try {
    const side = options.inputSize;
    const labels = Array.from({ length: batch }, (_, i) => (i * 7 + 3) % options.classes);
    const x = tf.tensor4d(seeded(batch * side * side * 3, 42, -2, 2), [batch, side, side, 3]);
    const state = net.store.exportTorch();
    state.set('input', toTorch(x, 'activation'));
    const torch = runTorch(dir, genotype, options, state, labels);

    let logits: Float32Array | undefined;
    let auxLogits: Float32Array | undefined;
    const { value, grads } = namedGrads(() => {
      const out = net.forward(x, { training: true });
      logits = out.logits.dataSync() as Float32Array;
      auxLogits = out.auxLogits?.dataSync() as Float32Array | undefined;
      const loss = meanCrossEntropy(out.logits, labels);
      return out.auxLogits === undefined ? loss : (tf.add(loss, tf.mul(meanCrossEntropy(out.auxLogits, labels), 0.4)) as tf.Scalar);
    }, net.params);

    const label = `${options.channels}C ${options.layers} cells ${side}×${side}${options.auxiliary ? ' aux' : ''}`;
    assert.ok(relativeMaxError(f32(torch.logits), logits!) <= 1e-4, `${label} logits: ${relativeMaxError(f32(torch.logits), logits!)}`);
    if (options.auxiliary) {
      assert.ok(torch.auxLogits !== null && auxLogits !== undefined);
      assert.ok(relativeMaxError(f32(torch.auxLogits), auxLogits) <= 1e-4, `${label} aux logits`);
    }
    const loss = value.dataSync()[0]!;
    assert.ok(Math.abs(loss - torch.loss) <= 1e-4 * Math.abs(torch.loss), `${label} loss ${loss} vs ${torch.loss}`);

    assert.deepEqual(new Set(grads.keys()), new Set(Object.keys(torch.grads)), 'the same parameters');
    for (const [name, g] of grads) {
      const mine = toTorch(g, net.store.info.get(name)!.layout).data;
      const err = relativeL2(f32(torch.grads[name]!), mine);
      assert.ok(err <= 1e-2, `${label} gradient of ${name}: relative L2 ${err}`);
    }
    for (const [name, b] of net.buffers) {
      assert.ok(relativeMaxError(f32(torch.buffers[name]!), b.dataSync() as Float32Array) <= 1e-4, `${label} ${name} after the step`);
    }
    const evalLogits = tf.tidy(() => net.forward(x, { training: false }).logits.dataSync() as Float32Array);
    assert.ok(relativeMaxError(f32(torch.evalLogits), evalLogits) <= 1e-4, `${label} evaluation logits`);
    tf.dispose([x, value, ...grads.values()]);
  } finally {
    net.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

const ALL_OPS: Genotype = {
  normal: {
    edges: [['sep_conv_3x3', 0], ['dil_conv_5x5', 1], ['max_pool_3x3', 0], ['avg_pool_3x3', 2], ['conv_7x1_1x7', 1], ['none', 3],
      ['sep_conv_7x7', 2], ['skip_connect', 4], ['dil_conv_3x3', 3], ['sep_conv_5x5', 0]].map(([op, input]) => ({ op: op as string, input: input as number })),
    concat: [4, 5, 6],
  },
  reduce: {
    edges: [['sep_conv_5x5', 0], ['dil_conv_3x3', 1], ['avg_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 0], ['conv_7x1_1x7', 1],
      ['none', 1], ['dil_conv_5x5', 0], ['sep_conv_7x7', 1], ['sep_conv_3x3', 2]].map(([op, input]) => ({ op: op as string, input: input as number })),
    concat: [2, 3, 4, 6],
  },
};

test('DARTS_V2 with the auxiliary head equals PyTorch', { skip: SKIP }, async () => {
  await compareWithTorch(builtin('DARTS_V2')!.genotype, { channels: 8, layers: 5, classes: 10, inputSize: 32, auxiliary: true, seed: 1 }, 2);
});

test('NASNet (loose ends) equals PyTorch', { skip: SKIP }, async () => {
  await compareWithTorch(builtin('NASNet')!.genotype, { channels: 4, layers: 4, classes: 10, inputSize: 16, auxiliary: false, seed: 2 }, 2);
});

test('AmoebaNet (loose ends, conv_7x1_1x7) at 64×64 with the stride-2 stem and the auxiliary head equals PyTorch', { skip: SKIP }, async () => {
  await compareWithTorch(builtin('AmoebaNet')!.genotype, { channels: 4, layers: 4, classes: 7, inputSize: 64, auxiliary: true, seed: 3 }, 2);
});

test('every operation, and the auxiliary head on the last cell, equal PyTorch', { skip: SKIP }, async () => {
  await compareWithTorch(ALL_OPS, { channels: 4, layers: 3, classes: 5, inputSize: 32, auxiliary: true, seed: 4 }, 3);
});
