/**
 * DARTS' training transforms on one image, in its order: RandomCrop(size,
 * padding=4) → RandomHorizontalFlip → ToTensor → Normalize(mean, std) →
 * Cutout(length). Padding is with black pixels before normalisation (as
 * torchvision pads the PIL image), cutout zeroes normalised values (as the
 * DARTS Cutout multiplies the normalised tensor by a mask).
 */
import type { NumpyRandomState } from '../../genotype/numpyRandom.js';

export const CROP_PADDING = 4;

/** Where to crop from, whether to mirror and where cutout goes for one image. */
export interface AugmentParams {
  /** Row and column of the crop window in the padded image, 0..2·CROP_PADDING. */
  readonly top: number;
  readonly left: number;
  readonly flip: boolean;
  /** Centre of the cutout square; ignored when cutout is off. */
  readonly cutoutY: number;
  readonly cutoutX: number;
}

export const IDENTITY_AUGMENT: AugmentParams = { top: CROP_PADDING, left: CROP_PADDING, flip: false, cutoutY: 0, cutoutX: 0 };

/**
 * Draws one image's parameters in a fixed order: crop row, crop column
 * (each `randint(0, 2·pad + 1)`), flip (one bounded draw on [0, 1]), then,
 * with cutout on, its centre `randint(0, h)`, `randint(0, w)` as the DARTS
 * Cutout does.
 */
export function drawAugmentation(rng: NumpyRandomState, height: number, width: number, augment: boolean, cutout: number): AugmentParams {
  let top = CROP_PADDING;
  let left = CROP_PADDING;
  let flip = false;
  if (augment) {
    top = rng.randint(0, 2 * CROP_PADDING + 1);
    left = rng.randint(0, 2 * CROP_PADDING + 1);
    flip = rng.randomInterval(1) === 1;
  }
  let cutoutY = 0;
  let cutoutX = 0;
  if (cutout > 0) {
    cutoutY = rng.randint(0, height);
    cutoutX = rng.randint(0, width);
  }
  return { top, left, flip, cutoutY, cutoutX };
}

/**
 * `table[c·256 + v]` = (v/255 − mean[c]) / std[c], computed once per batch
 * stream so that normalising is a lookup.
 */
export function normalisationTable(mean: readonly number[], std: readonly number[], channels: number): Float32Array {
  if (mean.length !== channels || std.length !== channels) {
    throw new RangeError(`mean and std need ${channels} values (one per channel), got ${mean.length} and ${std.length}`);
  }
  const table = new Float32Array(channels * 256);
  for (let c = 0; c < channels; c++) {
    if (!(std[c]! > 0)) throw new RangeError(`std[${c}] must be positive, got ${std[c]}`);
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - mean[c]!) / std[c]!;
  }
  return table;
}

/** The rows [y0, y1) and columns [x0, x1) DARTS' Cutout zeroes: a length-square clipped to the image. */
export function cutoutBox(params: AugmentParams, height: number, width: number, length: number): { y0: number; y1: number; x0: number; x1: number } {
  const half = Math.floor(length / 2);
  const clip = (v: number, hi: number) => Math.min(Math.max(v, 0), hi);
  return {
    y0: clip(params.cutoutY - half, height),
    y1: clip(params.cutoutY + half, height),
    x0: clip(params.cutoutX - half, width),
    x1: clip(params.cutoutX + half, width),
  };
}

/**
 * Writes image `src[srcOffset ..]` (height × width × channels bytes, HWC),
 * cropped/flipped/normalised/cut out per `params`, into `out[outOffset ..]`.
 * Output pixel (y, x) is input pixel (y + top − pad, x' + left − pad) with
 * x' = width − 1 − x when flipped, or a black padding pixel outside the image.
 */
export function writeAugmented(
  src: Uint8Array,
  srcOffset: number,
  height: number,
  width: number,
  channels: number,
  table: Float32Array,
  params: AugmentParams,
  cutout: number,
  out: Float32Array,
  outOffset: number,
): void {
  const dy = params.top - CROP_PADDING;
  const dx = params.left - CROP_PADDING;
  for (let y = 0; y < height; y++) {
    const sy = y + dy;
    const rowInside = sy >= 0 && sy < height;
    for (let x = 0; x < width; x++) {
      const sx = (params.flip ? width - 1 - x : x) + dx;
      const o = outOffset + (y * width + x) * channels;
      if (rowInside && sx >= 0 && sx < width) {
        const s = srcOffset + (sy * width + sx) * channels;
        for (let c = 0; c < channels; c++) out[o + c] = table[c * 256 + src[s + c]!]!;
      } else {
        for (let c = 0; c < channels; c++) out[o + c] = table[c * 256]!;
      }
    }
  }
  if (cutout > 0) {
    const { y0, y1, x0, x1 } = cutoutBox(params, height, width, cutout);
    for (let y = y0; y < y1; y++) out.fill(0, outOffset + (y * width + x0) * channels, outOffset + (y * width + x1) * channels);
  }
}
