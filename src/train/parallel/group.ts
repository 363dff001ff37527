/**
 * The shared memory of a data-parallel training step and the one
 * synchronisation primitive its threads use: a barrier over Atomics, with an
 * abort flag and a time limit so that a thread that fails or dies ends the
 * step on every thread with its message, never a hang.
 *
 * Layout (all SharedArrayBuffers, allocated once by the main thread and
 * handed to every worker):
 * - `control`: arrival count, generation, abort (0, or the failing rank + 1),
 *   the claim on the abort message, and the participants of the current step;
 * - `message`: the abort message, UTF-8;
 * - `exchange`: two halves (alternating calls) × threads × `slotLength`
 *   float64: what each thread contributes to a batch-norm reduction;
 * - `params`: the parameters, broadcast by the main thread before a step;
 * - `grads`: one gradient area per thread (parameters in `paramOrder`);
 * - `results`: per thread, the shard's loss term and its correct predictions.
 */
import { combineMoments, type BatchNormSync, type ChannelMoments } from '../network/batchNorm.js';

const COUNT = 0;
const GENERATION = 1;
const ABORT = 2;
const CLAIM = 3;
const PARTICIPANTS = 4;
const CONTROL_LENGTH = 8;
const MESSAGE_BYTES = 4096;

export interface GroupBuffers {
  readonly threads: number;
  readonly slotLength: number;
  readonly paramLength: number;
  readonly control: SharedArrayBuffer;
  readonly message: SharedArrayBuffer;
  readonly exchange: SharedArrayBuffer;
  readonly params: SharedArrayBuffer;
  readonly grads: SharedArrayBuffer;
  readonly results: SharedArrayBuffer;
}

export function allocateGroup(threads: number, maxChannels: number, paramLength: number): GroupBuffers {
  const slotLength = 1 + 2 * maxChannels;
  return {
    threads,
    slotLength,
    paramLength,
    control: new SharedArrayBuffer(CONTROL_LENGTH * 4),
    message: new SharedArrayBuffer(MESSAGE_BYTES),
    exchange: new SharedArrayBuffer(2 * threads * slotLength * 8),
    params: new SharedArrayBuffer(paramLength * 4),
    grads: new SharedArrayBuffer(threads * paramLength * 4),
    results: new SharedArrayBuffer(threads * 2 * 8),
  };
}

/** Thrown on every thread of a step another thread aborted (or that timed out). */
export class GroupAbortedError extends Error {
  constructor(message: string, readonly rank: number) {
    super(message);
    this.name = 'GroupAbortedError';
  }
}

/** One thread's view of the group. */
export class ThreadGroup implements BatchNormSync {
  readonly control: Int32Array;
  readonly params: Float32Array;
  readonly results: Float64Array;
  private readonly exchangeArea: Float64Array;
  private readonly messageBytes: Uint8Array;
  private calls = 0;

  constructor(
    readonly buffers: GroupBuffers,
    readonly rank: number,
    /** How long a barrier waits for the other threads before it aborts the step. */
    readonly timeoutMs: number,
  ) {
    this.control = new Int32Array(buffers.control);
    this.params = new Float32Array(buffers.params);
    this.results = new Float64Array(buffers.results);
    this.exchangeArea = new Float64Array(buffers.exchange);
    this.messageBytes = new Uint8Array(buffers.message);
  }

  /** This thread's gradient area. */
  gradsOf(rank: number): Float32Array {
    return new Float32Array(this.buffers.grads, rank * this.buffers.paramLength * 4, this.buffers.paramLength);
  }

  get participants(): number {
    return Atomics.load(this.control, PARTICIPANTS);
  }

  /** Main thread, before a step: how many threads take part, and a clean slate. */
  beginStep(participants: number): void {
    Atomics.store(this.control, PARTICIPANTS, participants);
    Atomics.store(this.control, COUNT, 0);
    this.calls = 0;
  }

  /** A worker, on receiving a step. */
  resetCalls(): void {
    this.calls = 0;
  }

  /** The abort message, when some thread aborted. */
  aborted(): GroupAbortedError | undefined {
    const flag = Atomics.load(this.control, ABORT);
    if (flag === 0) return undefined;
    const bytes = this.messageBytes.slice();
    const end = bytes.indexOf(0);
    return new GroupAbortedError(new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end)), flag - 1);
  }

  /** Ends the step on every thread with `message` (the first abort wins); wakes every waiting thread. */
  abort(message: string): void {
    if (Atomics.compareExchange(this.control, CLAIM, 0, 1) === 0) {
      const encoded = new TextEncoder().encode(message).subarray(0, MESSAGE_BYTES - 1);
      this.messageBytes.fill(0);
      this.messageBytes.set(encoded);
      Atomics.store(this.control, ABORT, this.rank + 1);
    }
    Atomics.notify(this.control, GENERATION);
  }

  /** Waits until every participant has arrived; throws GroupAbortedError when the step was aborted or timed out. */
  barrier(): void {
    const control = this.control;
    const participants = Atomics.load(control, PARTICIPANTS);
    const generation = Atomics.load(control, GENERATION);
    this.throwIfAborted();
    if (Atomics.add(control, COUNT, 1) === participants - 1) {
      Atomics.store(control, COUNT, 0);
      Atomics.add(control, GENERATION, 1);
      Atomics.notify(control, GENERATION);
      return;
    }
    const deadline = Date.now() + this.timeoutMs;
    // A short spin first: the other threads are usually close behind.
    for (let spin = 0; spin < 2000 && Atomics.load(control, GENERATION) === generation; spin++) {
      if (Atomics.load(control, ABORT) !== 0) break;
    }
    while (Atomics.load(control, GENERATION) === generation) {
      this.throwIfAborted();
      const left = deadline - Date.now();
      if (left <= 0) {
        this.abort(`thread ${this.rank} waited ${(this.timeoutMs / 1000).toFixed(0)} s at a barrier for the other training threads (one stopped or died)`);
        this.throwIfAborted();
      }
      Atomics.wait(control, GENERATION, generation, Math.min(left, 1000));
    }
    this.throwIfAborted();
  }

  private throwIfAborted(): void {
    const error = this.aborted();
    if (error !== undefined) throw error;
  }

  /** Writes `values` into this thread's slot of the next exchange, waits for all, and returns every participant's slot in rank order. */
  private exchange(values: ArrayLike<number>, length: number): Float64Array[] {
    const { threads, slotLength } = this.buffers;
    if (length > slotLength) throw new Error(`batch-norm exchange of ${length} values exceeds the slot of ${slotLength}`);
    const half = (this.calls++ & 1) * threads * slotLength;
    const own = this.exchangeArea.subarray(half + this.rank * slotLength, half + this.rank * slotLength + length);
    for (let i = 0; i < length; i++) own[i] = values[i]!;
    this.barrier();
    const participants = Atomics.load(this.control, PARTICIPANTS);
    const slots: Float64Array[] = [];
    for (let r = 0; r < participants; r++) slots.push(this.exchangeArea.subarray(half + r * slotLength, half + r * slotLength + length));
    return slots;
  }

  moments(local: ChannelMoments): { count: number; mean: Float64Array; m2: Float64Array } {
    const c = local.mean.length;
    const packed = new Float64Array(1 + 2 * c);
    packed[0] = local.count;
    for (let i = 0; i < c; i++) {
      packed[1 + i] = local.mean[i]!;
      packed[1 + c + i] = local.m2[i]!;
    }
    const slots = this.exchange(packed, packed.length);
    return combineMoments(slots.map((s) => ({ count: s[0]!, mean: s.subarray(1, 1 + c), m2: s.subarray(1 + c, 1 + 2 * c) })));
  }

  sums(sumDy: Float32Array, sumDyXHat: Float32Array): { sumDy: Float64Array; sumDyXHat: Float64Array } {
    const c = sumDy.length;
    const packed = new Float64Array(2 * c);
    packed.set(sumDy);
    packed.set(sumDyXHat, c);
    const slots = this.exchange(packed, packed.length);
    const dy = new Float64Array(c);
    const dyx = new Float64Array(c);
    for (const s of slots) {
      for (let i = 0; i < c; i++) {
        dy[i] = dy[i]! + s[i]!;
        dyx[i] = dyx[i]! + s[c + i]!;
      }
    }
    return { sumDy: dy, sumDyXHat: dyx };
  }
}
