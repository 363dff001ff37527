/**
 * Named training settings. `paper` is the recipe of Shu, Wang & Cai's
 * convergence, landscape and gradient-variance runs (DARTS `NetworkCIFAR`,
 * C = 36, 20 cells, SGD lr 0.025, momentum 0.9, weight decay 3e-4, batch 80,
 * cosine to 0, clip 5, crop + flip, no cutout / auxiliary head / drop path;
 * 600 epochs on CIFAR, 300 on Tiny-ImageNet). Fashion-MNIST and the synthetic
 * set are not in the paper: they get the CIFAR settings.
 *
 * `quick` is a small network on data subsets that trains in minutes on a
 * laptop CPU (wasm backend): for trying the pipeline, never for conclusions.
 *
 * Command-line flags override any field.
 */
import type { PresetName, RunConfig } from '../shared/runTypes.js';
import type { DatasetName } from '../shared/datasetTypes.js';

export type PresetSettings = Pick<
  RunConfig,
  | 'epochs'
  | 'batchSize'
  | 'lr'
  | 'lrMin'
  | 'momentum'
  | 'weightDecay'
  | 'gradClip'
  | 'layers'
  | 'channels'
  | 'auxiliary'
  | 'auxiliaryWeight'
  | 'augment'
  | 'cutout'
  | 'cutoutLength'
  | 'dropPath'
  | 'trainSubset'
  | 'testSubset'
  | 'gradVarianceBatches'
>;

const PAPER: PresetSettings = Object.freeze({
  epochs: 600,
  batchSize: 80,
  lr: 0.025,
  lrMin: 0,
  momentum: 0.9,
  weightDecay: 3e-4,
  gradClip: 5,
  layers: 20,
  channels: 36,
  auxiliary: false,
  auxiliaryWeight: 0.4,
  augment: true,
  cutout: false,
  cutoutLength: 16,
  dropPath: 0,
  trainSubset: null,
  testSubset: null,
  gradVarianceBatches: 10,
});

// A small network that learns in minutes on a CPU: 5 cells learn about twice
// as fast per image as 3, at 1.5× the cost per image. (The Fashion-MNIST
// learning test, test/unit/train-loop-learning, overrides it: 4 cells, 4
// epochs over 4,000 images, which ends further above its 80 % bar.)
const QUICK: PresetSettings = Object.freeze({
  ...PAPER,
  epochs: 3,
  batchSize: 32,
  lr: 0.05,
  layers: 5,
  channels: 8,
  trainSubset: 2000,
  testSubset: 500,
  gradVarianceBatches: 4,
});

export function presetSettings(preset: PresetName, dataset: DatasetName): PresetSettings {
  if (preset === 'quick') {
    // 28×28 and 32×32 images: a cutout of 16 would hide half of a digit-sized image.
    return dataset === 'fashion-mnist' ? { ...QUICK, cutoutLength: 8 } : QUICK;
  }
  switch (dataset) {
    case 'tiny-imagenet':
      return { ...PAPER, epochs: 300 };
    case 'fashion-mnist':
      return { ...PAPER, cutoutLength: 8 };
    default:
      return PAPER;
  }
}
