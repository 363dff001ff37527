/**
 * CIFAR-10 and CIFAR-100, the official binary versions
 * (cifar-10-binary.tar.gz / cifar-100-binary.tar.gz).
 *
 * Layout: records of `label bytes` + 3072 pixel bytes, the pixels as three
 * 32×32 planes (R, G, B), rows top to bottom. CIFAR-10 has one label byte
 * (class 0..9), five 10,000-record training batches and a 10,000-record
 * test batch; CIFAR-100 has two (coarse 0..19, then fine 0..99 — we use the
 * fine label) and one 50,000-record train.bin and 10,000-record test.bin.
 *
 * The needed members are extracted once into the cache folder (the
 * archive's own folder name) and read from there afterwards.
 */
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { ensureArchive, type ArchiveSpec } from './archive.js';
import { DataFileError } from './errors.js';
import { exists, gunzipStream, resolveDataDir, writeNewFile } from './files.js';
import { applySubsets } from './finish.js';
import { readTar } from './tar.js';
import type { Dataset, ImageSet, LoadOptions } from '../../shared/datasetTypes.js';

const SIDE = 32;
const PIXELS = SIDE * SIDE * 3;

export interface CifarSpec extends ArchiveSpec {
  readonly name: 'cifar10' | 'cifar100';
  /** Folder at the top of the archive, also used in the cache folder. */
  readonly folder: string;
  readonly trainFiles: readonly string[];
  readonly testFile: string;
  /** 1 (CIFAR-10: the class) or 2 (CIFAR-100: coarse, then fine class). */
  readonly labelBytes: 1 | 2;
  readonly classes: number;
  /** Records per training file and in the test file; null accepts any whole number. */
  readonly records: { readonly train: number; readonly test: number } | null;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

// Checksums and sizes as published on the CIFAR page and used by torchvision
// and other loaders (checked against several independent sources).
export const CIFAR10_SPEC: CifarSpec = {
  name: 'cifar10',
  title: 'CIFAR-10',
  fileName: 'cifar-10-binary.tar.gz',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  size: 170_052_171,
  folder: 'cifar-10-batches-bin',
  trainFiles: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  testFile: 'test_batch.bin',
  labelBytes: 1,
  classes: 10,
  records: { train: 10_000, test: 10_000 },
  mean: [0.4914, 0.4822, 0.4465],
  std: [0.247, 0.2435, 0.2616],
};

export const CIFAR100_SPEC: CifarSpec = {
  name: 'cifar100',
  title: 'CIFAR-100',
  fileName: 'cifar-100-binary.tar.gz',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
  md5: '03b5dce01913d631647c71ecec9e9cb8',
  size: 168_513_733,
  folder: 'cifar-100-binary',
  trainFiles: ['train.bin'],
  testFile: 'test.bin',
  labelBytes: 2,
  classes: 100,
  records: { train: 50_000, test: 10_000 },
  mean: [0.5071, 0.4865, 0.4409],
  std: [0.2673, 0.2564, 0.2762],
};

/**
 * Parses one binary batch file into NHWC images and labels, checking its
 * size and every label; errors name `file`.
 */
export function parseCifarBatch(bytes: Uint8Array, file: string, spec: Pick<CifarSpec, 'labelBytes' | 'classes'>, expectedRecords: number | null): ImageSet {
  const record = spec.labelBytes + PIXELS;
  if (expectedRecords !== null && bytes.length !== expectedRecords * record) {
    throw new DataFileError(file, `wrong size: ${bytes.length} bytes, expected ${expectedRecords * record} (${expectedRecords} records of ${record} bytes)`);
  }
  if (bytes.length === 0 || bytes.length % record !== 0) {
    throw new DataFileError(file, `wrong size: ${bytes.length} bytes is not a whole number of ${record}-byte records (truncated?)`);
  }
  const count = bytes.length / record;
  const images = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  const plane = SIDE * SIDE;
  const coarseClasses = 20;
  for (let n = 0; n < count; n++) {
    const base = n * record;
    if (spec.labelBytes === 2 && bytes[base]! >= coarseClasses) {
      throw new DataFileError(file, `record ${n} has coarse label ${bytes[base]}, outside 0..${coarseClasses - 1}`);
    }
    const label = bytes[base + spec.labelBytes - 1]!;
    if (label >= spec.classes) throw new DataFileError(file, `record ${n} has label ${label}, outside 0..${spec.classes - 1}`);
    labels[n] = label;
    const src = base + spec.labelBytes;
    const dst = n * PIXELS;
    for (let p = 0; p < plane; p++) {
      images[dst + p * 3] = bytes[src + p]!;
      images[dst + p * 3 + 1] = bytes[src + plane + p]!;
      images[dst + p * 3 + 2] = bytes[src + 2 * plane + p]!;
    }
  }
  return { count, height: SIDE, width: SIDE, channels: 3, images, labels };
}

/** Joins image sets of the same shape, in order. */
export function concatSets(sets: readonly ImageSet[]): ImageSet {
  const first = sets[0]!;
  const count = sets.reduce((n, s) => n + s.count, 0);
  const images = new Uint8Array(sets.reduce((n, s) => n + s.images.length, 0));
  const labels = new Int32Array(count);
  let i = 0;
  let l = 0;
  for (const s of sets) {
    images.set(s.images, i);
    labels.set(s.labels, l);
    i += s.images.length;
    l += s.count;
  }
  return { count, height: first.height, width: first.width, channels: first.channels, images, labels };
}

/** Extracts the listed members of the archive that are not in `folder` yet. */
async function extractMissing(archive: string, spec: CifarSpec, folder: string, missing: readonly string[]): Promise<void> {
  const wanted = new Map<string, string>(missing.map((f) => [`${spec.folder}/${f}`, f]));
  const found = new Set<string>();
  for await (const entry of readTar(gunzipStream(archive), archive, (name) => wanted.has(name))) {
    const target = wanted.get(entry.name);
    if (target === undefined || entry.type !== 'file' || !entry.data) continue;
    await writeNewFile(join(folder, target), entry.data);
    found.add(target);
  }
  const absent = missing.filter((f) => !found.has(f));
  if (absent.length > 0) throw new DataFileError(archive, `has no member ${absent.map((f) => `${spec.folder}/${f}`).join(', ')}`);
}

export async function loadCifar(spec: CifarSpec, options: LoadOptions = {}): Promise<Dataset> {
  const dataDir = resolveDataDir(options.dataDir);
  const folder = join(dataDir, spec.folder);
  const needed = [...spec.trainFiles, spec.testFile];
  const missing: string[] = [];
  for (const f of needed) if (!(await exists(join(folder, f)))) missing.push(f);
  if (missing.length > 0) {
    const archive = await ensureArchive(spec, dataDir, options);
    await extractMissing(archive, spec, folder, missing);
  }
  const read = async (f: string, records: number | null) => parseCifarBatch(await fs.readFile(join(folder, f)), join(folder, f), spec, records);
  const trainSets: ImageSet[] = [];
  for (const f of spec.trainFiles) trainSets.push(await read(f, spec.records?.train ?? null));
  const test = await read(spec.testFile, spec.records?.test ?? null);
  return applySubsets(
    { name: spec.name, classes: spec.classes, train: concatSets(trainSets), test, mean: spec.mean, std: spec.std, source: folder },
    options,
  );
}
