/**
 * The compiled GPU plan (src/train/gpuplan) against the TensorFlow.js cpu
 * network (src/train/network), on lavapipe where there is no GPU: tiny
 * networks covering every operation (sep/dil convs, pools, skip incl.
 * FactorizedReduce, conv 7×1, none), reduction cells, drop path (the same
 * masks, drawn in the network's order), training-mode BatchNorm with its
 * running statistics, the auxiliary head. Forward logits, loss and every
 * parameter's gradient after one step; eval-mode logits; the losses of a
 * few SGD steps. Bad input: out of memory at plan time, no adapter, a lost device.
 * Skipped (saying why) without an adapter, failed under CI=true.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { builtin } from '../../src/genotype/library.js';
import { normalisationTable, writeAugmented, type AugmentParams } from '../../src/train/data/augment.js';
import type { Genotype } from '../../src/genotype/model.js';
import { mulberry32 } from '../../src/shared/mulberry32.js';
import { openPlanDevice, type PlanDevice } from '../../src/train/gpuplan/device.js';
import { drawMasks, GpuPlanEngine, GpuPlanError } from '../../src/train/gpuplan/engine.js';
import { initialState, layoutOf } from '../../src/train/gpuplan/layout.js';
import { buildNetwork, type Network } from '../../src/train/network/network.js';
import { crossEntropy, SgdMomentum } from '../../src/train/optim.js';
import { ALL_OPS, namedGrads, relativeL2, relativeMaxError, seeded, tf } from './train-helpers.js';

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

function need(t: { skip(m: string): void }): boolean {
  if (opened !== undefined) return true;
  if (process.env.CI === 'true') assert.fail(`no WebGPU adapter under CI: ${why}`);
  t.skip(`no WebGPU adapter: ${why}`);
  return false;
}

interface Case {
  readonly genotype: Genotype;
  readonly channels: number;
  readonly layers: number;
  readonly batch: number;
  readonly side: number;
  readonly classes: number;
  readonly auxiliary: boolean;
  readonly dropPath: number;
  readonly denseKernels?: 'tiled' | 'direct';
}

const SEED = 3;

function inputs(c: Case, step: number): { x: Float32Array; labels: Int32Array } {
  return {
    x: seeded(c.batch * c.side * c.side * 3, 40 + step, -2, 2),
    labels: Int32Array.from({ length: c.batch }, (_, i) => (i * 3 + step) % c.classes),
  };
}

function network(c: Case): Network {
  return buildNetwork(c.genotype, { channels: c.channels, layers: c.layers, classes: c.classes, inputSize: c.side, auxiliary: c.auxiliary, seed: SEED });
}

function settings(c: Case, mode: 'train' | 'eval') {
  return { channels: c.channels, layers: c.layers, classes: c.classes, inputSize: c.side, auxiliary: c.auxiliary, batch: c.batch, mode, dropPath: c.dropPath > 0, denseKernels: c.denseKernels ?? 'tiled' };
}

/** One training forward/backward on cpu: logits, loss (main + 0.4 aux), gradients by name, running statistics after. */
function cpuStep(net: Network, c: Case, step: number) {
  const { x, labels } = inputs(c, step);
  const xt = tf.tensor4d(x, [c.batch, c.side, c.side, 3]);
  const yt = tf.tensor1d(labels, 'int32');
  const random = mulberry32(1000 + step);
  let logits: Float32Array | undefined;
  const { value, grads } = namedGrads(() => {
    const out = net.forward(xt, { training: true, dropPathProb: c.dropPath, random });
    logits = out.logits.dataSync().slice() as Float32Array;
    const main = crossEntropy(out.logits, yt);
    return out.auxLogits === undefined ? main : (tf.add(main, tf.mul(crossEntropy(out.auxLogits, yt), 0.4)) as tf.Scalar);
  }, net.params);
  const loss = value.dataSync()[0]!;
  const g = new Map([...grads].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
  tf.dispose([xt, yt, value, ...grads.values()]);
  return { logits: logits!, loss, grads: g };
}

async function conformOneStep(c: Case, t: { diagnostic(m: string): void }): Promise<void> {
  const net = network(c);
  const init = layoutOf(net);
  const engine = await GpuPlanEngine.create(opened!.device, c.genotype, settings(c, 'train'), init);
  try {
    const { x, labels } = inputs(c, 0);
    const masks = c.dropPath > 0 ? drawMasks(engine.maskCount, c.batch, c.dropPath, mulberry32(1000)) : undefined;
    // lr 0: the step computes gradients (and running statistics) and leaves the weights as they were.
    engine.step({ images: x, labels, lr: 0, ...(masks === undefined ? {} : { masks }) });
    const ref = cpuStep(net, c, 0);
    const m = await engine.readMetrics();
    const logits = await engine.readLogits();
    const logitErr = relativeMaxError(ref.logits, logits);
    const loss = m.loss + 0.4 * m.auxLoss;
    t.diagnostic(`${engine.figures.dispatchesPerStep} dispatches; logits rel. err ${logitErr.toExponential(2)}; loss ${loss} vs ${ref.loss}`);
    assert.ok(logitErr < 1e-4, `training logits: relative error ${logitErr}`);
    assert.ok(Math.abs(loss - ref.loss) < 1e-5 * Math.max(1, Math.abs(ref.loss)), `loss ${loss} vs ${ref.loss}`);
    const grads = await engine.readGrads();
    let worst = 0;
    let worstName = '';
    const bad: string[] = [];
    for (const [name, slot] of init.layout.params) {
      const mine = grads.subarray(slot.offset, slot.offset + slot.size);
      const theirs = ref.grads.get(name)!;
      const err = relativeL2(theirs, mine);
      if (err > worst) [worst, worstName] = [err, name];
      if (!(err < 1e-3)) bad.push(`${name}: ${err.toExponential(2)}`);
    }
    t.diagnostic(`${init.layout.params.size} gradients; worst relative L2 ${worst.toExponential(2)} (${worstName})`);
    assert.deepEqual(bad, [], 'gradients beyond 1e-3 relative L2');
    const buffers = await engine.readBuffers();
    const running = new Float32Array(init.layout.bufferCount);
    for (const [name, slot] of init.layout.buffers) running.set(net.buffers.get(name)!.dataSync() as Float32Array, slot.offset);
    const runErr = relativeMaxError(running, buffers);
    assert.ok(runErr < 1e-4, `running statistics: relative error ${runErr}`);
  } finally {
    engine.destroy();
    net.dispose();
  }
}

const EVERY_OP: Case = { genotype: ALL_OPS, channels: 4, layers: 3, batch: 2, side: 16, classes: 5, auxiliary: false, dropPath: 0 };

test('every operation, reduction cells: training logits, loss, all gradients and running statistics equal the cpu network', async (t) => {
  if (!need(t)) return;
  await conformOneStep(EVERY_OP, t);
});

test('every operation with drop path (the same masks): logits, loss and gradients equal the cpu network', async (t) => {
  if (!need(t)) return;
  await conformOneStep({ ...EVERY_OP, dropPath: 0.3, batch: 4, side: 8 }, t);
});

test('every operation, 5 cells (normal cells after reductions: FactorizedReduce preprocessing), batch 2, 8×8: the same', async (t) => {
  if (!need(t)) return;
  await conformOneStep({ ...EVERY_OP, channels: 2, layers: 5, side: 8, dropPath: 0.2 }, t);
});

test('every operation with the direct dense kernels (one thread per output) instead of the tiled ones: the same', async (t) => {
  if (!need(t)) return;
  await conformOneStep({ ...EVERY_OP, dropPath: 0.3, batch: 4, side: 8, denseKernels: 'direct' }, t);
});

test('auxiliary head (32×32 inputs) on DARTS_V2: loss 1·main + 0.4·aux and all gradients equal the cpu network', async (t) => {
  if (!need(t)) return;
  await conformOneStep({ genotype: builtin('DARTS_V2')!.genotype, channels: 2, layers: 3, batch: 2, side: 32, classes: 4, auxiliary: true, dropPath: 0.2 }, t);
});

test('eval mode: logits with the running statistics, loss and accuracy (accumulated on the GPU) equal the cpu network’s', async (t) => {
  if (!need(t)) return;
  const c = EVERY_OP;
  const net = network(c);
  // Move the running statistics off their initial values first.
  cpuStep(net, c, 5);
  const init = layoutOf(net);
  const engine = await GpuPlanEngine.create(opened!.device, c.genotype, settings(c, 'eval'), init);
  try {
    const { x, labels } = inputs(c, 1);
    engine.step({ images: x, labels });
    const logits = await engine.readLogits();
    const metrics = await engine.readMetrics();
    const { ref, loss, correct } = tf.tidy(() => {
      const l = net.forward(tf.tensor4d(x, [c.batch, c.side, c.side, 3]), { training: false }).logits;
      const predicted = tf.argMax(l, -1).dataSync();
      return {
        ref: l.dataSync().slice() as Float32Array,
        loss: crossEntropy(l, tf.tensor1d(labels, 'int32')).dataSync()[0]!,
        correct: Array.from(predicted).filter((p, i) => p === labels[i]).length,
      };
    });
    const err = relativeMaxError(ref, logits);
    t.diagnostic(`eval logits relative error ${err.toExponential(2)}; loss ${metrics.loss} vs ${loss}`);
    assert.ok(err < 1e-4, `eval logits: ${err}`);
    // Evaluation accumulates on the GPU too: loss, accuracy, samples and batches.
    assert.ok(Math.abs(metrics.loss - loss) < 1e-5 * Math.max(1, loss), `eval loss ${metrics.loss} vs ${loss}`);
    assert.equal(metrics.correct, correct);
    assert.equal(metrics.samples, c.batch);
    assert.equal(metrics.batches, 1);
  } finally {
    engine.destroy();
    net.dispose();
  }
});

test('a few SGD steps (clip 5, weight decay, momentum, drop path): losses within 1e-3 relative of the cpu run; metrics accumulate on the GPU', async (t) => {
  if (!need(t)) return;
  const c: Case = { ...EVERY_OP, genotype: builtin('DARTS_V2')!.genotype, dropPath: 0.2, batch: 4, side: 8 };
  const steps = 4;
  const lr = 0.05;
  const net = network(c);
  const init = layoutOf(net);
  const engine = await GpuPlanEngine.create(opened!.device, c.genotype, settings(c, 'train'), init);
  const opt = new SgdMomentum(net.params, { momentum: 0.9, weightDecay: 3e-4 });
  try {
    const mine: number[] = [];
    const theirs: number[] = [];
    let norms = 0;
    for (let s = 0; s < steps; s++) {
      const { x, labels } = inputs(c, s);
      engine.step({ images: x, labels, lr, masks: drawMasks(engine.maskCount, c.batch, c.dropPath, mulberry32(1000 + s)) });
      const m = await engine.readMetrics();
      mine.push(m.loss);
      norms += m.steps;
      const ref = cpuStep(net, c, s);
      theirs.push(ref.loss);
      let sq = 0;
      for (const g of ref.grads.values()) for (const v of g) sq += v * v;
      const coefficient = Math.min(1, 5 / (Math.sqrt(sq) + 1e-6));
      const grads = new Map([...ref.grads].map(([k, v]) => [k, tf.tensor(v.map((g) => g * coefficient), net.params.get(k)!.shape)]));
      opt.step(grads, lr);
      tf.dispose([...grads.values()]);
    }
    t.diagnostic(`losses: gpu ${mine.map((v) => v.toFixed(6)).join(', ')}; cpu ${theirs.map((v) => v.toFixed(6)).join(', ')}`);
    for (let s = 0; s < steps; s++) assert.ok(Math.abs(mine[s]! - theirs[s]!) < 1e-3 * Math.abs(theirs[s]!), `step ${s}: ${mine[s]} vs ${theirs[s]}`);
    assert.equal(norms, steps);
  } finally {
    opt.dispose();
    engine.destroy();
    net.dispose();
  }
});

test('bad input: out of memory at plan time names the bytes and a batch that fits; no adapter; a lost device', async (t) => {
  if (!need(t)) return;
  const genotype = builtin('DARTS_V2')!.genotype;
  const big = { channels: 36, layers: 20, classes: 10, inputSize: 32, auxiliary: false };
  const init = await initialState(genotype, big, 0);
  const limit = opened!.device.limits.maxStorageBufferBindingSize * opened!.device.limits.maxStorageBuffersPerShaderStage;
  if (limit < 5.2 * 2 ** 30) {
    await assert.rejects(GpuPlanEngine.create(opened!.device, genotype, { ...big, batch: 96, mode: 'train', dropPath: false }, init), (error: unknown) => {
      assert.ok(error instanceof GpuPlanError && error.kind === 'out-of-memory', String(error));
      assert.match(error.message, /need \d.*GiB.*batch 96 does not fit, try batch \d+/);
      t.diagnostic(error.message);
      return true;
    });
  }
  await assert.rejects(openPlanDevice({ name: 'no-such-adapter-anywhere' }), (error: unknown) => error instanceof GpuPlanError && error.kind === 'no-adapter' && /no WebGPU adapter/.test(error.message));

  const other = await openPlanDevice({ allowSoftware: true });
  const c = { ...EVERY_OP, genotype, side: 8 };
  const net = network(c);
  const engine = await GpuPlanEngine.create(other.device, genotype, settings(c, 'train'), layoutOf(net));
  net.dispose();
  (other.device as unknown as { destroy(): void }).destroy();
  await other.device.lost;
  const { x, labels } = inputs(c, 0);
  assert.throws(() => engine.step({ images: x, labels, lr: 0 }), (error: unknown) => error instanceof GpuPlanError && error.kind === 'lost' && /was lost/.test(error.message));
});

test('checkpoint primitives: parameters, momentum and running statistics read back and written into a new engine continue the run bit for bit', async (t) => {
  if (!need(t)) return;
  const c: Case = { ...EVERY_OP, genotype: builtin('DARTS_V2')!.genotype, dropPath: 0.2, batch: 2, side: 8 };
  const net = network(c);
  const init = layoutOf(net);
  net.dispose();
  const run = (engine: GpuPlanEngine, s: number) => {
    const { x, labels } = inputs(c, s);
    engine.step({ images: x, labels, lr: 0.05, masks: drawMasks(engine.maskCount, c.batch, c.dropPath, mulberry32(1000 + s)) });
  };
  const a = await GpuPlanEngine.create(opened!.device, c.genotype, settings(c, 'train'), init);
  const b = await GpuPlanEngine.create(opened!.device, c.genotype, settings(c, 'train'), init);
  try {
    run(a, 0);
    run(a, 1);
    await a.readMetrics();
    // The checkpoint: what a trainer would write and read back.
    const [params, momentum, buffers] = await Promise.all([a.readParams(), a.readMomentum(), a.readBuffers()]);
    b.writeParams(params, momentum, buffers);
    run(a, 2);
    run(b, 2);
    const [ma, mb] = await Promise.all([a.readMetrics(), b.readMetrics()]);
    assert.equal(mb.loss, ma.loss);
    assert.deepEqual(await b.readParams(), await a.readParams());
    assert.deepEqual(await b.readMomentum(), await a.readMomentum());
    assert.deepEqual(await b.readBuffers(), await a.readBuffers());
  } finally {
    a.destroy();
    b.destroy();
  }
});

test('augmentation on the GPU (crop with padding 4, flip, normalise, cutout 16) writes exactly what data/augment.ts writes', async (t) => {
  if (!need(t)) return;
  const side = 32;
  const batch = 4;
  const c: Case = { ...EVERY_OP, genotype: builtin('DARTS_V2')!.genotype, batch, side, channels: 2 };
  const net = network(c);
  const init = layoutOf(net);
  net.dispose();
  const mean = [0.4914, 0.4822, 0.4465];
  const std = [0.247, 0.2435, 0.2616];
  const engine = await GpuPlanEngine.create(opened!.device, c.genotype, { ...settings(c, 'eval'), augmentation: { mean, std, cutout: 16 } }, init);
  try {
    const random = mulberry32(9);
    const bytes = Uint8Array.from({ length: batch * side * side * 3 }, () => Math.floor(random() * 256));
    // Corners of the parameter space: both crop extremes, flip, cutout centres at and beyond the borders.
    const params: AugmentParams[] = [
      { top: 0, left: 8, flip: true, cutoutY: 0, cutoutX: 31 },
      { top: 8, left: 0, flip: false, cutoutY: 31, cutoutX: 0 },
      { top: 4, left: 4, flip: true, cutoutY: 16, cutoutX: 16 },
      { top: 3, left: 6, flip: false, cutoutY: 5, cutoutX: 27 },
    ];
    engine.step({ raw: { bytes, params }, labels: Int32Array.from([0, 1, 2, 3]) });
    const gpu = await engine.readInput();
    const cpu = new Float32Array(batch * side * side * 3);
    const table = normalisationTable(mean, std, 3);
    const pixels = side * side * 3;
    params.forEach((p, k) => writeAugmented(bytes, k * pixels, side, side, 3, table, p, 16, cpu, k * pixels));
    assert.deepEqual(gpu, cpu);
  } finally {
    engine.destroy();
  }
});

test('metrics read while steps are queued: no step is lost or counted twice', async (t) => {
  if (!need(t)) return;
  const c: Case = { ...EVERY_OP, genotype: builtin('DARTS_V2')!.genotype, batch: 2, side: 8 };
  const net = network(c);
  const engine = await GpuPlanEngine.create(opened!.device, c.genotype, settings(c, 'train'), layoutOf(net));
  net.dispose();
  try {
    const { x, labels } = inputs(c, 0);
    let steps = 0;
    let samples = 0;
    for (let round = 0; round < 3; round++) {
      engine.step({ images: x, labels, lr: 0 });
      // Read without waiting, then queue more steps before the read resolves.
      const pending = engine.readMetrics();
      engine.step({ images: x, labels, lr: 0 });
      engine.step({ images: x, labels, lr: 0 });
      const m = await pending;
      steps += m.steps;
      samples += m.samples;
    }
    const rest = await engine.readMetrics();
    assert.equal(steps + rest.steps, 9);
    assert.equal(samples + rest.samples, 9 * c.batch);
  } finally {
    engine.destroy();
  }
});
