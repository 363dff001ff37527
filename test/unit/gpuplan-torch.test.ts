/**
 * The compiled GPU plan (src/train/gpuplan, on lavapipe without a GPU)
 * against PyTorch (test/reference/darts_torch.py, float64), as
 * train-torch.test.ts checks the TensorFlow.js network: the same weights and
 * input give the same training logits and loss (relative error ≤ 1e-4), every
 * parameter's gradient (relative L2 ≤ 1e-2) and the running statistics after
 * the step. DARTS_V2 and the all-operations genotype. Skipped, saying why,
 * without PyTorch or without a WebGPU adapter.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtin } from '../../src/genotype/library.js';
import type { Genotype } from '../../src/genotype/model.js';
import { openPlanDevice, type PlanDevice } from '../../src/train/gpuplan/device.js';
import { GpuPlanEngine } from '../../src/train/gpuplan/engine.js';
import { layoutOf } from '../../src/train/gpuplan/layout.js';
import { buildNetwork } from '../../src/train/network/network.js';
import { toTorch } from '../../src/train/network/params.js';
import { ALL_OPS, relativeL2, relativeMaxError, seeded, tf } from './train-helpers.js';

const SCRIPT = join(__dirname, '..', 'reference', 'darts_torch.py');

function torchPython(): string | undefined {
  const candidates = [process.env.CELLSCOPE_TORCH_PYTHON, '/usr/bin/python3', 'python3'].filter((c): c is string => !!c);
  for (const python of candidates) {
    if (spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0) return python;
  }
  return undefined;
}

const PYTHON = torchPython();
let opened: PlanDevice | undefined;
let why = '';

before(async () => {
  await tf.setBackend('cpu');
  try {
    opened = await openPlanDevice({ allowSoftware: true });
  } catch (error) {
    why = (error as Error).message;
  }
});

function skipWhy(): string | undefined {
  if (PYTHON === undefined) return 'PyTorch not found (apt-get install -y --no-install-recommends python3-torch)';
  if (opened === undefined) return `no WebGPU adapter: ${why}`;
  return undefined;
}

interface TorchOut {
  logits: number[];
  loss: number;
  grads: Record<string, number[]>;
  buffers: Record<string, number[]>;
}

function jsonGenotype(g: Genotype) {
  const cell = (c: Genotype['normal']) => ({ edges: c.edges.map((e) => [e.op, e.input]), concat: [...c.concat] });
  return { normal: cell(g.normal), reduce: cell(g.reduce) };
}

async function compareWithTorch(genotype: Genotype, channels: number, layers: number, side: number, batch: number): Promise<string> {
  const classes = 10;
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-plan-torch-'));
  const net = buildNetwork(genotype, { channels, layers, classes, inputSize: side, seed: 5 });
  try {
    const labels = Array.from({ length: batch }, (_, i) => (i * 7 + 3) % classes);
    const xv = seeded(batch * side * side * 3, 42, -2, 2);
    const x = tf.tensor4d(xv, [batch, side, side, 3]);
    const state = net.store.exportTorch();
    state.set('input', toTorch(x, 'activation'));
    x.dispose();
    const index: Record<string, { offset: number; shape: number[] }> = {};
    let offset = 0;
    for (const [name, t] of state) {
      index[name] = { offset, shape: t.shape };
      offset += t.data.length;
    }
    const blob = new Float32Array(offset);
    for (const [name, t] of state) blob.set(t.data, index[name]!.offset);
    writeFileSync(join(dir, 'tensors.bin'), Buffer.from(blob.buffer));
    const job = { genotype: jsonGenotype(genotype), channels, layers, classes, inputSize: side, auxiliary: false, auxWeight: 0.4, labels, tensors: 'tensors.bin', index };
    writeFileSync(join(dir, 'job.json'), JSON.stringify(job));
    const r = spawnSync(PYTHON!, [SCRIPT, 'compare', join(dir, 'job.json'), join(dir, 'out.json')], { encoding: 'utf8' });
    assert.equal(r.status, 0, `darts_torch.py failed: ${r.stderr}`);
    const torch = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as TorchOut;

    const init = layoutOf(net);
    const engine = await GpuPlanEngine.create(opened!.device, genotype, { channels, layers, classes, inputSize: side, auxiliary: false, batch, mode: 'train', dropPath: false }, init);
    try {
      engine.step({ images: xv, labels: Int32Array.from(labels), lr: 0 });
      const metrics = await engine.readMetrics();
      const logits = await engine.readLogits();
      const grads = await engine.readGrads();
      const buffers = await engine.readBuffers();
      const logitErr = relativeMaxError(Float32Array.from(torch.logits), logits);
      assert.ok(logitErr <= 1e-4, `logits: ${logitErr}`);
      assert.ok(Math.abs(metrics.loss - torch.loss) <= 1e-4 * Math.abs(torch.loss), `loss ${metrics.loss} vs ${torch.loss}`);
      let worst = 0;
      for (const [name, slot] of init.layout.params) {
        const g = tf.tensor(grads.slice(slot.offset, slot.offset + slot.size), [...slot.shape]);
        const mine = toTorch(g, net.store.info.get(name)!.layout).data;
        g.dispose();
        const err = relativeL2(Float32Array.from(torch.grads[name]!), mine);
        worst = Math.max(worst, err);
        assert.ok(err <= 1e-2, `gradient of ${name}: relative L2 ${err}`);
      }
      for (const [name, slot] of init.layout.buffers) {
        const err = relativeMaxError(Float32Array.from(torch.buffers[name]!), buffers.subarray(slot.offset, slot.offset + slot.size));
        assert.ok(err <= 1e-4, `${name} after the step: ${err}`);
      }
      return `logits ${logitErr.toExponential(2)}, loss ${metrics.loss} vs ${torch.loss}, worst of ${init.layout.params.size} gradients ${worst.toExponential(2)}`;
    } finally {
      engine.destroy();
    }
  } finally {
    net.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('DARTS_V2, C=4, 3 cells, 16×16: the plan engine equals PyTorch', async (t) => {
  const skip = skipWhy();
  if (skip !== undefined) return t.skip(skip);
  t.diagnostic(await compareWithTorch(builtin('DARTS_V2')!.genotype, 4, 3, 16, 2));
});

test('every operation, C=4, 3 cells, 16×16: the plan engine equals PyTorch', async (t) => {
  const skip = skipWhy();
  if (skip !== undefined) return t.skip(skip);
  t.diagnostic(await compareWithTorch(ALL_OPS, 4, 3, 16, 2));
});
