/**
 * The shapes every dataset loader produces and the batch iterator consumes.
 * Plain typed arrays only: the training loop turns batches into tensors, so
 * this layer stays free of TensorFlow and is fast to test.
 */

import type { NumpyRandomState } from '../genotype/numpyRandom.js';

export type DatasetName = 'synthetic' | 'cifar10' | 'cifar100' | 'tiny-imagenet' | 'fashion-mnist';

export const DATASET_NAMES: readonly DatasetName[] = ['synthetic', 'cifar10', 'cifar100', 'tiny-imagenet', 'fashion-mnist'];

/** `count` images of height × width × channels bytes, NHWC, with one label each. */
export interface ImageSet {
  readonly count: number;
  readonly height: number;
  readonly width: number;
  readonly channels: number;
  /** NHWC, 0..255. */
  readonly images: Uint8Array;
  /** Class index in [0, classes). */
  readonly labels: Int32Array;
}

export interface Dataset {
  readonly name: DatasetName;
  readonly classes: number;
  readonly train: ImageSet;
  /** The official test split; for Tiny-ImageNet the labelled validation split. */
  readonly test: ImageSet;
  /** Per-channel mean and standard deviation of pixel/255, used to normalise. */
  readonly mean: readonly number[];
  readonly std: readonly number[];
  /** Where the data came from: a file or folder path, or 'embedded'. */
  readonly source: string;
}

export interface DownloadProgress {
  readonly file: string;
  readonly received: number;
  readonly total?: number;
}

export interface LoadOptions {
  /** Cache folder; default $CELLSCOPE_DATA, else ~/.cache/cellscope/data. */
  dataDir?: string;
  /** Download missing archives (default true). */
  download?: boolean;
  /**
   * Folder URL that replaces the official download folder (the file name is
   * appended); default $CELLSCOPE_DATA_URL, else the official address. Lets
   * tests and mirrors serve the archives.
   */
  baseUrl?: string;
  /**
   * Download progress (bytes); also the one-time decoding of Tiny-ImageNet's
   * JPEGs, reported with `file` = the cache file and `received` = images done.
   */
  onProgress?: (p: DownloadProgress) => void;
  /** Keep only the first N of a seeded class-balanced permutation of the training set. */
  trainSubset?: number;
  /** Same for the test set. */
  testSubset?: number;
  /** Seed of the subset permutations (default 0). */
  seed?: number;
  /**
   * MD5 (lower-case hex) per archive file name, replacing the built-in table;
   * `null` skips verification of that file. For archives generated in tests
   * and for mirrors that repackage.
   */
  checksums?: Readonly<Record<string, string | null>>;
  /**
   * Folders searched for already-installed Fashion-MNIST files before the
   * cache folder; default Debian's /usr/share/datasets/fashion-mnist.
   */
  systemDirs?: readonly string[];
}

export interface BatchOptions {
  batchSize: number;
  shuffle: boolean;
  /** Random crop with 4 pixels of zero padding + random horizontal flip. */
  augment: boolean;
  /** Side of the square zeroed per image (DARTS cutout); 0 or absent = off. */
  cutout?: number;
  /** Draws the order and the augmentation; its state after an epoch is reproducible. */
  rng: NumpyRandomState;
  /** Drop a final batch smaller than batchSize (default false). */
  dropLast?: boolean;
  /**
   * Also give each batch's raw bytes and augmentation draws (`Batch.raw`), for
   * the plan engine's GPU augmentation: `only` leaves `x` empty (nothing
   * augmented on the CPU), `also` fills both. The draws are the same either way.
   */
  raw?: 'also' | 'only';
}

/** One image's augmentation draws (data/augment.ts's AugmentParams); no cutout: `cutoutY` = `cutoutX` = NO_CUTOUT. */
export interface RawAugment {
  readonly top: number;
  readonly left: number;
  readonly flip: boolean;
  readonly cutoutY: number;
  readonly cutoutX: number;
}

/** A cutout centre so far outside any image that its square is empty (an image a stream does not cut out). */
export const NO_CUTOUT = -65536;

export interface Batch {
  /** size × height × width × channels, normalised per channel. */
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly size: number;
  /** With `raw` asked for: the images' bytes (size × height × width × channels, HWC) and each one's draws. */
  readonly raw?: { readonly bytes: Uint8Array; readonly params: readonly RawAugment[] };
}
