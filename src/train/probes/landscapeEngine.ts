/**
 * The landscape grid (landscape.ts) on the compiled plan engine (backend
 * `webgpu`, src/train/gpuplan) for runs the engine trained. The directions
 * are the TensorFlow.js network's (directions.ts, drawn as for any run); the
 * engine computes each point from the trained weights θ* and those
 * directions alone, θ* + α·d₁ + β·d₂ in float32 as PerturbedWeights does,
 * written into its plans with writeParams:
 * - loss and accuracy: eval-mode plans at the evaluation batch size (and the
 *   last, smaller batch's size), metrics summed on the GPU, one read per point;
 * - the gradient-variance surface with BatchNorm in training mode: a
 *   train-mode plan at learning rate 0 without drop path, each probe batch's
 *   raw gradient read back (as EngineTrainer's gradientVariance). Its
 *   running statistics and momentum, which such steps touch, are written
 *   back from the checkpoint before every point, so no point depends on
 *   another. (With BatchNorm in evaluation mode, the paper's default, the
 *   engine has no backward pass: landscape.ts computes that surface on the
 *   TensorFlow.js network.)
 */
import type { Genotype } from '../../genotype/model.js';
import type { GpuAdapter } from '../../shared/adapters.js';
import type { Batch } from '../data/index.js';
import type { GpuDevice } from '../gpuplan/engine.js';
import { GpuPlanEngine } from '../gpuplan/engine.js';
import type { InitialState } from '../gpuplan/layout.js';
import type { Direction } from './directions.js';
import { varianceOfGradients, type GradVarianceResult } from './gradVariance.js';

export interface LandscapeEngineOptions {
  readonly device: GpuDevice;
  readonly adapter: GpuAdapter;
  readonly genotype: Genotype;
  readonly network: { readonly channels: number; readonly layers: number; readonly classes: number; readonly inputSize: number; readonly auxiliary: boolean };
  /** The checkpoint's parameters and running statistics in the plan's layout (layoutOf on the loaded network). */
  readonly initial: InitialState;
  /** Images' channels in the dataset: grey images are repeated on the three input channels. */
  readonly inputChannels: number;
  readonly first: Direction;
  readonly second: Direction;
  /** The evaluation batches (loss, accuracy) and, for a training-mode variance surface, the probe's batches. */
  readonly evalBatches: readonly Batch[];
  readonly probe: readonly Batch[];
}

/** A direction as one flat array in the plan's parameter layout. */
function flat(initial: InitialState, direction: Direction): Float32Array {
  const out = new Float32Array(initial.layout.paramCount);
  for (const [name, slot] of initial.layout.params) {
    const d = direction.get(name);
    if (d === undefined) throw new Error(`no direction for parameter ${name}`);
    out.set(d, slot.offset);
  }
  return out;
}

export class LandscapeEngine {
  private readonly d1: Float32Array;
  private readonly d2: Float32Array;
  private readonly moved: Float32Array;
  private readonly evalPlans = new Map<number, GpuPlanEngine>();
  private trainPlan: GpuPlanEngine | undefined;
  private readonly zeros: Float32Array;

  private constructor(private readonly o: LandscapeEngineOptions) {
    this.d1 = flat(o.initial, o.first);
    this.d2 = flat(o.initial, o.second);
    this.moved = Float32Array.from(o.initial.params);
    this.zeros = new Float32Array(o.initial.layout.paramCount);
  }

  static async open(o: LandscapeEngineOptions): Promise<LandscapeEngine> {
    const engine = new LandscapeEngine(o);
    try {
      for (const b of o.evalBatches) await engine.planFor(b.size, 'eval');
      if (o.probe.length > 0) engine.trainPlan = await engine.planFor(o.probe[0]!.size, 'train');
    } catch (error) {
      engine.destroy();
      throw error;
    }
    return engine;
  }

  private async planFor(batch: number, mode: 'train' | 'eval'): Promise<GpuPlanEngine> {
    if (mode === 'eval') {
      const known = this.evalPlans.get(batch);
      if (known !== undefined) return known;
    }
    const denseKernels = this.o.adapter.kind === 'software' ? 'direct' : 'tiled';
    const plan = await GpuPlanEngine.create(this.o.device, this.o.genotype, { ...this.o.network, batch, mode, dropPath: false, denseKernels }, this.o.initial, { momentum: 0.9, weightDecay: 0, maxNorm: 1e30 });
    if (mode === 'eval') this.evalPlans.set(batch, plan);
    return plan;
  }

  /** The weights at (α, β): θ* + (α·d₁ + β·d₂), rounded to float32 at each operation as TensorFlow.js does. */
  moveTo(alpha: number, beta: number): void {
    const a = Math.fround(alpha);
    const b = Math.fround(beta);
    const base = this.o.initial.params;
    for (let i = 0; i < base.length; i++) this.moved[i] = Math.fround(base[i]! + Math.fround(Math.fround(this.d1[i]! * a) + Math.fround(this.d2[i]! * b)));
  }

  private images(batch: Batch): Float32Array {
    if (this.o.inputChannels === 3) return batch.x;
    const out = new Float32Array(batch.x.length * 3);
    for (let i = 0; i < batch.x.length; i++) out[3 * i] = out[3 * i + 1] = out[3 * i + 2] = batch.x[i]!;
    return out;
  }

  /** Mean test loss and accuracy at the current weights (evaluation mode, the checkpoint's running statistics). */
  async loss(): Promise<{ loss: number; accuracy: number }> {
    for (const plan of this.evalPlans.values()) {
      plan.writeParams(this.moved, undefined, this.o.initial.buffers);
      await plan.readMetrics();
    }
    for (const b of this.o.evalBatches) this.evalPlans.get(b.size)!.step({ images: this.images(b), labels: Int32Array.from(b.y) });
    let lossSum = 0;
    let correct = 0;
    let seen = 0;
    for (const plan of this.evalPlans.values()) {
      const m = await plan.readMetrics();
      lossSum += m.loss * plan.plan.settings.batch;
      correct += m.correct;
      seen += m.samples;
    }
    return { loss: lossSum / seen, accuracy: correct / seen };
  }

  /** The gradient variance over the probe's batches at the current weights, BatchNorm in training mode. */
  async variance(): Promise<GradVarianceResult> {
    const plan = this.trainPlan;
    if (plan === undefined) throw new Error('this landscape engine was opened without the variance probe');
    plan.writeParams(this.moved, this.zeros, this.o.initial.buffers);
    await plan.readMetrics();
    const self = this;
    try {
      return await varianceOfGradients(
        this.o.initial.layout.paramCount,
        (async function* () {
          for (const b of self.o.probe) {
            plan.step({ images: self.images(b), labels: Int32Array.from(b.y), lr: 0 });
            yield await plan.readGrads();
          }
        })(),
      );
    } finally {
      await plan.readMetrics();
    }
  }

  destroy(): void {
    for (const plan of this.evalPlans.values()) plan.destroy();
    this.evalPlans.clear();
    this.trainPlan?.destroy();
    this.trainPlan = undefined;
  }
}
