/**
 * Backend selection (src/train/backend.ts): the choice logic with injected
 * loaders (the native packages cannot install here), and the real loaders for
 * the engines that are installed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { ADAPTERS_SCHEMA, type GpuAdapter } from '../../src/shared/adapters.js';
import {
  BackendUnavailableError,
  findAdapter,
  parseNvidiaSmi,
  selectBackend,
  selectTensorflowBackend,
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
  /** WebGPU adapters Dawn reports; absent: the `webgpu` package is not installed. */
  adapters?: GpuAdapter[];
  /** Adapters (by name) whose device fails to open. */
  brokenAdapters?: string[];
}

function adapter(index: number, name: string, kind: 'hardware' | 'software', vendor = 'nvidia'): GpuAdapter {
  return {
    index, backend: 'vulkan', name, vendor, architecture: kind === 'software' ? 'software' : 'hopper', device: name.toLowerCase(),
    description: name, kind, maxBufferSize: 2 ** 32 - 1, maxStorageBufferBindingSize: 2 ** 31,
  };
}
const H100 = adapter(0, 'NVIDIA H100 80GB HBM3', 'hardware');
const RADEON = adapter(1, 'AMD Radeon RX 7900 XTX (RADV NAVI31)', 'hardware', 'amd');
const LAVAPIPE = adapter(2, 'llvmpipe (LLVM 15.0.6, 256 bits)', 'software', 'mesa');

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
    listWebGpuAdapters: async () => {
      calls.push('adapters');
      return world.adapters === undefined
        ? { schema: ADAPTERS_SCHEMA, dawn: false, adapters: [], problems: ["the optional package 'webgpu' (Dawn) is not loadable"], platform: 'linux-x64' }
        : { schema: ADAPTERS_SCHEMA, dawn: true, adapters: world.adapters, problems: [], platform: 'linux-x64' };
    },
    loadWebGpu: async (a) => {
      calls.push(`load:webgpu:${a.name}`);
      if ((world.brokenAdapters ?? []).includes(a.name)) throw new Error('requestDevice failed\nstack');
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
  assert.deepEqual(record, { backend: 'tensorflow', package: '@tensorflow/tfjs-node-gpu', device: 'gpu', gpu: TWO_GPUS[1], skipped: ["no WebGPU adapter: the optional package 'webgpu' (Dawn) is not loadable"] });
  assert.deepEqual(envAtGpuLoad, [{ grow: 'true', visible: '1' }]);
  assert.deepEqual(calls, ['adapters', 'list', 'load:node-gpu', 'activate:tensorflow']);
});

test('the first GPU is the default, and a user setting of TF_FORCE_GPU_ALLOW_GROWTH is kept', async () => {
  const env: NodeJS.ProcessEnv = { TF_FORCE_GPU_ALLOW_GROWTH: 'false' };
  const { loaders, envAtGpuLoad } = fakeLoaders({ devices: TWO_GPUS, gpuPackage: true, tfSeesGpu: true }, env);
  const record = await selectBackend('tensorflow', { loaders, env });
  assert.equal(record.gpu?.index, 0);
  assert.deepEqual(envAtGpuLoad, [{ grow: 'false', visible: '0' }]);
});

test('a device the launcher already made visible (a GPU slot of the editor queue) is kept, not replaced by the first', async () => {
  const env: NodeJS.ProcessEnv = { CUDA_VISIBLE_DEVICES: '1' };
  const { loaders, envAtGpuLoad } = fakeLoaders({ devices: TWO_GPUS, gpuPackage: true, tfSeesGpu: true }, env);
  const record = await selectBackend('tensorflow', { loaders, env });
  assert.deepEqual(record.gpu, TWO_GPUS[1]);
  assert.deepEqual(envAtGpuLoad, [{ grow: 'true', visible: '1' }]);
});

test('without a CUDA device, tfjs-node comes first and the GPU package is not loaded', async () => {
  const env: NodeJS.ProcessEnv = {};
  const { loaders, calls } = fakeLoaders({ devices: [], gpuPackage: true, cpuPackage: true }, env);
  const record = await selectBackend('auto', { loaders, env });
  assert.equal(record.package, '@tensorflow/tfjs-node');
  assert.equal(record.device, 'cpu');
  assert.ok(!calls.includes('load:node-gpu'));
  assert.equal(env.CUDA_VISIBLE_DEVICES, undefined);
  assert.deepEqual(calls, ['adapters', 'list', 'load:node', 'activate:tensorflow']);
  assert.equal(record.skipped.length, 2);
  assert.equal(record.skipped[1], 'no CUDA device found');
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
  assert.deepEqual(calls, ['adapters', 'list', 'load:node-gpu', 'load:node', 'load:wasm', 'activate:wasm']);
  assert.equal(record.skipped.length, 3);
  assert.match(record.skipped[0]!, /^no WebGPU adapter: the optional package 'webgpu'/);
  // One line per reason, without the module loader's stack.
  assert.match(record.skipped[1]!, /^@tensorflow\/tfjs-node-gpu not loadable: Cannot find module/);
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
  assert.ok(record.skipped.some((s) => /GPU 5 not found \(devices: 0, 1\)/.test(s)), record.skipped.join('; '));
});

test('auto: a hardware WebGPU adapter selects the plan engine, before TensorFlow on CUDA, recorded with its identity; TensorFlow.js runs beside it on wasm', async () => {
  const env: NodeJS.ProcessEnv = {};
  const { loaders, calls } = fakeLoaders({ devices: TWO_GPUS, gpuPackage: true, tfSeesGpu: true, adapters: [H100, LAVAPIPE] }, env);
  const record = await selectBackend('auto', { loaders, env });
  assert.deepEqual(
    { backend: record.backend, package: record.package, device: record.device, adapter: record.adapter },
    { backend: 'webgpu', package: 'cellscope-gpuplan', device: 'gpu', adapter: H100 },
  );
  assert.deepEqual(calls, ['adapters', 'load:wasm', 'activate:wasm']);
  assert.equal(record.skipped.length, 0);
  // Without wasm, cpu beside it.
  const noWasm = fakeLoaders({ adapters: [H100], wasm: false }, env);
  assert.equal((await selectBackend('auto', { loaders: noWasm.loaders, env })).backend, 'webgpu');
  assert.deepEqual(noWasm.calls, ['adapters', 'load:wasm', 'load:cpu', 'activate:cpu']);
});

test('auto on a machine without CUDA (a Mac, an AMD card) trains on its GPU through WebGPU before native TensorFlow on the CPU', async () => {
  const env: NodeJS.ProcessEnv = {};
  const { loaders, calls } = fakeLoaders({ devices: [], cpuPackage: true, adapters: [RADEON, LAVAPIPE] }, env);
  const record = await selectBackend('auto', { loaders, env });
  assert.equal(record.backend, 'webgpu');
  assert.equal(record.adapter?.name, RADEON.name);
  assert.ok(!calls.includes('load:node'), 'native TensorFlow is not loaded when a GPU is usable');
});

test('auto: a hardware WebGPU adapter (the plan engine) comes before TensorFlow on CUDA, which comes before wasm; software adapters are skipped', async () => {
  const env: NodeJS.ProcessEnv = {};
  // Only software adapters and a CUDA device TensorFlow uses: TensorFlow.
  const cuda = fakeLoaders({ devices: TWO_GPUS, gpuPackage: true, tfSeesGpu: true, adapters: [LAVAPIPE] }, env);
  assert.equal((await selectBackend('auto', { loaders: cuda.loaders, env })).backend, 'tensorflow');
  // The hardware adapter, even where Dawn lists a software one first.
  const gpu = fakeLoaders({ devices: [], adapters: [LAVAPIPE, RADEON] }, env);
  const record = await selectBackend('auto', { loaders: gpu.loaders, env });
  assert.deepEqual([record.backend, record.package, record.device, record.adapter?.name], ['webgpu', 'cellscope-gpuplan', 'gpu', RADEON.name]);
  assert.ok(!gpu.calls.some((c) => c.startsWith('load:webgpu')), 'TensorFlow.js WebGPU is not loaded for the engine');
  // Only software adapters: wasm, saying why WebGPU was passed over.
  const soft = fakeLoaders({ devices: [], adapters: [LAVAPIPE] }, env);
  const fallback = await selectBackend('auto', { loaders: soft.loaders, env });
  assert.equal(fallback.backend, 'wasm');
  assert.ok(fallback.skipped.some((s) => /only a software WebGPU adapter .*backend 'webgpu'/.test(s)), fallback.skipped.join('; '));
});

test('auto: a GPU package that runs on the CPU loses to a hardware WebGPU adapter, and is re-activated when there is none', async () => {
  const env: NodeJS.ProcessEnv = {};
  const withGpu = fakeLoaders({ devices: TWO_GPUS, gpuPackage: true, tfSeesGpu: false, adapters: [H100] }, env);
  assert.equal((await selectBackend('auto', { loaders: withGpu.loaders, env })).backend, 'webgpu');
  const without = fakeLoaders({ devices: TWO_GPUS, gpuPackage: true, tfSeesGpu: false, adapters: [LAVAPIPE] }, env);
  const record = await selectBackend('auto', { loaders: without.loaders, env });
  assert.equal(record.backend, 'tensorflow');
  assert.equal(record.device, 'cpu');
  assert.deepEqual(without.calls.slice(-2), ['activate:tensorflow', 'activate:tensorflow']);
  assert.match(record.skipped.join('\n'), /runs on the CPU/);
  assert.match(record.skipped.join('\n'), /only a software WebGPU adapter \(llvmpipe/);
});

test('auto never trains on a software adapter; an explicit webgpu does, recorded as running on the CPU', async () => {
  const env: NodeJS.ProcessEnv = {};
  const auto = fakeLoaders({ adapters: [LAVAPIPE] }, env);
  const record = await selectBackend('auto', { loaders: auto.loaders, env });
  assert.equal(record.backend, 'wasm');
  assert.ok(!auto.calls.some((c) => c.startsWith('load:webgpu')));
  assert.ok(record.skipped.some((s) => s.startsWith('only a software WebGPU adapter')));
  const explicit = fakeLoaders({ adapters: [LAVAPIPE] }, env);
  const soft = await selectBackend('webgpu', { loaders: explicit.loaders, env });
  assert.deepEqual([soft.backend, soft.package, soft.device, soft.adapter?.kind, soft.adapter?.vendor], ['webgpu', 'cellscope-gpuplan', 'cpu', 'software', 'mesa']);
  assert.deepEqual(explicit.calls, ['adapters', 'load:wasm', 'activate:wasm']);
  // TensorFlow.js's WebGPU backend, by its own name.
  const tfjs = fakeLoaders({ adapters: [LAVAPIPE] }, env);
  const viaTfjs = await selectBackend('tfjs-webgpu', { loaders: tfjs.loaders, env });
  assert.deepEqual([viaTfjs.backend, viaTfjs.package, viaTfjs.device], ['tfjs-webgpu', '@tensorflow/tfjs-backend-webgpu', 'cpu']);
  assert.deepEqual(tfjs.calls, ['adapters', `load:webgpu:${LAVAPIPE.name}`, 'activate:webgpu']);
});

test('the adapter is chosen by index or by part of its name, from the option or CELLSCOPE_WEBGPU_ADAPTER', async () => {
  const all = [H100, RADEON, LAVAPIPE];
  const pick = async (adapterOption: string | undefined, env: NodeJS.ProcessEnv) => {
    const { loaders } = fakeLoaders({ adapters: all }, env);
    return (await selectBackend('webgpu', { loaders, env, ...(adapterOption === undefined ? {} : { adapter: adapterOption }) })).adapter?.name;
  };
  assert.equal(await pick(undefined, {}), H100.name);
  assert.equal(await pick('1', {}), RADEON.name);
  assert.equal(await pick('radeon', {}), RADEON.name);
  assert.equal(await pick(undefined, { CELLSCOPE_WEBGPU_ADAPTER: 'LLVMPIPE' }), LAVAPIPE.name);
  // The option wins over the environment.
  assert.equal(await pick('0', { CELLSCOPE_WEBGPU_ADAPTER: '2' }), H100.name);
  // auto never trains on a software adapter, even a named one: that takes backend 'webgpu'.
  const { loaders } = fakeLoaders({ adapters: all }, {});
  assert.equal((await selectBackend('auto', { loaders, env: {}, adapter: 'llvmpipe' })).backend, 'wasm');
  await assert.rejects(pick('intel', {}), (error: unknown) => {
    assert.ok(error instanceof BackendUnavailableError);
    assert.match(error.message, /adapter 'intel' not found \(adapters: 0: NVIDIA H100 80GB HBM3, 1: AMD Radeon/);
    return true;
  });
});

test('an explicit webgpu or tfjs-webgpu without Dawn, or tfjs-webgpu on an adapter whose device fails, throws saying why and how to install', async () => {
  const env: NodeJS.ProcessEnv = {};
  const missing = fakeLoaders({}, env);
  await assert.rejects(selectBackend('webgpu', { loaders: missing.loaders, env }), (error: unknown) => {
    assert.ok(error instanceof BackendUnavailableError);
    assert.match(error.message, /install the optional package 'webgpu'/);
    assert.match(error.message, /not loadable/);
    return true;
  });
  assert.ok(!missing.calls.some((c) => c.includes('wasm') || c.includes('cpu')));
  await assert.rejects(selectBackend('tfjs-webgpu', { loaders: fakeLoaders({}, env).loaders, env }), /backend 'tfjs-webgpu' is not usable \(install the optional package 'webgpu'/);
  const broken = fakeLoaders({ adapters: [H100], brokenAdapters: [H100.name] }, env);
  await assert.rejects(selectBackend('tfjs-webgpu', { loaders: broken.loaders, env }), /WebGPU adapter NVIDIA H100 80GB HBM3 not usable: requestDevice failed(;|$)/);
  const inactive = fakeLoaders({ adapters: [H100], brokenActivation: ['webgpu'] }, env);
  await assert.rejects(selectBackend('tfjs-webgpu', { loaders: inactive.loaders, env }), /failed to initialise on NVIDIA H100/);
});

test('findAdapter: digits are an index, anything else a case-insensitive part of name, description, device or vendor', () => {
  const all = [H100, RADEON, LAVAPIPE];
  assert.equal(findAdapter(all, ' 2 ')?.name, LAVAPIPE.name);
  assert.equal(findAdapter(all, '7'), undefined);
  assert.equal(findAdapter(all, 'amd')?.name, RADEON.name);
  assert.equal(findAdapter(all, 'H100')?.index, 0);
  assert.equal(findAdapter(all, 'mesa')?.name, LAVAPIPE.name);
  assert.equal(findAdapter(all, 'apple'), undefined);
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

test('jobs outside training (landscape, Hessian) never get the plan engine: webgpu means tfjs-webgpu there, and an auto that picks the engine gives the TensorFlow.js backend beside it', async () => {
  const env: NodeJS.ProcessEnv = {};
  const explicit = fakeLoaders({ adapters: [H100] }, env);
  const gpu = await selectTensorflowBackend('webgpu', { loaders: explicit.loaders, env });
  assert.deepEqual([gpu.backend, gpu.package], ['tfjs-webgpu', '@tensorflow/tfjs-backend-webgpu']);
  assert.deepEqual(explicit.calls, ['adapters', `load:webgpu:${H100.name}`, 'activate:webgpu']);
  const auto = fakeLoaders({ adapters: [H100] }, env);
  const beside = await selectTensorflowBackend('auto', { loaders: auto.loaders, env });
  assert.ok(beside.backend === 'wasm' || beside.backend === 'cpu', beside.backend);
  assert.equal(beside.device, 'cpu');
  assert.match(beside.skipped.join('; '), /compiled WebGPU engine trains only/);
  const wasm = await selectTensorflowBackend('wasm', { loaders: fakeLoaders({}, env).loaders, env });
  assert.equal(wasm.backend, 'wasm');
});
