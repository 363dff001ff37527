/**
 * Backend selection (src/train/backend.ts): the choice logic with injected
 * loaders (the native packages cannot install here), and the real loaders for
 * the engines that are installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import {
  BackendUnavailableError,
  parseNvidiaSmi,
  selectBackend,
  type BackendLoaders,
  type BackendName,
  type CudaDevice,
} from '../../src/train/backend.js';

interface FakeWorld {
  devices?: CudaDevice[];
  gpuPackage?: boolean;
  cpuPackage?: boolean;
  wasm?: boolean;
  cpu?: boolean;
  /** Whether TensorFlow, once loaded from the GPU package, sees a GPU. */
  tfSeesGpu?: boolean;
  /** Backends whose activation fails although their package loads. */
  brokenActivation?: BackendName[];
}

/** Loaders over a pretend machine, logging every call. */
function fakeLoaders(world: FakeWorld, env: NodeJS.ProcessEnv) {
  const calls: string[] = [];
  const envAtGpuLoad: Array<Record<string, string | undefined>> = [];
  const fail = (what: string) => Promise.reject(new Error(`Cannot find module '${what}'\nRequire stack: ...`));
  const loaders: BackendLoaders = {
    loadTfjsNodeGpu: () => {
      calls.push('load:node-gpu');
      envAtGpuLoad.push({ grow: env.TF_FORCE_GPU_ALLOW_GROWTH, visible: env.CUDA_VISIBLE_DEVICES });
      return world.gpuPackage ? Promise.resolve() : fail('@tensorflow/tfjs-node-gpu');
    },
    loadTfjsNode: () => {
      calls.push('load:node');
      return world.cpuPackage ? Promise.resolve() : fail('@tensorflow/tfjs-node');
    },
    loadWasm: () => {
      calls.push('load:wasm');
      return world.wasm === false ? fail('@tensorflow/tfjs-backend-wasm') : Promise.resolve();
    },
    loadCpu: () => {
      calls.push('load:cpu');
      return world.cpu === false ? fail('@tensorflow/tfjs-backend-cpu') : Promise.resolve();
    },
    listCudaDevices: async () => {
      calls.push('list');
      return world.devices ?? [];
    },
    activate: async (name) => {
      calls.push(`activate:${name}`);
      return !(world.brokenActivation ?? []).includes(name);
    },
    tensorflowUsesGpu: () => world.tfSeesGpu === true,
  };
  return { loaders, calls, envAtGpuLoad };
}

const TWO_GPUS: CudaDevice[] = [
  { index: 0, name: 'NVIDIA A100', memoryMiB: 40960 },
  { index: 1, name: 'NVIDIA A100', memoryMiB: 40960 },
];

test('auto picks tfjs-node-gpu on a usable CUDA device, with allow-growth and the device set before the import', async () => {
  const env: NodeJS.ProcessEnv = {};
  const { loaders, calls, envAtGpuLoad } = fakeLoaders({ devices: TWO_GPUS, gpuPackage: true, cpuPackage: true, tfSeesGpu: true }, env);
  const record = await selectBackend('auto', { loaders, env, gpu: 1 });
  assert.deepEqual(record, { backend: 'tensorflow', package: '@tensorflow/tfjs-node-gpu', device: 'gpu', gpu: TWO_GPUS[1], skipped: [] });
  assert.deepEqual(envAtGpuLoad, [{ grow: 'true', visible: '1' }]);
  assert.deepEqual(calls, ['list', 'load:node-gpu', 'activate:tensorflow']);
});

test('the first GPU is the default, and a user setting of TF_FORCE_GPU_ALLOW_GROWTH is kept', async () => {
  const env: NodeJS.ProcessEnv = { TF_FORCE_GPU_ALLOW_GROWTH: 'false' };
  const { loaders, envAtGpuLoad } = fakeLoaders({ devices: TWO_GPUS, gpuPackage: true, tfSeesGpu: true }, env);
  const record = await selectBackend('tensorflow', { loaders, env });
  assert.equal(record.gpu?.index, 0);
  assert.deepEqual(envAtGpuLoad, [{ grow: 'false', visible: '0' }]);
});

test('without a CUDA device, tfjs-node comes first and the GPU package is not loaded', async () => {
  const env: NodeJS.ProcessEnv = {};
  const { loaders, calls } = fakeLoaders({ devices: [], gpuPackage: true, cpuPackage: true }, env);
  const record = await selectBackend('auto', { loaders, env });
  assert.equal(record.package, '@tensorflow/tfjs-node');
  assert.equal(record.device, 'cpu');
  assert.ok(!calls.includes('load:node-gpu'));
  assert.equal(env.CUDA_VISIBLE_DEVICES, undefined);
  assert.deepEqual(record.skipped, ['no CUDA device found']);
});

test('the GPU package on a machine where TensorFlow finds no GPU is recorded as running on the CPU', async () => {
  const env: NodeJS.ProcessEnv = {};
  const { loaders } = fakeLoaders({ devices: TWO_GPUS.slice(0, 1), gpuPackage: true, tfSeesGpu: false }, env);
  const record = await selectBackend('auto', { loaders, env });
  assert.equal(record.package, '@tensorflow/tfjs-node-gpu');
  assert.equal(record.device, 'cpu');
  assert.equal(record.gpu, undefined);
  assert.match(record.skipped.join('\n'), /runs on the CPU/);
});

test('auto falls back to wasm when neither native package loads, saying why', async () => {
  const env: NodeJS.ProcessEnv = {};
  const { loaders, calls } = fakeLoaders({ devices: TWO_GPUS }, env);
  const record = await selectBackend('auto', { loaders, env });
  assert.equal(record.backend, 'wasm');
  assert.equal(record.package, '@tensorflow/tfjs-backend-wasm');
  assert.deepEqual(calls, ['list', 'load:node-gpu', 'load:node', 'load:wasm', 'activate:wasm']);
  assert.equal(record.skipped.length, 2);
  // One line per reason, without the module loader's stack.
  assert.match(record.skipped[0]!, /^@tensorflow\/tfjs-node-gpu not loadable: Cannot find module/);
  assert.ok(record.skipped.every((s) => !s.includes('\n')));
});

test('auto falls back to cpu when wasm fails to initialise, and to nothing when cpu fails too', async () => {
  const env: NodeJS.ProcessEnv = {};
  const ok = fakeLoaders({ brokenActivation: ['wasm'] }, env);
  assert.equal((await selectBackend('auto', { loaders: ok.loaders, env })).backend, 'cpu');
  const none = fakeLoaders({ brokenActivation: ['wasm'], cpu: false }, env);
  await assert.rejects(selectBackend('auto', { loaders: none.loaders, env }), BackendUnavailableError);
});

test('an explicit choice never falls back: tensorflow without the packages throws with an install hint', async () => {
  const env: NodeJS.ProcessEnv = {};
  const { loaders, calls } = fakeLoaders({}, env);
  await assert.rejects(selectBackend('tensorflow', { loaders, env }), (error: unknown) => {
    assert.ok(error instanceof BackendUnavailableError);
    assert.match(error.message, /install @tensorflow\/tfjs-node/);
    assert.equal(error.skipped.length, 3);
    return true;
  });
  assert.ok(!calls.some((c) => c.includes('wasm') || c.includes('cpu')));
  const broken = fakeLoaders({ brokenActivation: ['wasm'] }, env);
  await assert.rejects(selectBackend('wasm', { loaders: broken.loaders, env }), /wasm/);
});

test('a GPU index that does not exist is reported and the CPU package is tried first', async () => {
  const env: NodeJS.ProcessEnv = {};
  const { loaders } = fakeLoaders({ devices: TWO_GPUS, gpuPackage: true, cpuPackage: true, tfSeesGpu: true }, env);
  const record = await selectBackend('auto', { loaders, env, gpu: 5 });
  assert.equal(record.package, '@tensorflow/tfjs-node');
  assert.match(record.skipped[0]!, /GPU 5 not found \(devices: 0, 1\)/);
});

test('parseNvidiaSmi reads index, name and memory, and ignores noise', () => {
  const out = '0, NVIDIA GeForce RTX 3090, 24576\n1, Tesla V100-SXM2-16GB, 16160\n\nNo devices were found\n';
  assert.deepEqual(parseNvidiaSmi(out), [
    { index: 0, name: 'NVIDIA GeForce RTX 3090', memoryMiB: 24576 },
    { index: 1, name: 'Tesla V100-SXM2-16GB', memoryMiB: 16160 },
  ]);
  assert.deepEqual(parseNvidiaSmi('0, Some GPU, [N/A]'), [{ index: 0, name: 'Some GPU' }]);
  assert.deepEqual(parseNvidiaSmi(''), []);
});

function installed(pkg: string): boolean {
  try {
    require.resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

test('the real loaders activate wasm (with this project\'s kernels) and cpu', async () => {
  const wasm = await selectBackend('wasm');
  assert.equal(wasm.backend, 'wasm');
  assert.equal(tf.getBackend(), 'wasm');
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm') !== undefined);
  const cpu = await selectBackend('cpu');
  assert.equal(cpu.package, '@tensorflow/tfjs-backend-cpu');
  assert.equal(tf.getBackend(), 'cpu');
});

test('the real auto selection takes the fastest installed engine', async (t) => {
  const record = await selectBackend('auto');
  assert.equal(tf.getBackend(), record.backend);
  if (installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu')) {
    t.diagnostic('a native TensorFlow package is installed here');
    assert.equal(record.backend, 'tensorflow');
  } else {
    assert.equal(record.backend, 'wasm');
    assert.ok(record.skipped.some((s) => s.startsWith('@tensorflow/tfjs-node not loadable')));
  }
});
