/**
 * Tiny-ImageNet-200 (http://cs231n.stanford.edu/tiny-imagenet-200.zip):
 * 200 classes of 64×64 colour JPEGs; 500 training images per class under
 * `train/<wnid>/images/`, 10,000 labelled validation images in `val/images/`
 * whose classes are listed in `val/val_annotations.txt` (file, wnid, box),
 * and 10,000 unlabelled test images (not used).
 *
 * As in the paper's code (torchvision ImageFolder over train/ and a val/
 * regrouped by class), class indices follow the SORTED wnids, and the
 * validation split serves as the test set, ordered by class then file name.
 *
 * The JPEGs are decoded once (pure-JS jpeg-js; grey images become RGB) into
 * `tiny-imagenet-200.cache` next to the archive; later loads read only that.
 * The source is the archive, or an already extracted `tiny-imagenet-200/`
 * folder in the cache folder.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { unzipSync } from 'fflate';
import * as jpeg from 'jpeg-js';
import { ensureArchive, type ArchiveSpec } from './archive.js';
import { readImageCache, writeImageCache } from './cache.js';
import { DataFileError } from './errors.js';
import { exists, resolveDataDir } from './files.js';
import { applySubsets } from './finish.js';
import type { Dataset, ImageSet, LoadOptions } from '../../shared/datasetTypes.js';

export interface TinyImagenetSpec extends ArchiveSpec {
  /** Folder at the top of the archive. */
  readonly folder: string;
  /** Name of the decoded cache file next to the archive. */
  readonly cacheName: string;
  readonly classes: number;
  readonly side: number;
  /** Expected image counts; null accepts any. */
  readonly counts: { readonly train: number; readonly test: number } | null;
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

// MD5 and size as recorded by torchvision-style loaders and users' logs
// (several independent sources agree).
export const TINY_IMAGENET_SPEC: TinyImagenetSpec = {
  title: 'Tiny-ImageNet-200',
  fileName: 'tiny-imagenet-200.zip',
  url: 'http://cs231n.stanford.edu/tiny-imagenet-200.zip',
  md5: '90528d7ca1a48142e341f4ef8d21d0de',
  size: 248_100_043,
  folder: 'tiny-imagenet-200',
  cacheName: 'tiny-imagenet-200.cache',
  classes: 200,
  side: 64,
  counts: { train: 100_000, test: 10_000 },
  mean: [0.4802, 0.4481, 0.3975],
  std: [0.2302, 0.2265, 0.2262],
};

/** Files of the dataset, by path relative to its top folder. */
interface MemberSource {
  /** How to name a member in messages (a path a user can find). */
  describe(member: string): string;
  has(member: string): boolean;
  /** File names directly inside a folder member ('' when absent). */
  list(folder: string): string[];
  read(member: string): Uint8Array;
}

function zipSource(archive: string, top: string): MemberSource {
  let files: Record<string, Uint8Array>;
  try {
    // The unlabelled test images are never decoded: leave them compressed.
    files = unzipSync(readFileSync(archive), { filter: (f) => f.name.startsWith(`${top}/`) && !f.name.startsWith(`${top}/test/`) && !f.name.endsWith('/') });
  } catch (err) {
    throw new DataFileError(archive, `not a readable zip archive (${(err as Error).message}); truncated or damaged?`);
  }
  const members = new Map<string, Uint8Array>();
  for (const [name, data] of Object.entries(files)) members.set(name.slice(top.length + 1), data);
  return {
    describe: (m) => `${archive}: ${top}/${m}`,
    has: (m) => members.has(m),
    list: (folder) => {
      const prefix = `${folder}/`;
      const out: string[] = [];
      for (const name of members.keys()) if (name.startsWith(prefix) && !name.slice(prefix.length).includes('/')) out.push(name.slice(prefix.length));
      return out;
    },
    read: (m) => members.get(m)!,
  };
}

function folderSource(root: string): MemberSource {
  return {
    describe: (m) => join(root, m),
    has: (m) => {
      try {
        return statSync(join(root, m)).isFile();
      } catch {
        return false;
      }
    },
    list: (folder) => {
      try {
        return readdirSync(join(root, folder), { withFileTypes: true }).filter((d) => d.isFile()).map((d) => d.name);
      } catch {
        return [];
      }
    },
    read: (m) => readFileSync(join(root, m)),
  };
}

function textOf(source: MemberSource, member: string, why: string): string {
  if (!source.has(member)) throw new DataFileError(source.describe(member), `missing; ${why}`);
  return Buffer.from(source.read(member)).toString('utf8');
}

/** Decodes one JPEG into `out` at `offset` as side × side RGB. */
function decodeInto(source: MemberSource, member: string, side: number, out: Uint8Array, offset: number): void {
  let image: { width: number; height: number; data: Uint8Array };
  try {
    image = jpeg.decode(source.read(member), { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 64 });
  } catch (err) {
    throw new DataFileError(source.describe(member), `cannot decode JPEG (${(err as Error).message ?? String(err)})`);
  }
  if (image.width !== side || image.height !== side) {
    throw new DataFileError(source.describe(member), `is ${image.width}×${image.height}, expected ${side}×${side}`);
  }
  out.set(image.data.subarray(0, side * side * 3), offset);
}

const isJpeg = (name: string) => /\.jpe?g$/i.test(name);

/** Decodes the labelled images of a Tiny-ImageNet folder layout. */
function decodeTinyImagenet(
  source: MemberSource,
  spec: Pick<TinyImagenetSpec, 'classes' | 'side' | 'counts'>,
  onDecoded?: (done: number, total: number) => void,
): { train: ImageSet; test: ImageSet } {
  const wnidsText = textOf(source, 'wnids.txt', 'it lists the classes');
  const wnids = wnidsText.split(/\r?\n/).map((l) => l.trim()).filter((l) => l.length > 0);
  if (wnids.length !== spec.classes || new Set(wnids).size !== wnids.length) {
    throw new DataFileError(source.describe('wnids.txt'), `lists ${new Set(wnids).size} distinct classes, expected ${spec.classes}`);
  }
  const sorted = [...wnids].sort();
  const classOf = new Map(sorted.map((w, i) => [w, i] as const));

  const trainMembers: { member: string; label: number }[] = [];
  for (const wnid of sorted) {
    const folder = `train/${wnid}/images`;
    const names = source.list(folder).filter(isJpeg).sort();
    if (names.length === 0) throw new DataFileError(source.describe(folder), `has no images for class ${wnid}`);
    for (const n of names) trainMembers.push({ member: `${folder}/${n}`, label: classOf.get(wnid)! });
  }

  const annotationsMember = 'val/val_annotations.txt';
  const annotations = textOf(source, annotationsMember, 'the validation images cannot be grouped by class without it');
  const testMembers: { member: string; label: number; name: string }[] = [];
  annotations.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === '') return;
    const [name, wnid] = line.split('\t');
    const label = wnid === undefined ? undefined : classOf.get(wnid.trim());
    if (!name || label === undefined) {
      throw new DataFileError(source.describe(annotationsMember), `line ${i + 1} ("${line.slice(0, 60)}") does not name an image and a class of wnids.txt`);
    }
    const member = `val/images/${name.trim()}`;
    if (!source.has(member)) throw new DataFileError(source.describe(member), `missing, though ${annotationsMember} line ${i + 1} lists it`);
    testMembers.push({ member, label, name: name.trim() });
  });
  // Grouped by class, as the paper's code regroups val/ into class folders.
  testMembers.sort((a, b) => a.label - b.label || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  if (spec.counts && (trainMembers.length !== spec.counts.train || testMembers.length !== spec.counts.test)) {
    throw new DataFileError(
      source.describe(''),
      `holds ${trainMembers.length} training and ${testMembers.length} validation images, expected ${spec.counts.train} and ${spec.counts.test}`,
    );
  }

  const total = trainMembers.length + testMembers.length;
  let done = 0;
  const decodeSet = (members: readonly { member: string; label: number }[]): ImageSet => {
    const pixels = spec.side * spec.side * 3;
    const images = new Uint8Array(members.length * pixels);
    const labels = new Int32Array(members.length);
    members.forEach(({ member, label }, k) => {
      decodeInto(source, member, spec.side, images, k * pixels);
      labels[k] = label;
      done++;
      if (onDecoded && (done % 1000 === 0 || done === total)) onDecoded(done, total);
    });
    return { count: members.length, height: spec.side, width: spec.side, channels: 3, images, labels };
  };
  return { train: decodeSet(trainMembers), test: decodeSet(testMembers) };
}

export async function loadTinyImagenet(spec: TinyImagenetSpec, options: LoadOptions = {}): Promise<Dataset> {
  const dataDir = resolveDataDir(options.dataDir);
  const cachePath = join(dataDir, spec.cacheName);
  const finish = (train: ImageSet, test: ImageSet) =>
    applySubsets({ name: 'tiny-imagenet', classes: spec.classes, train, test, mean: spec.mean, std: spec.std, source: cachePath }, options);

  if (await exists(cachePath)) {
    const cached = await readImageCache(cachePath);
    if (cached.classes !== spec.classes || cached.train.height !== spec.side || cached.train.channels !== 3) {
      throw new DataFileError(cachePath, `holds ${cached.classes} classes of ${cached.train.height}×${cached.train.width}×${cached.train.channels} images, expected ${spec.classes} of ${spec.side}×${spec.side}×3; delete it to rebuild it`);
    }
    return finish(cached.train, cached.test);
  }
  const folder = join(dataDir, spec.folder);
  const source = (await exists(join(folder, 'wnids.txt'))) ? folderSource(folder) : zipSource(await ensureArchive(spec, dataDir, options), spec.folder);
  const onDecoded = options.onProgress ? (done: number, total: number) => options.onProgress!({ file: spec.cacheName, received: done, total }) : undefined;
  const { train, test } = decodeTinyImagenet(source, spec, onDecoded);
  await writeImageCache(cachePath, { classes: spec.classes, train, test });
  return finish(train, test);
}
