/**
 * One epoch of mini-batches over an image set: seeded order, DARTS
 * augmentation, per-channel normalisation, as Float32 NHWC ready to become
 * a tensor.
 *
 * All randomness comes from `options.rng`, drawn in a fixed order: the
 * epoch's permutation first (when shuffling, `RandomState.permutation`),
 * then per image, batch by batch, the draws of `drawAugmentation`. So an
 * epoch run to its end leaves the generator in a reproducible state, and a
 * trainer that checkpoints `rng.getState()` between epochs resumes the exact
 * stream.
 */
import { NO_CUTOUT, type Batch, type BatchOptions, type Dataset, type ImageSet, type RawAugment } from '../../shared/datasetTypes.js';
import { IDENTITY_AUGMENT, drawAugmentation, normalisationTable, writeAugmented } from './augment.js';
import { permutation } from './random.js';

/** Checks the options at the call (not at the first `next()`), then iterates lazily. */
export function batches(set: ImageSet, dataset: Pick<Dataset, 'mean' | 'std'>, options: BatchOptions): Generator<Batch> {
  const { batchSize } = options;
  const cutout = options.cutout ?? 0;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  if (!Number.isInteger(cutout) || cutout < 0) throw new RangeError(`cutout must be a non-negative integer, got ${cutout}`);
  const table = normalisationTable(dataset.mean, dataset.std, set.channels);
  return iterate(set, table, options, cutout);
}

function* iterate(set: ImageSet, table: Float32Array, options: BatchOptions, cutout: number): Generator<Batch> {
  const { batchSize, shuffle, augment, rng } = options;
  const { height, width, channels } = set;
  const pixels = height * width * channels;
  const order = shuffle ? permutation(set.count, rng) : null;
  const full = options.dropLast ? Math.floor(set.count / batchSize) * batchSize : set.count;
  for (let start = 0; start < full; start += batchSize) {
    const size = Math.min(batchSize, full - start);
    const onCpu = options.raw !== 'only';
    const x = new Float32Array(onCpu ? size * pixels : 0);
    const y = new Int32Array(size);
    const bytes = options.raw !== undefined ? new Uint8Array(size * pixels) : undefined;
    const drawn: RawAugment[] = [];
    for (let k = 0; k < size; k++) {
      const index = order ? order[start + k]! : start + k;
      const params = augment || cutout > 0 ? drawAugmentation(rng, height, width, augment, cutout) : IDENTITY_AUGMENT;
      if (onCpu) writeAugmented(set.images, index * pixels, height, width, channels, table, params, cutout, x, k * pixels);
      if (bytes !== undefined) {
        bytes.set(set.images.subarray(index * pixels, (index + 1) * pixels), k * pixels);
        drawn.push(cutout > 0 ? params : { ...params, cutoutY: NO_CUTOUT, cutoutX: NO_CUTOUT });
      }
      y[k] = set.labels[index]!;
    }
    yield bytes !== undefined ? { x, y, size, raw: { bytes, params: drawn } } : { x, y, size };
  }
}

/** Number of batches `batches` yields for `count` images. */
export function batchCount(count: number, batchSize: number, dropLast = false): number {
  return dropLast ? Math.floor(count / batchSize) : Math.ceil(count / batchSize);
}
