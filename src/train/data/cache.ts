/**
 * A binary cache of decoded images (Tiny-ImageNet's JPEGs are decoded once):
 *
 *   bytes 0..15   magic "CELLSCOPE-IMG\0\0\0"
 *   then 8 uint32 little-endian: version (1), classes, height, width,
 *                 channels, train count, test count, 0
 *   train images (uint8 NHWC), train labels (int32 LE),
 *   test images, test labels.
 *
 * Read and written in slices, since the training images of Tiny-ImageNet
 * (1.2 GB) exceed what one readFile call may return.
 */
import { promises as fs } from 'node:fs';
import { DataFileError } from './errors.js';
import { writeNewFile } from './files.js';
import type { ImageSet } from '../../shared/datasetTypes.js';

const MAGIC = Buffer.from('CELLSCOPE-IMG\0\0\0', 'latin1');
const VERSION = 1;
const HEADER = 16 + 8 * 4;
const SLICE = 1 << 26;

export interface CachedImages {
  readonly classes: number;
  readonly train: ImageSet;
  readonly test: ImageSet;
}

function labelBytes(labels: Int32Array): Uint8Array {
  const out = Buffer.alloc(labels.length * 4);
  for (let i = 0; i < labels.length; i++) out.writeInt32LE(labels[i]!, i * 4);
  return out;
}

/** Splits a large array into views of at most SLICE bytes (for writes). */
function slices(bytes: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += SLICE) out.push(bytes.subarray(i, Math.min(bytes.length, i + SLICE)));
  return out;
}

/** Writes the cache; never replaces an existing file. */
export async function writeImageCache(path: string, data: CachedImages): Promise<void> {
  const { train, test } = data;
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  [VERSION, data.classes, train.height, train.width, train.channels, train.count, test.count, 0].forEach((v, i) => header.writeUInt32LE(v, 16 + 4 * i));
  await writeNewFile(path, [header, ...slices(train.images), labelBytes(train.labels), ...slices(test.images), labelBytes(test.labels)]);
}

async function readExactly(handle: fs.FileHandle, target: Uint8Array, position: number): Promise<void> {
  for (let done = 0; done < target.length; ) {
    const length = Math.min(SLICE, target.length - done);
    const { bytesRead } = await handle.read(target, done, length, position + done);
    if (bytesRead === 0) throw new Error('unexpected end of file');
    done += bytesRead;
  }
}

/** Reads a cache written by writeImageCache; a damaged one is reported, not rebuilt silently. */
export async function readImageCache(path: string): Promise<CachedImages> {
  const handle = await fs.open(path, 'r');
  const damaged = (what: string) => new DataFileError(path, `${what}; this is a cache of decoded images: delete it to rebuild it`);
  try {
    const { size } = await handle.stat();
    if (size < HEADER) throw damaged(`truncated image cache (${size} bytes)`);
    const header = Buffer.alloc(HEADER);
    await readExactly(handle, header, 0);
    if (!header.subarray(0, 16).equals(MAGIC)) throw damaged('not a Cellscope image cache (bad magic)');
    const [version, classes, height, width, channels, trainCount, testCount] = Array.from({ length: 7 }, (_, i) => header.readUInt32LE(16 + 4 * i)) as [
      number, number, number, number, number, number, number,
    ];
    if (version !== VERSION) throw damaged(`image cache version ${version}, expected ${VERSION}`);
    const pixels = height * width * channels;
    const expected = HEADER + (trainCount + testCount) * (pixels + 4);
    if (size !== expected) throw damaged(`wrong size: ${size} bytes, the header describes ${expected}`);
    let position = HEADER;
    const readSet = async (count: number): Promise<ImageSet> => {
      const images = new Uint8Array(count * pixels);
      await readExactly(handle, images, position);
      position += images.length;
      const raw = Buffer.alloc(count * 4);
      await readExactly(handle, raw, position);
      position += raw.length;
      const labels = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const label = raw.readInt32LE(i * 4);
        if (label < 0 || label >= classes) throw damaged(`label ${label} outside 0..${classes - 1}`);
        labels[i] = label;
      }
      return { count, height, width, channels, images, labels };
    };
    const train = await readSet(trainCount);
    const test = await readSet(testCount);
    return { classes, train, test };
  } finally {
    await handle.close();
  }
}
