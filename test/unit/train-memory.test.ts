/**
 * Out-of-memory errors in the engines' own words become one error that names
 * the batch size, the backend and what to change (src/train/memory.ts);
 * anything else passes through untouched. The loop's use of it is checked
 * end to end in webgpu-train.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GpuAdapter } from '../../src/shared/adapters.js';
import type { BackendRecord } from '../../src/shared/backendTypes.js';
import { BatchTooLargeError, batchDoesNotFit, isOutOfMemory } from '../../src/train/memory.js';
import { explainDeviceError, WebGpuDeviceError } from '../../src/train/webgpu/device.js';

const WASM: BackendRecord = { backend: 'wasm', package: '@tensorflow/tfjs-backend-wasm', device: 'cpu', skipped: [] };
const RADEON: GpuAdapter = {
  index: 0, backend: 'vulkan', name: 'AMD Radeon RX 7900 XTX', vendor: 'amd', architecture: 'rdna-3', device: '', description: '',
  kind: 'hardware', maxBufferSize: 2 ** 32, maxStorageBufferBindingSize: 2 ** 31,
};
const WEBGPU: BackendRecord = { backend: 'webgpu', package: '@tensorflow/tfjs-backend-webgpu', device: 'gpu', adapter: RADEON, skipped: [] };

test('each engine\'s out-of-memory is recognised; other failures are not', () => {
  const oom = [
    new WebAssembly.RuntimeError('memory access out of bounds'),
    new Error('Aborted(OOM)'),
    new Error('Cannot enlarge memory arrays to size 4294967296 bytes (OOM)'),
    new Error('OOM when allocating tensor with shape[96,144,32,32] and type float on /job:localhost/replica:0/task:0/device:GPU:0'),
    Object.assign(new Error('failed to allocate'), { name: 'ResourceExhaustedError' }),
    new RangeError('Array buffer allocation failed'),
    explainDeviceError({ message: 'Out of memory.', type: 'GPUOutOfMemoryError' }, RADEON.name),
    explainDeviceError({ message: 'Binding size (268435456) is larger than the maximum binding size (134217728).', type: 'GPUValidationError' }, RADEON.name),
  ];
  for (const error of oom) assert.ok(isOutOfMemory(error), String(error));
  const other = [
    new Error('diverged at epoch 1, step 2 (loss NaN)'),
    new WebGpuDeviceError('WebGPU validation error on X: invalid bind group', 'validation'),
    new WebGpuDeviceError('the WebGPU device X was lost (unknown): gone', 'lost'),
    new TypeError("Cannot read properties of undefined (reading 'shape')"),
  ];
  for (const error of other) assert.ok(!isOutOfMemory(error), String(error));
});

test('an out-of-memory error becomes a BatchTooLargeError naming the batch, the backend (and adapter) and the fix', () => {
  const wasm = batchDoesNotFit(new WebAssembly.RuntimeError('memory access out of bounds'), { batchSize: 96, backend: WASM, phase: 'training' });
  assert.ok(wasm instanceof BatchTooLargeError);
  assert.equal(wasm.batchSize, 96);
  assert.equal(wasm.backend, 'wasm');
  assert.equal(wasm.message, 'a batch of 96 images does not fit in memory on wasm (cpu) during training: memory access out of bounds. Lower the batch size (--batch), or the channels (--channels)');
  assert.ok(wasm.cause instanceof WebAssembly.RuntimeError);

  const dawn = explainDeviceError({ message: 'Out of memory.', type: 'GPUOutOfMemoryError' }, RADEON.name);
  const gpu = batchDoesNotFit(dawn, { batchSize: 256, backend: WEBGPU, phase: 'evaluation' });
  assert.ok(gpu instanceof BatchTooLargeError);
  assert.match(gpu.message, /^a batch of 256 images does not fit in memory on webgpu on AMD Radeon RX 7900 XTX \(gpu\) during evaluation: the batch does not fit on AMD Radeon/);
  assert.match(gpu.message, /CELLSCOPE_WEBGPU_POOL_MIB/);
  // Already explained: not wrapped twice.
  assert.equal(batchDoesNotFit(gpu, { batchSize: 256, backend: WEBGPU, phase: 'training' }), gpu);
});

test('anything else passes through as the same object', () => {
  const error = new Error('the network takes 3-channel images, x has 2');
  assert.equal(batchDoesNotFit(error, { batchSize: 8, backend: WASM, phase: 'training' }), error);
  assert.equal(batchDoesNotFit('a string', { batchSize: 8, backend: WASM, phase: 'training' }), 'a string');
});
