/**
 * A compiled plan on a WebGPU device: every buffer, pipeline and bind group
 * created once, before the first step; a step is one command buffer of the
 * plan's fixed dispatch list, submitted without waiting. Per-step data (the
 * batch, labels, drop-path masks, learning rate) go up with
 * queue.writeBuffer; loss, accuracy and gradient norm accumulate on the GPU
 * and are read back only when asked (readMetrics), asynchronously.
 */
import type { Genotype } from '../../genotype/model.js';
import { METRIC, METRIC_COUNT, type PlanSettings } from './build.js';
import { compilePlan, fmtBytes, fittingBatch, PlanMemoryError, SLOT, type Plan } from './compile.js';
import { encodeTable, type EncodedDispatch } from './encode.js';
import { KERNELS, type KernelKind, type Tensor } from './ir.js';
import type { InitialState } from './layout.js';
import type { AugmentParams } from '../data/augment.js';
import { normalisationTable } from '../data/augment.js';
import { elements } from './schedule.js';
import { shaderFor } from './wgsl.js';

/* The slice of WebGPU this module uses, declared structurally (see src/train/webgpu/types.ts). */
type GpuBuffer = { size: number; destroy(): void; mapAsync(mode: number): Promise<void>; getMappedRange(): ArrayBuffer; unmap(): void };
type GpuQueue = { writeBuffer(b: GpuBuffer, offset: number, data: ArrayBufferView): void; submit(cbs: unknown[]): void; onSubmittedWorkDone(): Promise<void> };
type GpuPass = { setPipeline(p: unknown): void; setBindGroup(i: number, g: unknown): void; dispatchWorkgroups(x: number, y: number, z: number): void; end(): void };
type GpuEncoder = { beginComputePass(): GpuPass; copyBufferToBuffer(a: GpuBuffer, ao: number, b: GpuBuffer, bo: number, size: number): void; finish(): unknown };
type UncapturedError = { readonly error: { readonly message: string; readonly constructor: { readonly name: string } } };
export interface GpuDevice {
  readonly limits: { readonly maxStorageBufferBindingSize: number; readonly maxStorageBuffersPerShaderStage: number; readonly maxBufferSize: number; readonly minStorageBufferOffsetAlignment: number };
  readonly queue: GpuQueue;
  readonly lost: Promise<{ reason: string; message: string }>;
  addEventListener?(type: 'uncapturederror', listener: (event: UncapturedError) => void): void;
  removeEventListener?(type: 'uncapturederror', listener: (event: UncapturedError) => void): void;
  createBuffer(d: { size: number; usage: number; mappedAtCreation?: boolean }): GpuBuffer;
  createShaderModule(d: { code: string }): any;
  createBindGroupLayout(d: any): any;
  createPipelineLayout(d: any): any;
  createComputePipeline(d: any): any;
  createBindGroup(d: any): any;
  createCommandEncoder(): GpuEncoder;
  pushErrorScope(filter: 'out-of-memory' | 'validation' | 'internal'): void;
  popErrorScope(): Promise<{ message: string } | null>;
}

const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const UNIFORM = 0x40;
const MAP_READ = 0x01;
const MAP_MODE_READ = 0x01;

/** A failure of the engine the run should end with (no adapter, device lost, out of memory). */
export class GpuPlanError extends Error {
  constructor(
    message: string,
    readonly kind: 'no-adapter' | 'lost' | 'out-of-memory' | 'validation',
  ) {
    super(message);
    this.name = 'GpuPlanError';
  }
}

export interface StepInput {
  /** NHWC images, batch × size × size × 3, normalised (plans without augmentation). */
  readonly images?: Float32Array;
  /** Plans with augmentation: the batch's raw bytes (HWC per image, images one after another) and each image's parameters. */
  readonly raw?: { readonly bytes: Uint8Array; readonly params: readonly AugmentParams[] };
  readonly labels: Int32Array;
  /** Learning rate of this step (training plans). */
  readonly lr?: number;
  /** Drop-path masks in the TensorFlow.js network's draw order (see drawMasks); all ones when absent. */
  readonly masks?: Float32Array;
}

export interface SgdSettings {
  readonly momentum: number;
  readonly weightDecay: number;
  readonly maxNorm: number;
}

export interface Metrics {
  /** Σ over batches of the batch's mean cross-entropy (main head). */
  readonly loss: number;
  readonly auxLoss: number;
  readonly correct: number;
  readonly samples: number;
  /** Σ over steps of the gradient norm before clipping. */
  readonly gradNorm: number;
  /** Optimiser steps (training plans). */
  readonly steps: number;
  /** Batches through the classifier head (training and eval plans). */
  readonly batches: number;
}

export interface PlanFigures {
  readonly dispatchesPerStep: number;
  readonly planBytes: number;
  readonly primitiveOps: number;
}

/** Three bytes per float (exact below 2^24): a third more than the bytes to upload, four times less than floats. */
export function packBytes(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(Math.ceil(bytes.length / 3));
  for (let i = 0, j = 0; i < bytes.length; i += 3, j++) out[j] = bytes[i]! + (bytes[i + 1] ?? 0) * 256 + (bytes[i + 2] ?? 0) * 65536;
  return out;
}

/**
 * Drop-path masks as the TensorFlow.js network draws them for one forward
 * pass: for each of `count` non-identity operations in order, `batch`
 * draws, each 1/keep with probability keep = 1 − prob, else 0.
 */
export function drawMasks(count: number, batch: number, prob: number, random: () => number): Float32Array {
  const keep = 1 - prob;
  const out = new Float32Array(count * batch);
  for (let i = 0; i < out.length; i++) out[i] = random() < keep ? 1 / keep : 0;
  return out;
}

export class GpuPlanEngine {
  readonly figures: PlanFigures;
  private readonly buffers: GpuBuffer[] = [];
  private readonly pipelines = new Map<KernelKind, unknown>();
  private readonly bindGroups: unknown[] = [];
  private readonly encoded: EncodedDispatch[];
  private readonly uniform: GpuBuffer;
  private lostReason: string | undefined;
  private deviceError: GpuPlanError | undefined;
  private readonly onError: (event: UncapturedError) => void;
  /** The metric block (0 or 1) steps accumulate into now. */
  private metricBlock = 0;
  private readonly slots: GpuBuffer[];

  private constructor(
    readonly device: GpuDevice,
    readonly plan: Plan,
    initial: InitialState,
    sgd: SgdSettings,
  ) {
    const s = plan.settings;
    void device.lost.then((info) => {
      this.lostReason ??= `the WebGPU device was lost (${info.reason}): ${info.message}`;
    });
    // Dawn reports failures of submitted work asynchronously; the next call surfaces the first one.
    this.onError = (event) => {
      const oom = event.error.constructor.name === 'GPUOutOfMemoryError' || /out of memory/i.test(event.error.message);
      this.deviceError ??= new GpuPlanError(`WebGPU ${oom ? 'ran out of memory' : 'error'}: ${event.error.message.split('\n')[0]}`, oom ? 'out-of-memory' : 'validation');
    };
    device.addEventListener?.('uncapturederror', this.onError);
    const create = (elementsOrBytes: number, usage: number, bytes = false): GpuBuffer => {
      const b = device.createBuffer({ size: Math.max(16, Math.ceil((bytes ? elementsOrBytes : elementsOrBytes * 4) / 16) * 16), usage });
      this.buffers.push(b);
      return b;
    };
    const storage = STORAGE | COPY_SRC | COPY_DST;
    const params = create(initial.layout.paramCount, storage);
    const train = s.mode === 'train';
    const grads = create(train ? initial.layout.paramCount : 1, storage);
    const momentum = create(train ? initial.layout.paramCount : 1, storage);
    const state = create(plan.memory.stateElements, storage);
    const arenas = plan.memory.arenas.map((n) => create(n, storage));
    if (arenas.length === 0) arenas.push(create(64, storage));
    this.slots = [params, grads, momentum, state, ...arenas];
    const table = encodeTable(plan.dispatches, device.limits.minStorageBufferOffsetAlignment);
    this.encoded = table.dispatches;
    const tableBuffer = create(table.words.byteLength, STORAGE | COPY_DST, true);
    this.uniform = create(8, UNIFORM | COPY_DST);

    device.queue.writeBuffer(params, 0, initial.params);
    device.queue.writeBuffer(state, 0, initial.buffers);
    device.queue.writeBuffer(tableBuffer, 0, table.words);
    const aug = s.augmentation;
    if (aug !== undefined && plan.state.normTable !== undefined) {
      device.queue.writeBuffer(state, plan.state.normTable.offset! * 4, normalisationTable(aug.mean, aug.std, 3));
    }
    device.queue.writeBuffer(this.uniform, 0, new Float32Array([0, sgd.momentum, sgd.weightDecay, sgd.maxNorm]));

    const nArenas = arenas.length;
    const entries = [
      ...this.slots.map((_, i) => ({ binding: i, visibility: 4, buffer: { type: 'storage' } })),
      { binding: 4 + nArenas, visibility: 4, buffer: { type: 'read-only-storage' } },
      { binding: 5 + nArenas, visibility: 4, buffer: { type: 'uniform' } },
    ];
    const bindLayout = device.createBindGroupLayout({ entries });
    const pipelineLayout = device.createPipelineLayout({ bindGroupLayouts: [bindLayout] });
    const used = new Set(plan.dispatches.map((d) => d.kind));
    for (const kind of KERNELS) {
      if (!used.has(kind)) continue;
      const module = device.createShaderModule({ code: shaderFor(kind, nArenas) });
      this.pipelines.set(kind, device.createComputePipeline({ layout: pipelineLayout, compute: { module, entryPoint: 'main' } }));
    }
    for (const d of this.encoded) {
      this.bindGroups.push(
        device.createBindGroup({
          layout: bindLayout,
          entries: [
            ...this.slots.map((buffer, i) => ({ binding: i, resource: { buffer } })),
            { binding: 4 + nArenas, resource: { buffer: tableBuffer, offset: d.tableOffset, size: d.tableBytes } },
            { binding: 5 + nArenas, resource: { buffer: this.uniform } },
          ],
        }),
      );
    }
    this.figures = { dispatchesPerStep: plan.dispatches.length, planBytes: plan.planBytes, primitiveOps: plan.primitiveOps };
  }

  /**
   * Compiles `genotype` for `device` and creates everything a step needs.
   * Out of memory (the plan's arenas larger than the device binds, or a
   * failed allocation) is a GpuPlanError that says the bytes and a batch that fits.
   */
  static async create(device: GpuDevice, genotype: Genotype, settings: PlanSettings, initial: InitialState, sgd: SgdSettings = { momentum: 0.9, weightDecay: 3e-4, maxNorm: 5 }): Promise<GpuPlanEngine> {
    let plan: Plan;
    try {
      plan = compilePlan(genotype, settings, initial.layout, {
        maxBindingBytes: Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize),
        maxStorageBuffers: device.limits.maxStorageBuffersPerShaderStage,
      });
    } catch (error) {
      if (error instanceof PlanMemoryError) throw new GpuPlanError(error.message, 'out-of-memory');
      throw error;
    }
    device.pushErrorScope('validation');
    device.pushErrorScope('out-of-memory');
    const engine = new GpuPlanEngine(device, plan, initial, sgd);
    const oom = await device.popErrorScope();
    const invalid = await device.popErrorScope();
    if (oom !== null) {
      engine.destroy();
      throw new GpuPlanError(
        `the plan needs ${fmtBytes(plan.planBytes)} on the GPU and allocating it failed (${oom.message.split('\n')[0]}); batch ${settings.batch} does not fit, try batch ${fittingBatch(settings.batch, plan.planBytes, plan.planBytes / 2)} or fewer`,
        'out-of-memory',
      );
    }
    if (invalid !== null) {
      engine.destroy();
      throw new GpuPlanError(`WebGPU rejected the plan: ${invalid.message.split('\n')[0]}`, 'validation');
    }
    return engine;
  }

  private check(): void {
    if (this.lostReason !== undefined) throw new GpuPlanError(this.lostReason, 'lost');
    if (this.deviceError !== undefined) throw this.deviceError;
  }

  private stateOffset(t: Tensor): number {
    return t.offset! * 4;
  }

  /** Records the whole step into one command buffer (no submission): what a step costs the CPU. */
  encode(): unknown {
    const encoder = this.device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    let current: unknown;
    this.encoded.forEach((d, i) => {
      const pipeline = this.pipelines.get(d.dispatch.kind);
      if (pipeline !== current) {
        pass.setPipeline(pipeline);
        current = pipeline;
      }
      pass.setBindGroup(0, this.bindGroups[i]);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
    });
    pass.end();
    return encoder.finish();
  }

  /**
   * Wall milliseconds of each kernel kind over one step, each dispatch
   * submitted alone and waited for (so slower than a real step: for finding
   * the expensive kernels, on adapters without timestamp queries too).
   * Runs the step on the last uploaded batch.
   */
  async profileStep(): Promise<Array<{ kind: KernelKind; dispatches: number; entries: number; ms: number }>> {
    const byKind = new Map<KernelKind, { dispatches: number; entries: number; ms: number }>();
    await this.device.queue.onSubmittedWorkDone();
    for (const [i, d] of this.encoded.entries()) {
      const encoder = this.device.createCommandEncoder();
      const pass = encoder.beginComputePass();
      pass.setPipeline(this.pipelines.get(d.dispatch.kind));
      pass.setBindGroup(0, this.bindGroups[i]);
      pass.dispatchWorkgroups(d.workgroups[0], d.workgroups[1], d.workgroups[2]);
      pass.end();
      const t0 = performance.now();
      this.device.queue.submit([encoder.finish()]);
      await this.device.queue.onSubmittedWorkDone();
      const e = byKind.get(d.dispatch.kind) ?? { dispatches: 0, entries: 0, ms: 0 };
      e.dispatches++;
      e.entries += d.dispatch.entries.length;
      e.ms += performance.now() - t0;
      byKind.set(d.dispatch.kind, e);
    }
    this.check();
    return [...byKind].map(([kind, e]) => ({ kind, ...e })).sort((a, b) => b.ms - a.ms);
  }

  /** Uploads the batch (and masks, learning rate) and submits one step; does not wait. */
  step(input: StepInput): void {
    this.check();
    const { settings: s, state } = this.plan;
    const n = s.batch;
    if (input.labels.length !== n) throw new Error(`expected ${n} labels, got ${input.labels.length}`);
    const q = this.device.queue;
    const stateBuf = this.slots[SLOT.state]!;
    if (state.raw !== undefined) {
      if (input.raw === undefined) throw new Error('this plan augments on the GPU: pass raw bytes and augmentation parameters');
      const { bytes, params } = input.raw;
      if (bytes.length !== n * s.inputSize * s.inputSize * 3) throw new Error(`expected ${n}×${s.inputSize}×${s.inputSize}×3 bytes, got ${bytes.length}`);
      if (params.length !== n) throw new Error(`expected ${n} augmentation parameters, got ${params.length}`);
      q.writeBuffer(stateBuf, this.stateOffset(state.raw), packBytes(bytes));
      q.writeBuffer(stateBuf, this.stateOffset(state.augmentParams!), Float32Array.from(params.flatMap((a) => [a.top, a.left, a.flip ? 1 : 0, a.cutoutY, a.cutoutX])));
    } else {
      if (input.images === undefined) throw new Error('pass the batch as normalised images');
      if (input.images.length !== n * s.inputSize * s.inputSize * 3) throw new Error(`expected ${n}×${s.inputSize}×${s.inputSize}×3 images, got ${input.images.length} values`);
      q.writeBuffer(stateBuf, this.stateOffset(state.input), input.images);
    }
    q.writeBuffer(stateBuf, this.stateOffset(state.labels), Float32Array.from(input.labels));
    if (state.masks !== undefined) {
      const masks = input.masks ?? new Float32Array(state.maskCount * n).fill(1);
      if (masks.length !== state.maskCount * n) throw new Error(`expected ${state.maskCount}×${n} drop-path masks, got ${masks.length}`);
      q.writeBuffer(stateBuf, this.stateOffset(state.masks), masks);
    }
    if (input.lr !== undefined) q.writeBuffer(this.uniform, 0, new Float32Array([input.lr]));
    q.submit([this.encode()]);
  }

  /** Number of drop-path masks one step draws (each `batch` values). */
  get maskCount(): number {
    return this.plan.state.maskCount;
  }

  private async read(slot: number, offsetElements: number, count: number): Promise<Float32Array> {
    this.check();
    const bytes = Math.ceil((count * 4) / 4) * 4;
    const staging = this.device.createBuffer({ size: Math.max(bytes, 4), usage: MAP_READ | COPY_DST });
    const encoder = this.device.createCommandEncoder();
    encoder.copyBufferToBuffer(this.slots[slot]!, offsetElements * 4, staging, 0, bytes);
    this.device.queue.submit([encoder.finish()]);
    try {
      await staging.mapAsync(MAP_MODE_READ);
    } catch (error) {
      this.check();
      throw error;
    }
    const out = new Float32Array(staging.getMappedRange().slice(0, count * 4));
    staging.unmap();
    staging.destroy();
    this.check();
    return out;
  }

  /**
   * The metrics accumulated since the last call (one small read). Steps
   * submitted meanwhile are not lost: the steps' metric block is switched
   * first (a uniform written in queue order), the old block read, then zeroed.
   */
  async readMetrics(): Promise<Metrics> {
    const m = this.plan.state.metrics;
    const old = this.metricBlock;
    this.metricBlock ^= 1;
    this.device.queue.writeBuffer(this.uniform, 16, new Uint32Array([this.metricBlock * METRIC_COUNT]));
    const offset = m.offset! + old * METRIC_COUNT;
    const v = await this.read(SLOT.state, offset, METRIC_COUNT);
    this.device.queue.writeBuffer(this.slots[SLOT.state]!, offset * 4, new Float32Array(METRIC_COUNT));
    return { loss: v[METRIC.loss]!, auxLoss: v[METRIC.auxLoss]!, correct: v[METRIC.correct]!, samples: v[METRIC.samples]!, gradNorm: v[METRIC.gradNorm]!, steps: v[METRIC.steps]!, batches: v[METRIC.batches]! };
  }

  readParams(): Promise<Float32Array> {
    return this.read(SLOT.params, 0, this.plan.layout.paramCount);
  }

  readGrads(): Promise<Float32Array> {
    return this.read(SLOT.grads, 0, this.plan.layout.paramCount);
  }

  readMomentum(): Promise<Float32Array> {
    return this.read(SLOT.momentum, 0, this.plan.layout.paramCount);
  }

  /** Running statistics, flat in layout order. */
  readBuffers(): Promise<Float32Array> {
    return this.read(SLOT.state, 0, this.plan.layout.bufferCount);
  }

  /** The last step's network input (NHWC, normalised and, with augmentation, augmented). */
  readInput(): Promise<Float32Array> {
    const t = this.plan.state.input;
    return this.read(SLOT.state, t.offset!, elements(t));
  }

  /** The last step's logits (and auxiliary logits), batch × classes. */
  readLogits(aux = false): Promise<Float32Array> {
    const t = aux ? this.plan.state.auxLogits : this.plan.state.logits;
    if (t === undefined) throw new Error('this plan has no auxiliary head');
    return this.read(SLOT.state, t.offset!, elements(t));
  }

  /** Replaces parameters (and optionally momentum, running statistics): restoring a checkpoint or another engine's weights. */
  writeParams(params: Float32Array, momentum?: Float32Array, buffers?: Float32Array): void {
    this.device.queue.writeBuffer(this.slots[SLOT.params]!, 0, params);
    if (momentum !== undefined) this.device.queue.writeBuffer(this.slots[SLOT.momentum]!, 0, momentum);
    if (buffers !== undefined) this.device.queue.writeBuffer(this.slots[SLOT.state]!, 0, buffers);
  }

  destroy(): void {
    this.device.removeEventListener?.('uncapturederror', this.onError);
    for (const b of this.buffers) b.destroy();
    this.buffers.length = 0;
  }
}
