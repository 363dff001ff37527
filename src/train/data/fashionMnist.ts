/**
 * Fashion-MNIST: 28×28 grey images of 10 kinds of clothing, 60,000 for
 * training and 10,000 for testing, in the IDX files of MNIST (gzipped).
 *
 * Kept at 28×28 with ONE channel: the network's stem takes its input
 * channels from the data, so nothing is gained by faking colour or padding
 * to 32×32. The normalisation constants are the dataset's usual ones
 * (pixel/255 has mean 0.2860 and standard deviation 0.3530 over the
 * training set).
 *
 * Where the files are looked for, per file, gzipped or not: the cache
 * folder's `fashion-mnist/`, then Debian's dataset-fashion-mnist package
 * (/usr/share/datasets/fashion-mnist), then downloaded into the cache folder.
 * Debian recompresses the .gz files, so their MD5s differ from the official
 * ones: files found on disk are checked by structure (magic, sizes, labels),
 * downloads additionally by the official MD5.
 */
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';
import { downloadUrl, expectedMd5 } from './archive.js';
import { DataFileError, DataUnavailableError } from './errors.js';
import { downloadFile, placeAdvice } from './download.js';
import { exists, gunzipFile, resolveDataDir } from './files.js';
import { applySubsets } from './finish.js';
import { parseIdx } from './idx.js';
import type { Dataset, ImageSet, LoadOptions } from '../../shared/datasetTypes.js';

export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

export interface FashionMnistSpec {
  readonly title: string;
  /** Sub-folder of the cache folder. */
  readonly folder: string;
  /** Official download folder; the file names are appended. */
  readonly baseUrl: string;
  readonly files: {
    readonly trainImages: string;
    readonly trainLabels: string;
    readonly testImages: string;
    readonly testLabels: string;
  };
  /** Official MD5 of each .gz file. */
  readonly md5: Readonly<Record<string, string>>;
  readonly classes: number;
  /** Expected image counts; null accepts any. */
  readonly counts: { readonly train: number; readonly test: number } | null;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

// MD5s from the Fashion-MNIST README (also shipped in Debian's package docs).
export const FASHION_MNIST_SPEC: FashionMnistSpec = {
  title: 'Fashion-MNIST',
  folder: 'fashion-mnist',
  baseUrl: 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com',
  files: {
    trainImages: 'train-images-idx3-ubyte.gz',
    trainLabels: 'train-labels-idx1-ubyte.gz',
    testImages: 't10k-images-idx3-ubyte.gz',
    testLabels: 't10k-labels-idx1-ubyte.gz',
  },
  md5: {
    'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
    'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
    't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
    't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
  },
  classes: 10,
  counts: { train: 60_000, test: 10_000 },
  mean: [0.286],
  std: [0.353],
};

/** The first existing candidate for `gzName` (or its un-gzipped twin) in `dirs`. */
async function findFile(gzName: string, dirs: readonly string[]): Promise<string | undefined> {
  const plain = gzName.replace(/\.gz$/, '');
  for (const dir of dirs) {
    for (const name of [gzName, plain]) {
      const path = join(dir, name);
      if (await exists(path)) return path;
    }
  }
  return undefined;
}

/** Reads an IDX file, gunzipping when it starts with the gzip magic. */
async function readIdx(path: string, ndims: number) {
  const raw = await fs.readFile(path);
  const bytes = raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b ? gunzipFile(raw, path) : raw;
  return parseIdx(bytes, path, ndims);
}

async function locate(spec: FashionMnistSpec, gzName: string, cacheDir: string, options: LoadOptions): Promise<string> {
  const systemDirs = options.systemDirs ?? [DEBIAN_FASHION_MNIST_DIR];
  const found = await findFile(gzName, [cacheDir, ...systemDirs]);
  if (found) return found;
  const dest = join(cacheDir, gzName);
  if (options.download === false) {
    throw new DataUnavailableError(
      `${spec.title} file ${gzName} is not in ${[cacheDir, ...systemDirs].join(' or ')} and downloading is off; ` +
        `${placeAdvice(gzName, cacheDir)} (or install Debian's dataset-fashion-mnist)`,
    );
  }
  const archive = { title: spec.title, fileName: gzName, url: `${spec.baseUrl}/${gzName}`, md5: spec.md5[gzName] ?? null };
  await downloadFile({
    title: spec.title,
    url: downloadUrl(archive, options),
    dest,
    md5: expectedMd5(archive, options),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return dest;
}

async function loadSplit(spec: FashionMnistSpec, imagesPath: string, labelsPath: string, expected: number | null): Promise<ImageSet> {
  const images = await readIdx(imagesPath, 3);
  const labels = await readIdx(labelsPath, 1);
  const [count, height, width] = images.dims as [number, number, number];
  if (expected !== null && count !== expected) throw new DataFileError(imagesPath, `holds ${count} images, expected ${expected}`);
  if (height !== 28 || width !== 28) throw new DataFileError(imagesPath, `holds ${height}×${width} images, expected 28×28`);
  if (labels.dims[0] !== count) throw new DataFileError(labelsPath, `holds ${labels.dims[0]} labels for the ${count} images of ${imagesPath}`);
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = labels.data[i]!;
    if (label >= spec.classes) throw new DataFileError(labelsPath, `label ${i} is ${label}, outside 0..${spec.classes - 1}`);
    out[i] = label;
  }
  return { count, height, width, channels: 1, images: Uint8Array.from(images.data), labels: out };
}

export async function loadFashionMnist(spec: FashionMnistSpec, options: LoadOptions = {}): Promise<Dataset> {
  const cacheDir = join(resolveDataDir(options.dataDir), spec.folder);
  const { trainImages, trainLabels, testImages, testLabels } = spec.files;
  const paths: string[] = [];
  for (const name of [trainImages, trainLabels, testImages, testLabels]) paths.push(await locate(spec, name, cacheDir, options));
  const [trImg, trLab, teImg, teLab] = paths as [string, string, string, string];
  const train = await loadSplit(spec, trImg, trLab, spec.counts?.train ?? null);
  const test = await loadSplit(spec, teImg, teLab, spec.counts?.test ?? null);
  return applySubsets(
    { name: 'fashion-mnist', classes: spec.classes, train, test, mean: spec.mean, std: spec.std, source: dirname(trImg) },
    options,
  );
}
