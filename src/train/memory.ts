/**
 * A batch that does not fit in memory, said plainly. Each engine reports it
 * in its own words, none of which names the batch:
 *
 * - webgpu: Dawn's out-of-memory or buffer-limit error, re-thrown at the next
 *   read as a WebGpuDeviceError of kind 'out-of-memory' (webgpu/device.ts);
 * - wasm: the 4 GiB heap cannot grow, malloc returns 0 and TensorFlow.js
 *   writes through it: "RuntimeError: memory access out of bounds" (or
 *   Emscripten's "Aborted(OOM)" / "Cannot enlarge memory arrays");
 * - tensorflow: "OOM when allocating tensor" / ResourceExhaustedError;
 * - any: V8's "Array buffer allocation failed" when a host copy fails.
 *
 * `batchDoesNotFit` turns those into a BatchTooLargeError that names the
 * batch size, the backend and what to change; other errors pass unchanged.
 */
import { trainedBackend, type BackendRecord } from '../shared/backendTypes.js';
import { WebGpuDeviceError } from './webgpu/device.js';

export class BatchTooLargeError extends Error {
  constructor(
    message: string,
    readonly batchSize: number,
    readonly backend: BackendRecord['backend'],
    cause: unknown,
  ) {
    super(message, { cause });
    this.name = 'BatchTooLargeError';
  }
}

const OUT_OF_MEMORY = [
  /memory access out of bounds/i,
  /Aborted\(OOM\)/,
  /Cannot enlarge memory/i,
  /\bOOM when allocating\b/,
  /ResourceExhausted/,
  /Array buffer allocation failed/i,
  /out of memory/i,
];

/** Whether `error` is an engine's way of saying it ran out of memory. */
export function isOutOfMemory(error: unknown): boolean {
  if (error instanceof BatchTooLargeError) return true;
  if (error instanceof WebGpuDeviceError) return error.kind === 'out-of-memory';
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return OUT_OF_MEMORY.some((pattern) => pattern.test(text));
}

/** The engine in words: `webgpu on NVIDIA H100 (gpu)`, `wasm (cpu)`. */
export function describeBackend(backend: BackendRecord): string {
  return backend.adapter !== undefined ? `${backend.backend} on ${backend.adapter.name} (${backend.device})` : `${backend.backend} (${backend.device})`;
}

export interface BatchContext {
  readonly batchSize: number;
  readonly backend: BackendRecord;
  /** What was running: 'training', 'evaluation', 'the gradient-variance probe'. */
  readonly phase: string;
}

/** `error` as a BatchTooLargeError when it says memory ran out; otherwise `error` itself. */
export function batchDoesNotFit(error: unknown, context: BatchContext): unknown {
  if (error instanceof BatchTooLargeError || !isOutOfMemory(error)) return error;
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
  const where = describeBackend(context.backend);
  const gpuHint = trainedBackend(context.backend) === 'tfjs-webgpu' ? ', or the pool of freed GPU buffers (CELLSCOPE_WEBGPU_POOL_MIB)' : '';
  return new BatchTooLargeError(
    `a batch of ${context.batchSize} images does not fit in memory on ${where} during ${context.phase}: ${detail}. ` +
      `Lower the batch size (--batch), or the channels (--channels)${gpuHint}`,
    context.batchSize,
    context.backend.backend,
    error,
  );
}
