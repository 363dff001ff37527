/**
 * The network on the WebGPU backend (Dawn; lavapipe on machines without a
 * GPU, see scripts/setup-lavapipe.sh) against the cpu reference, as
 * train-network.test.ts checks wasm: every operation of the library forward
 * and backward, tensors and GPU memory stable across epochs of a hand-written
 * training step (with the buffer pool released or bounded), and the errors a
 * user meets (a tensor that does not fit, dataSync). The real training loop
 * on webgpu against wasm is webgpu-train.test.ts. Skipped, saying why, where
 * Dawn finds no adapter.
 *
 * Reads go through `await data()`: dataSync() cannot work on this backend in
 * Node. Shapes are tiny because lavapipe runs the shaders on the CPU.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { builtin } from '../../src/genotype/library.js';
import type { BackendRecord } from '../../src/train/backend.js';
import { buildNetwork, type Network } from '../../src/train/network/network.js';
import { crossEntropy, SgdMomentum } from '../../src/train/optim.js';
import { loadDawn } from '../../src/train/webgpu/dawn.js';
import { registerWebGpuBackend, releasePooledBuffers, WebGpuDeviceError, webgpuMemory } from '../../src/train/webgpu/device.js';
import { assertEveryOpMatchesCpu, onBackend, relativeMaxError, seeded, tf, tryWebGpu } from './train-helpers.js';

let webgpu: BackendRecord | undefined;
let unavailable: string | undefined;

before(async () => {
  ({ record: webgpu, unavailable } = await tryWebGpu());
});

/** Skips the test when there is no adapter; else activates webgpu. */
async function needWebGpu(t: { skip(message: string): void }): Promise<boolean> {
  if (webgpu === undefined) {
    t.skip(unavailable ?? 'no WebGPU backend');
    return false;
  }
  await tf.setBackend('webgpu');
  return true;
}

test('the selection records the adapter: vendor, architecture, device, hardware or software', async (t) => {
  if (!(await needWebGpu(t))) return;
  const a = webgpu!.adapter!;
  assert.equal(webgpu!.backend, 'tfjs-webgpu');
  assert.equal(webgpu!.package, '@tensorflow/tfjs-backend-webgpu');
  assert.equal(webgpu!.device, a.kind === 'hardware' ? 'gpu' : 'cpu');
  assert.ok(typeof a.vendor === 'string' && typeof a.architecture === 'string' && typeof a.device === 'string');
  t.diagnostic(`${a.name}: vendor ${a.vendor}, architecture ${a.architecture}, ${a.kind}`);
});

test('every operation: eval logits, loss and all gradients on webgpu equal the cpu reference; no tensor leaks', async (t) => {
  if (!(await needWebGpu(t))) return;
  await assertEveryOpMatchesCpu('webgpu');
});

test('AddN over more inputs than a shader may bind (one per parameter in clip_grad_norm_) equals cpu', async (t) => {
  if (!(await needWebGpu(t))) return;
  for (const count of [2, 7, 8, 16, 17, 69, 300]) {
    const make = () => [tf.addN(Array.from({ length: count }, (_, i) => tf.tensor2d(seeded(6, 50 + i), [2, 3])))];
    const [cpu] = await onBackend('cpu', make);
    const before = tf.memory().numTensors;
    const [gpu] = await onBackend('webgpu', make);
    assert.equal(tf.memory().numTensors, before, `${count} inputs: tensors left behind`);
    assert.ok(relativeMaxError(cpu!.values, gpu!.values) < 1e-5, `${count} inputs`);
  }
});

/**
 * One DARTS training step (cross-entropy, PyTorch's clip_grad_norm_ at 5,
 * SGD with momentum and weight decay) that reads only the loss, with
 * `await data()`. The clip coefficient stays on the device:
 * min(1, max/(‖g‖+1e-6)), which is what PyTorch multiplies by.
 */
async function trainStep(net: Network, opt: SgdMomentum, x: tf.Tensor4D, y: tf.Tensor1D, lr: number): Promise<number> {
  const vars = [...net.params.values()];
  const nameOf = new Map([...net.params].map(([name, v]) => [v.name, name]));
  const loss = tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => crossEntropy(net.forward(x, { training: true }).logits, y), vars);
    const list = Object.entries(grads);
    const norm = tf.sqrt(tf.addN(list.map(([, g]) => tf.sum(tf.square(g)))));
    const coefficient = tf.minimum(tf.div(5, tf.add(norm, 1e-6)), 1);
    opt.step(new Map(list.map(([v, g]) => [nameOf.get(v)!, tf.mul(g, coefficient)])), lr);
    return value;
  });
  const value = (await loss.data())[0]!;
  loss.dispose();
  return value;
}

/** Losses of `steps` steps on `backend`, and the tensor count and GPU bytes after each epoch. */
async function train(backend: string, epochs: number, stepsPerEpoch: number, after?: (epoch: number) => void) {
  await tf.setBackend(backend);
  const genotype = builtin('DARTS_V2')!.genotype;
  const net = buildNetwork(genotype, { channels: 4, layers: 3, classes: 10, seed: 7 });
  const opt = new SgdMomentum(net.params, { momentum: 0.9, weightDecay: 3e-4 });
  const batch = 4;
  const side = 8;
  const losses: number[] = [];
  const tensors: number[] = [];
  const bytes: Array<number | undefined> = [];
  for (let e = 0; e < epochs; e++) {
    for (let s = 0; s < stepsPerEpoch; s++) {
      const k = e * stepsPerEpoch + s;
      const x = tf.tensor4d(seeded(batch * side * side * 3, 100 + k, -2, 2), [batch, side, side, 3]);
      const y = tf.tensor1d(Array.from({ length: batch }, (_, i) => (i * 3 + k) % 10), 'int32');
      losses.push(await trainStep(net, opt, x, y, 0.1));
      tf.dispose([x, y]);
    }
    tensors.push(tf.memory().numTensors);
    bytes.push(webgpuMemory()?.inUse);
    after?.(e);
  }
  opt.dispose();
  net.dispose();
  return { losses, tensors, bytes };
}

test('no tensor or GPU buffer leaks across epochs; freeing the buffer pool keeps training correct', async (t) => {
  if (!(await needWebGpu(t))) return;
  const before = tf.memory().numTensors;
  let freed = 0;
  const run = await train('webgpu', 3, 2, (e) => {
    if (e === 1) freed = releasePooledBuffers();
  });
  assert.equal(run.tensors[1], run.tensors[0], `tensors after epochs: ${run.tensors.join(', ')}`);
  assert.equal(run.tensors[2], run.tensors[0], `tensors after epochs: ${run.tensors.join(', ')}`);
  assert.equal(run.bytes[1], run.bytes[0], `GPU bytes in use after epochs: ${run.bytes.join(', ')}`);
  assert.equal(run.bytes[2], run.bytes[0], `GPU bytes in use after epochs: ${run.bytes.join(', ')}`);
  assert.ok(freed > 0, 'the pool held freed buffers');
  assert.equal(tf.memory().numTensors, before, 'the network, optimiser and data are all released');
  // Same seeds, no pool release: the same losses (the release changed nothing computed).
  const again = await train('webgpu', 3, 2);
  assert.deepEqual(again.losses, run.losses);
});

test('a tensor larger than the adapter allows fails the next read with an error that says to lower the batch; the backend recovers', async (t) => {
  if (!(await needWebGpu(t))) return;
  const limit = webgpu!.adapter!.maxStorageBufferBindingSize;
  if (limit > 2 ** 28) {
    t.skip(`this adapter binds ${limit} bytes; a tensor beyond that is too large for a unit test`);
    return;
  }
  const n = Math.floor(limit / 4) + 1024;
  const big = tf.fill([n], 1);
  const doubled = tf.mul(big, 2);
  const total = tf.sum(doubled);
  await assert.rejects(total.data(), (error: unknown) => {
    assert.ok(error instanceof WebGpuDeviceError, String(error));
    assert.equal(error.kind, 'out-of-memory');
    assert.match(error.message, /the batch does not fit on .*maximum storage buffer binding size.*Lower the batch size/);
    return true;
  });
  tf.dispose([big, doubled, total]);
  releasePooledBuffers();
  const small = tf.sum(tf.square(tf.tensor1d([1, 2, 3])));
  assert.deepEqual(Array.from(await small.data()), [14]);
  small.dispose();
});

test('dataSync on webgpu throws an error that names the fix', async (t) => {
  if (!(await needWebGpu(t))) return;
  const x = tf.square(tf.tensor1d(seeded(4096, 1)));
  assert.throws(() => x.dataSync(), /cannot read from the webgpu backend in Node.*await tensor\.data\(\)/);
  assert.equal((await x.data()).length, 4096);
  x.dispose();
});

test('the buffer pool is trimmed at reads past its limit, and training computes the same', async (t) => {
  if (!(await needWebGpu(t))) return;
  const unbounded = await train('webgpu', 1, 3);
  // Re-open the adapter with no pool at all: every read frees what was pooled.
  await registerWebGpuBackend(await loadDawn(), webgpu!.adapter!, { poolLimitBytes: 0 });
  await tf.setBackend('webgpu');
  const pooledAfterReads: number[] = [];
  const bounded = await train('webgpu', 1, 3, () => pooledAfterReads.push(webgpuMemory()!.pooled));
  assert.deepEqual(bounded.losses, unbounded.losses);
  // Tensors disposed after a read go to the pool until the next read trims it.
  const x = tf.square(tf.tensor1d(seeded(1024, 2)));
  await x.data();
  assert.equal(webgpuMemory()!.pooled, 0, 'nothing pooled right after a read');
  x.dispose();
  t.diagnostic(`pooled bytes after the epoch: ${pooledAfterReads.join(', ')}; unbounded run: ${unbounded.bytes.join(', ')} in use`);
});
