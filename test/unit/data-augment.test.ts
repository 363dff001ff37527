import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NumpyRandomState } from '../../src/genotype/numpyRandom.js';
import { CROP_PADDING, cutoutBox, drawAugmentation, normalisationTable, writeAugmented, type AugmentParams } from '../../src/train/data/augment.js';
import { batchCount, batches } from '../../src/train/data/batches.js';
import { NO_CUTOUT, type ImageSet } from '../../src/shared/datasetTypes.js';

/** Images whose every value is distinct enough to identify its position. */
function makeSet(count: number, height: number, width: number, channels: number): ImageSet {
  const images = new Uint8Array(count * height * width * channels);
  for (let i = 0; i < images.length; i++) images[i] = 1 + ((i * 37 + Math.floor(i / 251)) % 254);
  const labels = Int32Array.from({ length: count }, (_, i) => i % 7);
  return { count, height, width, channels, images, labels };
}

const unit = { mean: [0, 0, 0], std: [1, 1, 1] };
const raw = (set: ImageSet, n: number, y: number, x: number, c: number) => set.images[((n * set.height + y) * set.width + x) * set.channels + c]!;

test('normalisation: (v/255 − mean[c]) / std[c], per channel', () => {
  const set = makeSet(3, 4, 5, 3);
  const ds = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.2435, 0.2616] };
  const [batch] = [...batches(set, ds, { batchSize: 3, shuffle: false, augment: false, rng: new NumpyRandomState(0) })];
  assert.equal(batch!.x.length, set.images.length);
  for (let i = 0; i < set.images.length; i++) {
    const c = i % 3;
    assert.ok(Math.abs(batch!.x[i]! - (set.images[i]! / 255 - ds.mean[c]!) / ds.std[c]!) < 1e-6, `value ${i}`);
  }
  assert.deepEqual(Array.from(batch!.y), Array.from(set.labels));
});

test('crop with padding shifts content exactly; the border is black padding', () => {
  const set = makeSet(1, 6, 7, 2);
  const table = normalisationTable([0.5, 0.25], [0.5, 0.5], 2);
  const black = [table[0]!, table[256]!];
  for (let top = 0; top <= 2 * CROP_PADDING; top++) {
    for (let left = 0; left <= 2 * CROP_PADDING; left++) {
      const out = new Float32Array(6 * 7 * 2);
      writeAugmented(set.images, 0, 6, 7, 2, table, { top, left, flip: false, cutoutY: 0, cutoutX: 0 }, 0, out, 0);
      for (let y = 0; y < 6; y++) {
        for (let x = 0; x < 7; x++) {
          const sy = y + top - CROP_PADDING;
          const sx = x + left - CROP_PADDING;
          for (let c = 0; c < 2; c++) {
            const expected = sy >= 0 && sy < 6 && sx >= 0 && sx < 7 ? table[c * 256 + raw(set, 0, sy, sx, c)]! : black[c]!;
            assert.equal(out[(y * 7 + x) * 2 + c], expected, `top ${top} left ${left} at ${y},${x},${c}`);
          }
        }
      }
    }
  }
});

test('flip mirrors each row (after the crop)', () => {
  const set = makeSet(1, 5, 6, 3);
  const table = normalisationTable(unit.mean, unit.std, 3);
  const plain = new Float32Array(90);
  const flipped = new Float32Array(90);
  const params: AugmentParams = { top: 5, left: 2, flip: false, cutoutY: 0, cutoutX: 0 };
  writeAugmented(set.images, 0, 5, 6, 3, table, params, 0, plain, 0);
  writeAugmented(set.images, 0, 5, 6, 3, table, { ...params, flip: true }, 0, flipped, 0);
  for (let y = 0; y < 5; y++) for (let x = 0; x < 6; x++) for (let c = 0; c < 3; c++) {
    assert.equal(flipped[(y * 6 + x) * 3 + c], plain[(y * 6 + (5 - x)) * 3 + c]);
  }
});

test('cutout zeroes one length×length square (clipped at the border), after normalisation', () => {
  const set = makeSet(1, 32, 32, 3);
  const table = normalisationTable([0.11, 0.23, 0.37], [0.2, 0.2, 0.2], 3); // no byte maps to exactly 0
  const count = (out: Float32Array) => out.reduce((n, v) => n + (v === 0 ? 1 : 0), 0);
  const inside = new Float32Array(32 * 32 * 3);
  writeAugmented(set.images, 0, 32, 32, 3, table, { top: 4, left: 4, flip: false, cutoutY: 15, cutoutX: 20 }, 16, inside, 0);
  assert.equal(count(inside), 16 * 16 * 3);
  for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) {
    const zero = y >= 7 && y < 23 && x >= 12 && x < 28;
    assert.equal(inside[(y * 32 + x) * 3] === 0, zero, `${y},${x}`);
  }
  const corner = new Float32Array(32 * 32 * 3);
  writeAugmented(set.images, 0, 32, 32, 3, table, { top: 4, left: 4, flip: false, cutoutY: 2, cutoutX: 31 }, 16, corner, 0);
  // Rows 0..9 (2+8), columns 23..31: DARTS' Cutout clips rather than moves the square.
  assert.equal(count(corner), 10 * 9 * 3);
  assert.deepEqual(cutoutBox({ top: 0, left: 0, flip: false, cutoutY: 2, cutoutX: 31 }, 32, 32, 16), { y0: 0, y1: 10, x0: 23, x1: 32 });
});

test('drawAugmentation draws crops in 0..8, both flips, cutout centres over the image', () => {
  const rng = new NumpyRandomState(5);
  const tops = new Set<number>();
  const lefts = new Set<number>();
  const flips = new Set<boolean>();
  let maxY = 0;
  let maxX = 0;
  for (let i = 0; i < 2000; i++) {
    const p = drawAugmentation(rng, 20, 30, true, 16);
    tops.add(p.top);
    lefts.add(p.left);
    flips.add(p.flip);
    assert.ok(p.cutoutY >= 0 && p.cutoutY < 20 && p.cutoutX >= 0 && p.cutoutX < 30);
    maxY = Math.max(maxY, p.cutoutY);
    maxX = Math.max(maxX, p.cutoutX);
  }
  assert.deepEqual([...tops].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...lefts].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  assert.equal(flips.size, 2);
  assert.deepEqual([maxY, maxX], [19, 29]);
  // Without augmentation or cutout nothing is drawn.
  const quiet = new NumpyRandomState(5);
  drawAugmentation(quiet, 20, 30, false, 0);
  assert.equal(quiet.randomUint32(), new NumpyRandomState(5).randomUint32());
});

/** Finds the (top, left, flip) that explains an augmented image, or undefined. */
function explain(set: ImageSet, n: number, x: Float32Array, offset: number): { top: number; left: number; flip: boolean } | undefined {
  const table = normalisationTable(unit.mean, unit.std, set.channels);
  const size = set.height * set.width * set.channels;
  const candidate = new Float32Array(size);
  for (const flip of [false, true]) for (let top = 0; top <= 8; top++) for (let left = 0; left <= 8; left++) {
    writeAugmented(set.images, n * size, set.height, set.width, set.channels, table, { top, left, flip, cutoutY: 0, cutoutX: 0 }, 0, candidate, 0);
    if (candidate.every((v, i) => v === x[offset + i])) return { top, left, flip };
  }
  return undefined;
}

test('augmented batches: every image is an exact crop/flip of its source; the draws vary', () => {
  const set = makeSet(40, 12, 10, 3);
  const seen = new Set<string>();
  for (const batch of batches(set, unit, { batchSize: 16, shuffle: true, augment: true, rng: new NumpyRandomState(3) })) {
    for (let k = 0; k < batch.size; k++) {
      // The label identifies the image up to i % 7; find which one explains the pixels.
      const size = 12 * 10 * 3;
      const matches = [];
      for (let n = 0; n < set.count; n++) {
        if (set.labels[n] !== batch.y[k]) continue;
        const how = explain(set, n, batch.x, k * size);
        if (how) matches.push(how);
      }
      assert.equal(matches.length, 1, `batch image ${k}`);
      seen.add(JSON.stringify(matches[0]));
    }
  }
  assert.ok(seen.size > 20, `only ${seen.size} distinct augmentations in 40 images`);
});

test('shuffled epochs visit every image once; same seed same batches, other seed other order', () => {
  const set = makeSet(50, 4, 4, 1);
  set.labels.forEach((_, i) => (set.labels[i] = i));
  const epoch = (seed: number) => [...batches(set, { mean: [0.5], std: [0.25] }, { batchSize: 8, shuffle: true, augment: true, cutout: 2, rng: new NumpyRandomState(seed) })];
  const a = epoch(11);
  assert.deepEqual(a.map((b) => b.size), [8, 8, 8, 8, 8, 8, 2]);
  assert.equal(a.length, batchCount(50, 8));
  const order = a.flatMap((b) => Array.from(b.y));
  assert.deepEqual([...order].sort((p, q) => p - q), Array.from({ length: 50 }, (_, i) => i));
  assert.notDeepEqual(order, Array.from({ length: 50 }, (_, i) => i));
  const b = epoch(11);
  assert.deepEqual(b.map((x) => Array.from(x.x)), a.map((x) => Array.from(x.x)));
  assert.notDeepEqual(epoch(12).flatMap((x) => Array.from(x.y)), order);
});

test('dropLast drops the short batch; unshuffled order is the file order', () => {
  const set = makeSet(50, 2, 2, 1);
  const all = [...batches(set, { mean: [0], std: [1] }, { batchSize: 8, shuffle: false, augment: false, rng: new NumpyRandomState(0), dropLast: true })];
  assert.deepEqual(all.map((b) => b.size), [8, 8, 8, 8, 8, 8]);
  assert.equal(batchCount(50, 8, true), 6);
  assert.deepEqual(all.flatMap((b) => Array.from(b.y)), Array.from(set.labels.subarray(0, 48)));
});

test('the generator state after an epoch is reproducible and resumes via getState/setState', () => {
  const set = makeSet(30, 8, 8, 3);
  const opts = (rng: NumpyRandomState) => ({ batchSize: 7, shuffle: true, augment: true, cutout: 4, rng });
  const rng = new NumpyRandomState(21);
  for (const _ of batches(set, unit, opts(rng))) void _;
  const checkpoint = rng.getState();
  const second = [...batches(set, unit, opts(rng))].map((b) => Array.from(b.x));
  const resumed = new NumpyRandomState(0);
  resumed.setState(checkpoint);
  assert.deepEqual([...batches(set, unit, opts(resumed))].map((b) => Array.from(b.x)), second);
});

test('bad options fail at the call', () => {
  const set = makeSet(2, 2, 2, 3);
  const rng = new NumpyRandomState(0);
  assert.throws(() => batches(set, unit, { batchSize: 0, shuffle: false, augment: false, rng }), /batchSize/);
  assert.throws(() => batches(set, unit, { batchSize: 1, shuffle: false, augment: false, rng, cutout: -1 }), /cutout/);
  assert.throws(() => batches(set, { mean: [0], std: [1] }, { batchSize: 1, shuffle: false, augment: false, rng }), /3 values/);
  assert.throws(() => batches(set, { mean: [0, 0, 0], std: [1, 0, 1] }, { batchSize: 1, shuffle: false, augment: false, rng }), /std\[1\]/);
});

test("raw batches (the plan engine's GPU augmentation): the images' bytes and the same draws; 'only' augments nothing on the CPU, 'also' gives the floats too; no cutout is NO_CUTOUT", () => {
  const set = makeSet(5, 6, 6, 3);
  const options = { batchSize: 2, shuffle: true, augment: true, cutout: 4 };
  const plain = [...batches(set, unit, { ...options, rng: new NumpyRandomState(3) })];
  const only = [...batches(set, unit, { ...options, rng: new NumpyRandomState(3), raw: 'only' })];
  const also = [...batches(set, unit, { ...options, rng: new NumpyRandomState(3), raw: 'also' })];
  assert.equal(only.length, plain.length);
  const table = normalisationTable(unit.mean, unit.std, 3);
  const pixels = 6 * 6 * 3;
  plain.forEach((b, k) => {
    assert.deepEqual(Array.from(only[k]!.y), Array.from(b.y));
    assert.equal(only[k]!.x.length, 0);
    assert.deepEqual(also[k]!.x, b.x);
    assert.deepEqual(also[k]!.raw, only[k]!.raw);
    const { bytes, params } = only[k]!.raw!;
    assert.equal(params.length, b.size);
    // Augmenting the bytes with the draws gives the CPU's batch.
    const out = new Float32Array(b.size * pixels);
    for (let n = 0; n < b.size; n++) writeAugmented(bytes, n * pixels, 6, 6, 3, table, params[n] as AugmentParams, 4, out, n * pixels);
    assert.deepEqual(out, b.x);
  });
  const [noCut] = [...batches(set, unit, { batchSize: 2, shuffle: false, augment: false, rng: new NumpyRandomState(0), raw: 'only' })];
  assert.deepEqual(noCut!.raw!.params[0], { top: CROP_PADDING, left: CROP_PADDING, flip: false, cutoutY: NO_CUTOUT, cutoutX: NO_CUTOUT });
  assert.deepEqual(noCut!.raw!.bytes, set.images.subarray(0, 2 * pixels));
  // A NO_CUTOUT centre's square is empty.
  const box = cutoutBox({ top: 0, left: 0, flip: false, cutoutY: NO_CUTOUT, cutoutX: NO_CUTOUT }, 6, 6, 16);
  assert.ok(box.y1 <= box.y0 && box.x1 <= box.x0);
});
