/**
 * The smoothness probe of Section 4.3 on a trained run: the top eigenvalue
 * of the training loss's Hessian at the trained weights (power iteration)
 * and its trace (Hutchinson), written to `RUN/hessian.json`.
 *
 * Hessian-vector products. TensorFlow.js does not differentiate every
 * gradient kernel again (convolution backprop among them), so Hv is taken
 * by central differences of exact gradients:
 *   Hv ≈ (∇L(w + εv) − ∇L(w − εv)) / 2ε,
 * exact for a quadratic and O(ε²) otherwise, with the step ε‖v‖ a fixed
 * fraction of ‖w‖. The tests check it against the loss's own second
 * directional derivative (L(w+εv) − 2L(w) + L(w−εv))/ε² and the power
 * iteration against a quadratic with a known spectrum.
 *
 * The loss is the training objective on K fixed training batches (drawn once
 * from the seed, no augmentation), BatchNorm in training mode without
 * touching the running statistics: the loss whose smoothness governs how
 * fast SGD converges.
 */
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { NumpyRandomState } from '../../genotype/numpyRandom.js';
import { HESSIAN_FILE, type HessianFile } from '../../shared/landscapeTypes.js';
import { writeFileAtomic } from '../../runs/atomicFile.js';
import { selectTensorflowBackend, tensorflowBackendFor, type BackendChoice } from '../backend.js';
import { readRunRecord } from '../../runs/runStore.js';
import { readCheckpoint } from '../checkpoint.js';
import { batches } from '../data/index.js';
import { loadTrainedRun, LandscapeError, probeObjective } from './landscape.js';
import { hutchinsonTrace, norm, topEigenvalue, type HessianAction, type PowerIterationResult } from './hessianPower.js';
import type { Network } from '../network/network.js';

export interface HessianRequest {
  /** Power iterations at most (default 20). */
  readonly iterations?: number;
  /** Rademacher samples of the trace (default 10; 0: no trace). */
  readonly traceSamples?: number;
  /** K training batches of the loss (default the run's gradVarianceBatches, else 2). */
  readonly batches?: number;
  readonly seed?: number;
  readonly stepRelative?: number;
  readonly backend?: BackendChoice;
}

/**
 * stepRelative: the move ε‖v‖ as a fraction of ‖w‖. Float32 gradients need a move well above their rounding; ReLU
 * kinks and BatchNorm make the loss only piecewise smooth, so the curvature is that at this scale (0.5 % of ‖w‖).
 */
export const HESSIAN_DEFAULTS = { iterations: 20, traceSamples: 10, batches: 2, seed: 0, stepRelative: 5e-3 } as const;

/** The training loss and its gradient as functions of a flat displacement of the trainable parameters. */
export interface FlatLoss {
  /** Number of trainable parameters. */
  readonly size: number;
  /** ‖w‖ of the trained weights. */
  readonly weightNorm: number;
  /** L(w + t·v) and, with `gradient`, ∇L there (flat, float64). */
  at(v: Float64Array | null, t: number, gradient: boolean): Promise<{ loss: number; gradient?: Float64Array }>;
  /** Back to the trained weights; frees nothing. */
  reset(): void;
  dispose(): void;
}

/** One fixed batch of the probe's loss, as tensors the caller owns. */
export interface ProbeBatch {
  readonly x: tf.Tensor4D;
  readonly y: tf.Tensor1D;
}

/**
 * The training objective of `network` on fixed `probe` batches as a FlatLoss
 * over its trainable parameters. Moving the weights assigns base + t·v, and
 * `reset` assigns the kept copies of the weights it started from, so the
 * network ends bit for bit where it was: the trainer runs this between
 * epochs without changing what it trains. BatchNorm runs in training mode
 * with its running statistics untouched, and no drop path (no random draw).
 * `dispose` restores the weights and frees the copies; the network and the
 * batches stay the caller's.
 */
export async function flatLossOf(network: Network, probe: readonly ProbeBatch[], auxiliaryWeight: number): Promise<FlatLoss> {
  const variables = [...network.params.values()].filter((v) => v.trainable);
  const base = variables.map((v) => tf.keep(v.clone()));
  const sizes = variables.map((v) => v.size);
  const size = sizes.reduce((a, b) => a + b, 0);
  let weightNormSq = 0;
  for (const t of base) for (const x of (await t.data()) as Float32Array) weightNormSq += x * x;
  const objective = () => {
    let total: tf.Scalar = tf.scalar(0);
    for (const p of probe) total = tf.add(total, probeObjective(network, p.x, p.y, auxiliaryWeight, 'train')) as tf.Scalar;
    return tf.div(total, probe.length) as tf.Scalar;
  };
  const moveTo = (v: Float64Array | null, t: number) =>
    tf.tidy(() => {
      let offset = 0;
      variables.forEach((variable, k) => {
        if (v === null || t === 0) variable.assign(base[k]!);
        else variable.assign(tf.add(base[k]!, tf.mul(tf.tensor(Float32Array.from(v.subarray(offset, offset + sizes[k]!)), variable.shape, 'float32'), t)));
        offset += sizes[k]!;
      });
    });
  return {
    size,
    weightNorm: Math.sqrt(weightNormSq),
    async at(v, t, gradient) {
      moveTo(v, t);
      if (!gradient) {
        const l = tf.tidy(objective);
        try {
          return { loss: (await l.data())[0]! };
        } finally {
          l.dispose();
        }
      }
      const [l, flat] = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(objective, variables);
        return [value, tf.concat(variables.map((x) => (grads[x.name] != null ? tf.reshape(grads[x.name]!, [-1]) : tf.zeros([x.size]))))];
      });
      try {
        const [lv, gv] = await Promise.all([l.data(), flat.data()]);
        return { loss: lv[0]!, gradient: Float64Array.from(gv as Float32Array) };
      } finally {
        tf.dispose([l, flat]);
      }
    },
    reset: () => moveTo(null, 0),
    dispose: () => {
      moveTo(null, 0);
      tf.dispose(base);
    },
  };
}

/** Opens the run's network on the active backend with K fixed training batches as a FlatLoss. */
export async function openFlatLoss(runDir: string, options: { batches: number; seed: number }): Promise<FlatLoss & { readonly epoch: number; readonly batchSize: number; readonly runId: string }> {
  const { record, dataset, network, toTensor } = await loadTrainedRun(runDir);
  const probe: ProbeBatch[] = [];
  for (const b of batches(dataset.train, dataset, { batchSize: record.config.batchSize, shuffle: true, augment: false, rng: new NumpyRandomState(options.seed), dropLast: true })) {
    probe.push({ x: toTensor(b), y: tf.tensor1d(b.y, 'int32') });
    if (probe.length === options.batches) break;
  }
  const held = probe.flatMap((p) => [p.x, p.y]);
  if (probe.length === 0) {
    network.dispose();
    throw new LandscapeError(`the training set has no full batch of ${record.config.batchSize} for the Hessian probe`);
  }
  const loss = await flatLossOf(network, probe, record.config.auxiliaryWeight);
  const epoch = readCheckpoint<{ epoch?: number }>(join(runDir, 'checkpoint.bin')).meta.epoch ?? record.epochsCompleted;
  return {
    ...loss,
    epoch,
    batchSize: record.config.batchSize,
    runId: record.id,
    dispose: () => {
      loss.dispose();
      tf.dispose(held);
      network.dispose();
    },
  };
}

/** Hv by central differences of gradients, the step ε‖v‖ = stepRelative·‖w‖ (so the same relative move for any v). */
export function centralDifferenceHvp(loss: FlatLoss, stepRelative: number): HessianAction {
  return async (v) => {
    const eps = (stepRelative * Math.max(loss.weightNorm, 1)) / Math.max(norm(v), 1e-30);
    const plus = (await loss.at(v, eps, true)).gradient!;
    const minus = (await loss.at(v, -eps, true)).gradient!;
    loss.reset();
    const out = new Float64Array(v.length);
    for (let i = 0; i < v.length; i++) out[i] = (plus[i]! - minus[i]!) / (2 * eps);
    return out;
  };
}

/** What one smoothness measurement gives: the power iteration's result and Hutchinson's trace. */
export interface SmoothnessMeasurement {
  readonly power: PowerIterationResult;
  readonly trace: { readonly trace: number | null; readonly standardError: number | null; readonly samples: number };
}

/**
 * λ_max (power iteration, at most `iterations` steps) and the trace
 * (`traceSamples` Rademacher vectors; 0: none) of the loss's Hessian, both
 * seeded by `seed` with their own generator, so that nothing else's random
 * stream moves. `onProduct` is told after each Hessian-vector product.
 */
export async function measureSmoothness(
  loss: FlatLoss,
  options: { iterations: number; traceSamples: number; seed: number; stepRelative: number },
  onProduct: () => void = () => {},
): Promise<SmoothnessMeasurement> {
  const hv = centralDifferenceHvp(loss, options.stepRelative);
  const counted: HessianAction = async (v) => {
    const r = await hv(v);
    onProduct();
    return r;
  };
  const power = await topEigenvalue(loss.size, counted, { maxIterations: options.iterations, seed: options.seed });
  const trace = options.traceSamples > 0 ? await hutchinsonTrace(loss.size, counted, options.traceSamples, options.seed) : { trace: null, standardError: null, samples: 0 };
  return { power, trace };
}

/** Computes the run's top Hessian eigenvalue and trace and writes RUN/hessian.json; returns its content. */
export async function runHessianProbe(runDir: string, request: HessianRequest, env: { stdout: (text: string) => void }): Promise<HessianFile> {
  const record = readRunRecord(runDir);
  const backend = await selectTensorflowBackend(request.backend ?? (record.backend !== null ? tensorflowBackendFor(record.backend) : (record.config.backend as BackendChoice)));
  const batchCount = request.batches ?? (record.config.gradVarianceBatches > 0 ? record.config.gradVarianceBatches : HESSIAN_DEFAULTS.batches);
  const seed = request.seed ?? HESSIAN_DEFAULTS.seed;
  const stepRelative = request.stepRelative ?? HESSIAN_DEFAULTS.stepRelative;
  const loss = await openFlatLoss(runDir, { batches: batchCount, seed });
  try {
    let products = 0;
    const { power, trace } = await measureSmoothness(
      loss,
      { iterations: request.iterations ?? HESSIAN_DEFAULTS.iterations, traceSamples: request.traceSamples ?? HESSIAN_DEFAULTS.traceSamples, seed, stepRelative },
      () => env.stdout(`${JSON.stringify({ type: 'hessian', runId: record.id, products: ++products })}\n`),
    );
    const file: HessianFile = {
      format: 1,
      runId: record.id,
      epoch: loss.epoch,
      topEigenvalue: power.eigenvalue,
      iterations: power.iterations,
      converged: power.converged,
      history: power.history,
      trace: trace.trace,
      traceStandardError: trace.standardError,
      traceSamples: trace.samples,
      batches: batchCount,
      batchSize: loss.batchSize,
      method: 'gradient-central-difference',
      stepRelative,
      parameters: loss.size,
      seed,
      backend: backend.backend,
      createdAt: new Date().toISOString(),
    };
    writeFileAtomic(join(runDir, HESSIAN_FILE), `${JSON.stringify(file)}\n`);
    return file;
  } finally {
    loss.dispose();
  }
}
