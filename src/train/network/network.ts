/**
 * The DARTS evaluation network (`NetworkCIFAR`, shared/reference/
 * darts-network.md) built from any genotype: stem, `layers` cells with
 * reductions at layers//3 and 2·layers//3, global average pool and linear
 * classifier, optional auxiliary head on cell 2·layers//3, drop path, and a
 * stride-2 stem for inputs of 64×64 and more (Tiny-ImageNet).
 *
 * Inputs are NHWC float32 [N, H, W, 3]. Parameters live in `params` (and
 * BatchNorm running statistics in `buffers`) under PyTorch state-dict names;
 * see params.ts for the layouts. Its trainable parameter count equals
 * networkCost() of src/genotype/cost.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import { stemStrideFor } from '../../genotype/cost.js';
import type { Genotype } from '../../genotype/model.js';
import { batchNorm } from './batchNorm.js';
import { buildCell, type BuiltCell, type DropPath } from './cell.js';
import { batchNormParams, conv, convWeight, type ForwardMode } from './ops.js';
import { mulberry32 } from '../../shared/mulberry32.js';
import { ParamStore } from './params.js';

export interface NetworkOptions {
  readonly channels: number;
  readonly layers: number;
  readonly classes: number;
  /** Side of the square input; 32 by default. 64 or more → stride-2 stem. */
  readonly inputSize?: number;
  /** Build the auxiliary head (used in training mode only). */
  readonly auxiliary?: boolean;
  /** Seed of the weight initialisation (PyTorch's default distributions). */
  readonly seed?: number;
}

export interface ForwardOptions {
  readonly training: boolean;
  /** Update BatchNorm running statistics in training mode; default true. */
  readonly updateStats?: boolean;
  /** Drop-path probability for this pass (training only); 0 or absent: none. */
  readonly dropPathProb?: number;
  /** Source of the drop-path masks; default: the network's own seeded generator. */
  readonly random?: () => number;
}

export interface ForwardResult {
  readonly logits: tf.Tensor2D;
  /** Only in training mode with an auxiliary head. */
  readonly auxLogits?: tf.Tensor2D;
}

export interface Network {
  readonly options: Required<NetworkOptions>;
  readonly params: ReadonlyMap<string, tf.Variable>;
  readonly buffers: ReadonlyMap<string, tf.Variable>;
  readonly store: ParamStore;
  forward(x: tf.Tensor4D, options: ForwardOptions): ForwardResult;
  /**
   * Drop-path masks of one training pass with drop path on: each site draws
   * one value per sample, site after site, in this order (what data-parallel
   * threads replay to use the masks of the whole batch).
   */
  readonly dropPathSites: number;
  /** Trainable scalars; without the auxiliary head unless `withAuxiliary` (default: all that were built). */
  paramCount(withAuxiliary?: boolean): number;
  dispose(): void;
}

const STEM_MULTIPLIER = 3;
const AUX_MID = 128;
const AUX_FEATURES = 768;

/** Side after a stride-2 operation of the cell (PyTorch's formula for every DARTS op). */
function halve(side: number): number {
  return Math.floor((side - 1) / 2) + 1;
}

interface Head {
  forward(x: tf.Tensor4D, mode: ForwardMode): tf.Tensor2D;
}

function linear(store: ParamStore, name: string, inFeatures: number, outFeatures: number): (x: tf.Tensor2D) => tf.Tensor2D {
  const w = store.param(`${name}.weight`, [inFeatures, outFeatures], 'linear', 'fan_in', inFeatures);
  const b = store.param(`${name}.bias`, [outFeatures], 'vector', 'fan_in', inFeatures);
  return (x) => tf.add(tf.matMul(x, w), b);
}

/**
 * ReLU → 5×5 avg pool stride 3 → 1×1 conv 128 → BN → ReLU → 2×2 conv 768 →
 * BN → ReLU → linear, on an 8×8 feature map (as in DARTS: 32×32 inputs).
 */
function auxiliaryHead(store: ParamStore, cIn: number, classes: number, side: number): Head {
  const pooled = Math.floor((side - 5) / 3) + 1;
  if (pooled !== 2) {
    throw new Error(`the auxiliary head needs an 8×8 feature map at cell 2·layers/3 (32×32 inputs), got ${side}×${side}`);
  }
  store.auxiliary = true;
  const w1 = convWeight(store, 'auxiliary_head.features.2', cIn, AUX_MID, 1);
  const bn1 = batchNormParams(store, 'auxiliary_head.features.3', AUX_MID);
  const w2 = convWeight(store, 'auxiliary_head.features.5', AUX_MID, AUX_FEATURES, 2);
  const bn2 = batchNormParams(store, 'auxiliary_head.features.6', AUX_FEATURES);
  const classifier = linear(store, 'auxiliary_head.classifier', AUX_FEATURES, classes);
  store.auxiliary = false;
  return {
    forward: (x, mode) => {
      const p = tf.avgPool(tf.relu(x), 5, 3, 'valid');
      const a = tf.relu(batchNorm(conv(p, w1, 1), bn1, mode));
      const b = tf.relu(batchNorm(conv(a, w2, 1), bn2, mode));
      return classifier(tf.reshape(b, [b.shape[0], AUX_FEATURES]));
    },
  };
}

export function buildNetwork(genotype: Genotype, options: NetworkOptions): Network {
  const opts: Required<NetworkOptions> = {
    inputSize: 32,
    auxiliary: false,
    seed: 0,
    ...options,
  };
  const { channels, layers, classes, inputSize, auxiliary, seed } = opts;
  if (layers < 3) throw new Error(`the network needs at least 3 cells, got ${layers}`);
  const store = new ParamStore(seed);
  const stemStride = stemStrideFor(inputSize);
  const stemC = STEM_MULTIPLIER * channels;
  const stemW = convWeight(store, 'stem.0', 3, stemC, 3);
  const stemBn = batchNormParams(store, 'stem.1', stemC);

  const cells: BuiltCell[] = [];
  let cPrevPrev = stemC;
  let cPrev = stemC;
  let c = channels;
  let reductionPrev = false;
  let side = Math.floor((inputSize + 2 - 3) / stemStride) + 1;
  const auxAt = Math.floor((2 * layers) / 3);
  let aux: Head | undefined;
  for (let i = 0; i < layers; i++) {
    const reduction = i === Math.floor(layers / 3) || i === auxAt;
    if (reduction) c *= 2;
    const cell = buildCell(store, `cells.${i}`, {
      cell: reduction ? genotype.reduce : genotype.normal,
      cPrevPrev,
      cPrev,
      c,
      reduction,
      reductionPrev,
    });
    cells.push(cell);
    reductionPrev = reduction;
    cPrevPrev = cPrev;
    cPrev = cell.outChannels;
    if (reduction) side = halve(side);
    if (i === auxAt && auxiliary) aux = auxiliaryHead(store, cPrev, classes, side);
  }
  const classifier = linear(store, 'classifier', cPrev, classes);
  const ownRandom = mulberry32(seed ^ 0x5eed);

  return {
    options: opts,
    params: store.params,
    buffers: store.buffers,
    store,
    forward: (x, f) => {
      if (x.shape[3] !== 3) throw new Error(`expected NHWC input with 3 channels, got shape ${JSON.stringify(x.shape)}`);
      const mode = { training: f.training, updateStats: f.updateStats ?? true };
      const dropPath: DropPath | undefined =
        f.training && (f.dropPathProb ?? 0) > 0 ? { prob: f.dropPathProb!, random: f.random ?? ownRandom } : undefined;
      const stem = batchNorm(conv(x, stemW, stemStride, 1), stemBn, mode);
      let s0 = stem;
      let s1 = stem;
      let auxLogits: tf.Tensor2D | undefined;
      cells.forEach((cell, i) => {
        const out = cell.forward(s0, s1, dropPath === undefined ? mode : { ...mode, dropPath });
        s0 = s1;
        s1 = out;
        if (i === auxAt && aux !== undefined && f.training) auxLogits = aux.forward(s1, mode);
      });
      // DARTS's auxiliary head starts with an in-place ReLU on the cell's output:
      // harmless to later cells (each starts with a ReLU) but, when the head sits
      // on the last cell, the classifier reads the rectified output.
      if (auxLogits !== undefined && auxAt === layers - 1) s1 = tf.relu(s1);
      const pooled = tf.mean(s1, [1, 2]) as tf.Tensor2D;
      const logits = classifier(pooled);
      return auxLogits === undefined ? { logits } : { logits, auxLogits };
    },
    dropPathSites: cells.reduce((n, cell) => n + cell.dropPathSites, 0),
    paramCount: (withAuxiliary = true) => store.count(withAuxiliary),
    dispose: () => store.dispose(),
  };
}
