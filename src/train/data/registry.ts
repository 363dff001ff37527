/**
 * One entry point for every dataset, and what is known about each before
 * loading it (shape, classes) — e.g. to build the network or print help.
 */
import { CIFAR10_SPEC, CIFAR100_SPEC, loadCifar } from './cifar.js';
import { FASHION_MNIST_SPEC, loadFashionMnist } from './fashionMnist.js';
import { SYNTHETIC_CLASSES, SYNTHETIC_SIDE, loadSynthetic } from './synthetic.js';
import { TINY_IMAGENET_SPEC, loadTinyImagenet } from './tinyImagenet.js';
import { DataFileError } from './errors.js';
import { dataFolderProblem, resolveDataDir } from './files.js';
import { DATASET_NAMES, type Dataset, type DatasetName, type DownloadProgress, type LoadOptions } from '../../shared/datasetTypes.js';
import type { RunConfig } from '../../shared/runTypes.js';

export interface DatasetInfo {
  readonly name: DatasetName;
  readonly title: string;
  readonly classes: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** Official sizes of the splits (Tiny-ImageNet: its labelled validation split as test). */
  readonly trainCount: number;
  readonly testCount: number;
  /** Whether it needs files (downloaded or installed) rather than being embedded. */
  readonly needsFiles: boolean;
}

export const DATASET_INFO: Readonly<Record<DatasetName, DatasetInfo>> = {
  synthetic: { name: 'synthetic', title: 'Synthetic (embedded)', classes: SYNTHETIC_CLASSES, height: SYNTHETIC_SIDE, width: SYNTHETIC_SIDE, channels: 3, trainCount: 10_000, testCount: 2_000, needsFiles: false },
  cifar10: { name: 'cifar10', title: 'CIFAR-10', classes: 10, height: 32, width: 32, channels: 3, trainCount: 50_000, testCount: 10_000, needsFiles: true },
  cifar100: { name: 'cifar100', title: 'CIFAR-100', classes: 100, height: 32, width: 32, channels: 3, trainCount: 50_000, testCount: 10_000, needsFiles: true },
  'tiny-imagenet': { name: 'tiny-imagenet', title: 'Tiny-ImageNet-200', classes: 200, height: 64, width: 64, channels: 3, trainCount: 100_000, testCount: 10_000, needsFiles: true },
  'fashion-mnist': { name: 'fashion-mnist', title: 'Fashion-MNIST', classes: 10, height: 28, width: 28, channels: 1, trainCount: 60_000, testCount: 10_000, needsFiles: true },
};

export function isDatasetName(value: string): value is DatasetName {
  return (DATASET_NAMES as readonly string[]).includes(value);
}

/**
 * Loads a dataset (from the cache folder, installed files, a download, or
 * generated), then applies the requested subsets.
 */
export async function loadDataset(name: DatasetName, options: LoadOptions = {}): Promise<Dataset> {
  if (name !== 'synthetic') {
    const dir = resolveDataDir(options.dataDir);
    const problem = dataFolderProblem(dir);
    if (problem !== undefined) throw new DataFileError(dir, `${problem} (the dataset folder, from --data or $CELLSCOPE_DATA)`);
  }
  switch (name) {
    case 'synthetic':
      return loadSynthetic(options);
    case 'cifar10':
      return loadCifar(CIFAR10_SPEC, options);
    case 'cifar100':
      return loadCifar(CIFAR100_SPEC, options);
    case 'tiny-imagenet':
      return loadTinyImagenet(TINY_IMAGENET_SPEC, options);
    case 'fashion-mnist':
      return loadFashionMnist(FASHION_MNIST_SPEC, options);
    default: {
      const unknown: never = name;
      throw new RangeError(`unknown dataset ${String(unknown)}; known: ${DATASET_NAMES.join(', ')}`);
    }
  }
}

/** The dataset of a run, as its configuration names it (the trainer and the landscape probe read the same data). */
export function loadRunDataset(config: RunConfig, onProgress?: (p: DownloadProgress) => void): Promise<Dataset> {
  return loadDataset(config.dataset, {
    ...(config.dataDir !== null ? { dataDir: config.dataDir } : {}),
    download: config.download,
    ...(config.trainSubset !== null ? { trainSubset: config.trainSubset } : {}),
    ...(config.testSubset !== null ? { testSubset: config.testSubset } : {}),
    seed: config.seed,
    ...(onProgress ? { onProgress } : {}),
  });
}
