/**
 * Backend names since the compiled plan engine took `webgpu`: TensorFlow.js's
 * WebGPU backend is `tfjs-webgpu`; run.json files recorded before (backend
 * `webgpu` with TensorFlow.js's package) still validate and read as
 * `tfjs-webgpu`, and runs of the engine record its plan's figures.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runRecordProblem } from '../../src/shared/runTypes.js';
import { BACKEND_NAMES, tensorflowBackendFor, trainedBackend, type BackendRecord } from '../../src/shared/backendTypes.js';
import { runRecordFixture } from './run-fixtures.js';

const ADAPTER = {
  index: 0, backend: 'vulkan', name: 'llvmpipe (LLVM 15.0.6, 256 bits)', vendor: 'mesa', architecture: 'software', device: 'llvmpipe',
  description: 'llvmpipe', kind: 'software' as const, maxBufferSize: 2 ** 31, maxStorageBufferBindingSize: 2 ** 31,
};

test('webgpu and tfjs-webgpu are both backend names', () => {
  assert.ok(BACKEND_NAMES.includes('webgpu'));
  assert.ok(BACKEND_NAMES.includes('tfjs-webgpu'));
});

test("an old run.json whose backend is TensorFlow.js's webgpu still validates, and reads (and resumes) as tfjs-webgpu", () => {
  const old: BackendRecord = { backend: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', device: 'cpu', adapter: ADAPTER, skipped: [] };
  assert.equal(runRecordProblem(runRecordFixture('20250131-142501-g-aaaa', { backend: old })), undefined);
  assert.equal(trainedBackend(old), 'tfjs-webgpu');
  assert.equal(tensorflowBackendFor(old), 'tfjs-webgpu');
});

test("the engine's record names the engine and the adapter, with the plan's figures; its probes run on wasm", () => {
  const engine: BackendRecord = {
    backend: 'webgpu', package: 'cellscope-gpuplan', device: 'cpu', adapter: ADAPTER, skipped: [],
    plan: { dispatchesPerStep: 412, planBytes: 1_234_567, encodeMsPerStep: 0.8 },
  };
  assert.equal(runRecordProblem(runRecordFixture('20250131-142501-g-aaaa', { backend: engine })), undefined);
  assert.equal(trainedBackend(engine), 'webgpu');
  assert.equal(tensorflowBackendFor(engine), 'wasm');
  const bad = { ...engine, plan: { dispatchesPerStep: 'many', planBytes: 1, encodeMsPerStep: 1 } } as unknown as BackendRecord;
  assert.match(String(runRecordProblem(runRecordFixture('20250131-142501-g-aaaa', { backend: bad }))), /dispatchesPerStep/);
  const tfjs: BackendRecord = { backend: 'tfjs-webgpu', package: '@tensorflow/tfjs-backend-webgpu', device: 'gpu', adapter: ADAPTER, skipped: [] };
  assert.equal(runRecordProblem(runRecordFixture('20250131-142501-g-aaaa', { backend: tfjs })), undefined);
  assert.equal(trainedBackend(tfjs), 'tfjs-webgpu');
});
