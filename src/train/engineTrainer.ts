/**
 * The training loop's side of the compiled plan engine (backend `webgpu`,
 * src/train/gpuplan): what loop.ts does with the TensorFlow.js network —
 * a training step, test evaluation, the checkpoint's arrays — done by plans
 * on one WebGPU device.
 *
 * - Steps are submitted without waiting; loss, accuracy and gradient norm
 *   accumulate on the GPU and come back with `flush()`, which the loop calls
 *   once per progress interval, at the end of an epoch and before a
 *   checkpoint (never a blocking read per step).
 * - The batches are the other backends' (data/batches.ts on the CPU, same
 *   seed, same augmentation draws); with `augmentation` the training and
 *   probe batches go up as raw bytes and those draws, and the plan's first
 *   dispatch crops, flips, normalises and cuts out; the initial weights are the TensorFlow.js
 *   network's, built with the run's seed (layoutOf); drop-path masks are
 *   drawn from the run's drop-path stream in the network's order (drawMasks).
 * - A plan has a fixed batch: an epoch's last, smaller batch (training or
 *   test) runs on a plan of its own size, created on first use, with the
 *   weights, momentum and running statistics moved across and back.
 * - Test evaluation runs an eval-mode plan on the trained weights (writeParams).
 * - Checkpoints hold the same named arrays as the TensorFlow.js trainer's
 *   (`param:`, `buffer:`, `momentum:`), read back with readParams,
 *   readBuffers, readMomentum, so the probes and `cellscope landscape` load
 *   them into the TensorFlow.js network unchanged.
 */
import type { Genotype } from '../genotype/model.js';
import type { GpuAdapter } from '../shared/adapters.js';
import type { PlanRecord } from '../shared/backendTypes.js';
import type { Batch, Dataset } from './data/index.js';
import { batches } from './data/index.js';
import { NumpyRandomState } from '../genotype/numpyRandom.js';
import type { PlanSettings } from './gpuplan/build.js';
import { openPlanDevice } from './gpuplan/device.js';
import { drawMasks, GpuPlanEngine, GpuPlanError, type GpuDevice, type SgdSettings, type StepInput } from './gpuplan/engine.js';
import type { InitialState } from './gpuplan/layout.js';
import type { NamedArray } from './optim.js';
import { varianceOfGradients, type GradVarianceResult } from './probes/gradVariance.js';
import type { FlatLoss } from './probes/hessian.js';

/** The weight of the auxiliary loss the plans compile in (build.ts). */
export const PLAN_AUX_WEIGHT = 0.4;

export interface EngineTrainerOptions {
  readonly genotype: Genotype;
  readonly network: { readonly channels: number; readonly layers: number; readonly classes: number; readonly inputSize: number; readonly auxiliary: boolean };
  readonly batchSize: number;
  readonly dropPath: boolean;
  readonly auxiliaryWeight: number;
  readonly sgd: SgdSettings;
  /** The TensorFlow.js network's layout and initial values (layoutOf). */
  readonly initial: InitialState;
  /** Images' channels in the dataset: grey images are repeated on the three input channels. */
  readonly inputChannels: number;
  /**
   * Augment the training batches on the GPU: the dataset's per-channel mean
   * and std and the cutout length (0: off); the training and probe batches
   * then carry `raw` (bytes and the CPU's draws), test batches stay floats.
   */
  readonly augmentation?: { readonly mean: readonly number[]; readonly std: readonly number[]; readonly cutout: number };
  /** The adapter to open (by name; a software one only because it was asked for). */
  readonly adapter?: GpuAdapter;
  /** An opened device (tests); default: openPlanDevice on `adapter`. */
  readonly device?: GpuDevice;
  /** Tests: the bytes a binding may hold, to make a plan not fit. */
  readonly maxBindingBytes?: number;
  /** Dense kernel flavour (build.ts); default: direct on a software adapter, tiled on hardware. */
  readonly denseKernels?: 'tiled' | 'direct';
}

/** Sums over the steps since the last flush, as the loop's EpochSums counts them. */
export interface StepSums {
  /** Σ over batches of (loss + auxiliary weight × auxiliary loss) × batch size. */
  readonly lossSum: number;
  readonly correct: number;
  readonly seen: number;
  readonly steps: number;
}

/** Wraps a device so that `maxBindingBytes` is what its limits say (tests of out-of-memory at plan time). */
function limitedDevice(device: GpuDevice, maxBindingBytes: number): GpuDevice {
  // Dawn's limits are getters on a prototype: copied by name, not spread.
  const l = device.limits;
  const limits = { maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage, minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment, maxStorageBufferBindingSize: maxBindingBytes, maxBufferSize: maxBindingBytes };
  return new Proxy(device, {
    get(target, key) {
      if (key === 'limits') return limits;
      const value = Reflect.get(target, key, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

export class EngineTrainer {
  private readonly trainPlans = new Map<number, GpuPlanEngine>();
  private readonly evalPlans = new Map<number, GpuPlanEngine>();
  /** Which training plan holds the current weights. */
  private current: GpuPlanEngine;
  private pendingSteps = 0;

  private constructor(
    private readonly options: EngineTrainerOptions,
    readonly device: GpuDevice,
    /** The device this trainer opened (destroyed with it), not one it was given. */
    private readonly opened: GpuDevice | undefined,
    main: GpuPlanEngine,
    readonly plan: PlanRecord,
  ) {
    this.trainPlans.set(options.batchSize, main);
    this.current = main;
  }

  /**
   * Opens the device and compiles the training plan. Fails with a
   * GpuPlanError (no adapter, out of memory with the bytes needed and a
   * batch that fits, a rejected plan) before anything is trained.
   */
  static async open(options: EngineTrainerOptions): Promise<EngineTrainer> {
    if (options.network.auxiliary && options.auxiliaryWeight !== PLAN_AUX_WEIGHT) {
      throw new GpuPlanError(`the plan engine trains with auxiliary weight ${PLAN_AUX_WEIGHT}; this run asks for ${options.auxiliaryWeight} (use backend tfjs-webgpu or wasm)`, 'validation');
    }
    const opened = options.device === undefined ? (await openPlanDevice({ allowSoftware: true, ...(options.adapter !== undefined ? { name: options.adapter.name } : {}) })).device : undefined;
    let device = options.device ?? opened!;
    if (options.maxBindingBytes !== undefined) device = limitedDevice(device, options.maxBindingBytes);
    let main: GpuPlanEngine;
    try {
      main = await GpuPlanEngine.create(device, options.genotype, EngineTrainer.settings(options, options.batchSize, 'train'), options.initial, options.sgd);
    } catch (error) {
      destroyDevice(opened);
      throw error;
    }
    // CPU time to encode one step, measured on the compiled plan (command buffers discarded, not submitted).
    const rounds = 5;
    main.encode();
    const t0 = performance.now();
    for (let i = 0; i < rounds; i++) main.encode();
    const encodeMsPerStep = (performance.now() - t0) / rounds;
    return new EngineTrainer(options, device, opened, main, { dispatchesPerStep: main.figures.dispatchesPerStep, planBytes: main.figures.planBytes, encodeMsPerStep });
  }

  private static settings(o: EngineTrainerOptions, batch: number, mode: 'train' | 'eval'): PlanSettings {
    const denseKernels = o.denseKernels ?? (o.adapter?.kind === 'software' ? 'direct' : 'tiled');
    const a = o.augmentation;
    // Grey images go up as three equal channels, normalised with their one mean and std on each.
    const tripled = (v: readonly number[]) => (v.length === 3 ? v : [v[0]!, v[0]!, v[0]!]);
    const augmentation = mode === 'train' && a !== undefined ? { augmentation: { mean: tripled(a.mean), std: tripled(a.std), cutout: a.cutout } } : {};
    return { ...o.network, batch, mode, dropPath: mode === 'train' && o.dropPath, denseKernels, ...augmentation };
  }

  private async planFor(batch: number, mode: 'train' | 'eval'): Promise<GpuPlanEngine> {
    const plans = mode === 'train' ? this.trainPlans : this.evalPlans;
    let engine = plans.get(batch);
    if (engine === undefined) {
      engine = await GpuPlanEngine.create(this.device, this.options.genotype, EngineTrainer.settings(this.options, batch, mode), this.options.initial, this.options.sgd);
      plans.set(batch, engine);
    }
    return engine;
  }

  /** The batch's images as the plan's three-channel NHWC input. */
  private images(batch: Batch): Float32Array {
    if (this.options.inputChannels === 3) return batch.x;
    const pixels = batch.x.length;
    const out = new Float32Array(pixels * 3);
    for (let i = 0; i < pixels; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = batch.x[i]!;
    return out;
  }

  /** A training or probe batch as the plan takes it: raw bytes and draws when the plan augments, else normalised images. */
  private input(engine: GpuPlanEngine, batch: Batch): Pick<StepInput, 'images' | 'raw'> {
    if (engine.plan.state.raw === undefined) return { images: this.images(batch) };
    if (batch.raw === undefined) throw new Error('the plan augments on the GPU: the batch needs its raw bytes (batches with `raw`)');
    const { bytes, params } = batch.raw;
    if (this.options.inputChannels === 3) return { raw: { bytes, params } };
    const rgb = new Uint8Array(bytes.length * 3);
    for (let i = 0; i < bytes.length; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = bytes[i]!;
    return { raw: { bytes: rgb, params } };
  }

  /** Moves weights, momentum and running statistics from the plan that holds them to `to`. */
  private async moveTo(to: GpuPlanEngine): Promise<void> {
    if (to === this.current) return;
    const from = this.current;
    const [params, momentum, buffers] = await Promise.all([from.readParams(), from.readMomentum(), from.readBuffers()]);
    to.writeParams(params, momentum, buffers);
    this.current = to;
  }

  /**
   * Submits one training step (does not wait for it, except an epoch's
   * last, smaller batch, which moves the weights to its own plan).
   * `random`: the drop-path stream, drawn as the network draws when `dropProb` > 0.
   */
  async step(batch: Batch, lr: number, dropProb: number, random: () => number): Promise<void> {
    const engine = batch.size === this.options.batchSize ? this.trainPlans.get(batch.size)! : await this.planFor(batch.size, 'train');
    if (engine !== this.current) {
      // The smaller plan's own metrics are read into the sums: flush the other's first.
      this.carried = add(this.carried, await this.readSums(this.current));
      await this.moveTo(engine);
    }
    const masks = dropProb > 0 ? drawMasks(engine.maskCount, batch.size, dropProb, random) : undefined;
    engine.step({ ...this.input(engine, batch), labels: Int32Array.from(batch.y), lr, ...(masks !== undefined ? { masks } : {}) });
    this.pendingSteps++;
  }

  private carried: StepSums = { lossSum: 0, correct: 0, seen: 0, steps: 0 };

  private async readSums(engine: GpuPlanEngine): Promise<StepSums> {
    const m = await engine.readMetrics();
    const batch = engine.plan.settings.batch;
    const aux = this.options.network.auxiliary ? PLAN_AUX_WEIGHT * m.auxLoss : 0;
    return { lossSum: (m.loss + aux) * batch, correct: m.correct, seen: m.samples, steps: m.steps };
  }

  /** Whether the training plan augments on the GPU (takes the batches' raw bytes and draws). */
  get augmentsOnGpu(): boolean {
    return this.trainPlans.get(this.options.batchSize)!.plan.state.raw !== undefined;
  }

  /** Steps submitted since the last flush. */
  get pending(): number {
    return this.pendingSteps;
  }

  /** The sums of the steps since the last flush (one small read; waits for those steps). */
  async flush(): Promise<StepSums> {
    const sums = add(this.carried, await this.readSums(this.current));
    this.carried = { lossSum: 0, correct: 0, seen: 0, steps: 0 };
    this.pendingSteps = 0;
    return sums;
  }

  /** Back to the full-batch plan (after an epoch's last, smaller batch). */
  private async home(): Promise<GpuPlanEngine> {
    const main = this.trainPlans.get(this.options.batchSize)!;
    if (this.current !== main) {
      this.carried = add(this.carried, await this.readSums(this.current));
      await this.moveTo(main);
    }
    return main;
  }

  /** Mean test loss and accuracy: eval plans on the trained weights and running statistics. */
  async evaluate(dataset: Dataset, batchSize: number): Promise<{ loss: number; acc: number }> {
    const main = await this.home();
    const [params, buffers] = await Promise.all([main.readParams(), main.readBuffers()]);
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    const used = new Set<GpuPlanEngine>();
    const stream = batches(dataset.test, dataset, { batchSize, shuffle: false, augment: false, rng: new NumpyRandomState(0) });
    for (const batch of stream) {
      const engine = await this.planFor(batch.size, 'eval');
      if (!used.has(engine)) {
        engine.writeParams(params, undefined, buffers);
        await engine.readMetrics();
        used.add(engine);
      }
      engine.step({ images: this.images(batch), labels: Int32Array.from(batch.y) });
    }
    for (const engine of used) {
      const m = await engine.readMetrics();
      lossSum += m.loss * engine.plan.settings.batch;
      correct += m.correct;
      seen += m.samples;
    }
    return { loss: lossSum / seen, acc: correct / seen };
  }

  /**
   * Runs a probe on the full-batch training plan with the trained state
   * kept: gradients come from steps at learning rate 0 (parameters
   * unchanged; momentum and running statistics, which those steps touch,
   * written back afterwards; their metrics discarded). Call after a flush.
   */
  private async probing<T>(work: (engine: GpuPlanEngine, params: Float32Array) => Promise<T>): Promise<T> {
    const main = await this.home();
    if (this.pendingSteps > 0) throw new Error('the engine has unread steps: flush before a probe');
    const [params, momentum, buffers] = await Promise.all([main.readParams(), main.readMomentum(), main.readBuffers()]);
    try {
      return await work(main, params);
    } finally {
      main.writeParams(params, momentum, buffers);
      await main.readMetrics();
    }
  }

  /** One full batch's gradient step at learning rate 0, without drop path (training-mode BatchNorm, as the probes). */
  private probeStep(engine: GpuPlanEngine, batch: Batch): void {
    if (batch.size !== this.options.batchSize) throw new Error(`the probes take full batches of ${this.options.batchSize}, got ${batch.size}`);
    engine.step({ ...this.input(engine, batch), labels: Int32Array.from(batch.y), lr: 0 });
  }

  /** The gradient-variance probe (probes/gradVariance.ts) on the GPU: each batch's raw gradient (before clipping and weight decay) read back. */
  gradientVariance(probe: readonly Batch[]): Promise<GradVarianceResult> {
    return this.probing((engine) => {
      const self = this;
      return varianceOfGradients(
        this.options.initial.layout.paramCount,
        (async function* () {
          for (const batch of probe) {
            self.probeStep(engine, batch);
            yield await engine.readGrads();
          }
        })(),
      );
    });
  }

  /**
   * The Hessian probe's FlatLoss (probes/hessian.ts) on the GPU: the
   * training objective averaged over `probe`, at weights w + t·v written
   * with writeParams, its gradient read back; `work` runs with it, and the
   * trained state is restored afterwards.
   */
  withFlatLoss<T>(probe: readonly Batch[], work: (loss: FlatLoss) => Promise<T>): Promise<T> {
    return this.probing(async (engine, base) => {
      const size = base.length;
      let normSq = 0;
      for (const x of base) normSq += x * x;
      const aux = this.options.network.auxiliary ? PLAN_AUX_WEIGHT : 0;
      const moved = new Float32Array(size);
      const loss: FlatLoss = {
        size,
        weightNorm: Math.sqrt(normSq),
        at: async (v, t, gradient) => {
          if (v === null || t === 0) engine.writeParams(base);
          else {
            const tf32 = Math.fround(t);
            for (let i = 0; i < size; i++) moved[i] = base[i]! + Math.fround(Math.fround(v[i]!) * tf32);
            engine.writeParams(moved);
          }
          const sum = gradient ? new Float64Array(size) : undefined;
          for (const batch of probe) {
            this.probeStep(engine, batch);
            if (sum !== undefined) {
              const g = await engine.readGrads();
              for (let i = 0; i < size; i++) sum[i] = sum[i]! + g[i]!;
            }
          }
          const m = await engine.readMetrics();
          const value = (m.loss + aux * m.auxLoss) / probe.length;
          if (sum === undefined) return { loss: value };
          for (let i = 0; i < size; i++) sum[i] = sum[i]! / probe.length;
          return { loss: value, gradient: sum };
        },
        reset: () => engine.writeParams(base),
        dispose: () => engine.writeParams(base),
      };
      try {
        return await work(loss);
      } finally {
        loss.dispose();
      }
    });
  }

  /** Weights and running statistics, flat in layout order (for the TensorFlow.js network the probes run on). */
  async weights(): Promise<{ params: Float32Array; buffers: Float32Array }> {
    const main = await this.home();
    const [params, buffers] = await Promise.all([main.readParams(), main.readBuffers()]);
    return { params, buffers };
  }

  /** The checkpoint's arrays, named as the TensorFlow.js trainer names them. */
  async snapshot(): Promise<Map<string, NamedArray>> {
    const main = await this.home();
    const [params, momentum, buffers] = await Promise.all([main.readParams(), main.readMomentum(), main.readBuffers()]);
    const layout = this.options.initial.layout;
    const arrays = new Map<string, NamedArray>();
    for (const [name, slot] of layout.params) arrays.set(`param:${name}`, { shape: slot.shape, data: params.slice(slot.offset, slot.offset + slot.size) });
    for (const [name, slot] of layout.buffers) arrays.set(`buffer:${name}`, { shape: slot.shape, data: buffers.slice(slot.offset, slot.offset + slot.size) });
    for (const [name, slot] of layout.params) arrays.set(`momentum:${name}`, { shape: slot.shape, data: momentum.slice(slot.offset, slot.offset + slot.size) });
    return arrays;
  }

  /**
   * Restores a checkpoint's arrays (this trainer's or the TensorFlow.js
   * trainer's: a parameter without momentum has none yet, zeros). Throws
   * with the array named when one is missing or of another shape.
   */
  async restore(arrays: ReadonlyMap<string, NamedArray>, file: string): Promise<void> {
    const layout = this.options.initial.layout;
    const flat = (group: string, slots: typeof layout.params, count: number, optional: boolean): Float32Array => {
      const out = new Float32Array(count);
      for (const [name, slot] of slots) {
        const a = arrays.get(`${group}:${name}`);
        if (a === undefined) {
          if (optional) continue;
          throw new Error(`${file}: no ${group} ${name} (the network changed?)`);
        }
        if (a.shape.length !== slot.shape.length || a.shape.some((d, i) => d !== slot.shape[i]) || a.data.length !== slot.size) {
          throw new Error(`${file}: ${group} ${name} has shape [${a.shape.join(', ')}], the network [${slot.shape.join(', ')}]`);
        }
        out.set(a.data, slot.offset);
      }
      return out;
    };
    const main = await this.home();
    main.writeParams(flat('param', layout.params, layout.paramCount, false), flat('momentum', layout.params, layout.paramCount, true), flat('buffer', layout.buffers, layout.bufferCount, false));
  }

  destroy(): void {
    for (const e of [...this.trainPlans.values(), ...this.evalPlans.values()]) e.destroy();
    this.trainPlans.clear();
    this.evalPlans.clear();
    destroyDevice(this.opened);
  }
}

function destroyDevice(device: GpuDevice | undefined): void {
  (device as { destroy?(): void } | undefined)?.destroy?.();
}

function add(a: StepSums, b: StepSums): StepSums {
  return { lossSum: a.lossSum + b.lossSum, correct: a.correct + b.correct, seen: a.seen + b.seen, steps: a.steps + b.steps };
}
