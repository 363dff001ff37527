/**
 * Test helpers for the data loaders: archives in the official layouts,
 * written here independently of the code under test, and a local HTTP
 * server that serves them with (or without) Range support.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { zipSync } from 'fflate';
import * as jpeg from 'jpeg-js';

export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'cellscope-data-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');

// ---------------------------------------------------------------- tar (ustar)

export interface TarInput {
  readonly name: string;
  readonly data?: Uint8Array;
  readonly directory?: boolean;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

/** A POSIX ustar archive; names over 100 bytes use the prefix field. */
export function makeTar(entries: readonly TarInput[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const header = Buffer.alloc(512);
    let name = e.directory && !e.name.endsWith('/') ? `${e.name}/` : e.name;
    let prefix = '';
    if (Buffer.byteLength(name) > 100) {
      const cut = name.lastIndexOf('/', name.length - 2);
      prefix = name.slice(0, cut);
      name = name.slice(cut + 1);
    }
    const size = e.data?.length ?? 0;
    header.write(name, 0, 100, 'utf8');
    header.write(octal(e.directory ? 0o755 : 0o644, 8), 100, 'latin1');
    header.write(octal(0, 8), 108, 'latin1');
    header.write(octal(0, 8), 116, 'latin1');
    header.write(octal(size, 12), 124, 'latin1');
    header.write(octal(1_262_304_000, 12), 136, 'latin1');
    header.write('        ', 148, 'latin1');
    header.write(e.directory ? '5' : '0', 156, 'latin1');
    header.write('ustar\0', 257, 'latin1');
    header.write('00', 263, 'latin1');
    header.write(prefix, 345, 155, 'utf8');
    let sum = 0;
    for (const b of header) sum += b;
    header.write(octal(sum, 7) + ' ', 148, 'latin1');
    blocks.push(header);
    if (e.data && size > 0) {
      blocks.push(Buffer.from(e.data));
      const pad = (512 - (size % 512)) % 512;
      if (pad) blocks.push(Buffer.alloc(pad));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export const makeTarGz = (entries: readonly TarInput[]) => gzipSync(makeTar(entries));

// ---------------------------------------------------------------- CIFAR

/** A pixel value that identifies (image, channel, row, column) well enough. */
export const cifarPixel = (n: number, c: number, y: number, x: number) => (n * 7 + c * 50 + y * 3 + x * 5) & 0xff;

/**
 * A batch in the official binary layout: per record the label byte(s), then
 * the R, G and B planes of 32×32, row-major.
 */
export function makeCifarBatch(labels: readonly number[], labelBytes: 1 | 2, first = 0, coarse = (l: number) => l % 20): Buffer {
  const record = labelBytes + 3072;
  const out = Buffer.alloc(labels.length * record);
  labels.forEach((label, i) => {
    const base = i * record;
    if (labelBytes === 2) out[base] = coarse(label);
    out[base + labelBytes - 1] = label;
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) out[base + labelBytes + c * 1024 + y * 32 + x] = cifarPixel(first + i, c, y, x);
  });
  return out;
}

export interface GeneratedCifar {
  readonly archive: Buffer;
  readonly trainLabels: number[];
  readonly testLabels: number[];
}

/** cifar-10-binary.tar.gz's layout with `perBatch` records in each file. */
export function makeCifar10Archive(perBatch: number): GeneratedCifar {
  const entries: TarInput[] = [{ name: 'cifar-10-batches-bin', directory: true }];
  const trainLabels: number[] = [];
  for (let b = 1; b <= 5; b++) {
    const labels = Array.from({ length: perBatch }, (_, i) => (b * 3 + i) % 10);
    entries.push({ name: `cifar-10-batches-bin/data_batch_${b}.bin`, data: makeCifarBatch(labels, 1, trainLabels.length) });
    trainLabels.push(...labels);
  }
  const testLabels = Array.from({ length: perBatch }, (_, i) => (i * 7) % 10);
  entries.push({ name: 'cifar-10-batches-bin/test_batch.bin', data: makeCifarBatch(testLabels, 1, 1000) });
  entries.push({ name: 'cifar-10-batches-bin/batches.meta.txt', data: Buffer.from('airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n') });
  entries.push({ name: 'cifar-10-batches-bin/readme.html', data: Buffer.from('<meta HTTP-EQUIV="REFRESH" content="0; URL=http://www.cs.toronto.edu/~kriz/cifar.html">\n') });
  return { archive: makeTarGz(entries), trainLabels, testLabels };
}

/** cifar-100-binary.tar.gz's layout (coarse + fine label bytes). */
export function makeCifar100Archive(train: number, test: number): GeneratedCifar {
  const trainLabels = Array.from({ length: train }, (_, i) => (i * 37) % 100);
  const testLabels = Array.from({ length: test }, (_, i) => (i * 11 + 5) % 100);
  const archive = makeTarGz([
    { name: 'cifar-100-binary', directory: true },
    { name: 'cifar-100-binary/coarse_label_names.txt', data: Buffer.from('aquatic_mammals\n') },
    { name: 'cifar-100-binary/fine_label_names.txt', data: Buffer.from('apple\n') },
    { name: 'cifar-100-binary/train.bin', data: makeCifarBatch(trainLabels, 2, 0) },
    { name: 'cifar-100-binary/test.bin', data: makeCifarBatch(testLabels, 2, 1000) },
  ]);
  return { archive, trainLabels, testLabels };
}

// ---------------------------------------------------------------- IDX

/** An unsigned-byte IDX file: magic 0x0800 + ndims, big-endian dims, data. */
export function makeIdx(dims: readonly number[], data: Uint8Array): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x08;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([header, Buffer.from(data)]);
}

export const fashionPixel = (n: number, y: number, x: number) => (n * 13 + y * 9 + x) & 0xff;

export function makeFashionFiles(train: number, test: number): { files: Record<string, Buffer>; trainLabels: number[]; testLabels: number[] } {
  const images = (count: number, first: number) => {
    const data = new Uint8Array(count * 784);
    for (let n = 0; n < count; n++) for (let y = 0; y < 28; y++) for (let x = 0; x < 28; x++) data[n * 784 + y * 28 + x] = fashionPixel(first + n, y, x);
    return makeIdx([count, 28, 28], data);
  };
  const trainLabels = Array.from({ length: train }, (_, i) => (i * 3) % 10);
  const testLabels = Array.from({ length: test }, (_, i) => (i * 7 + 1) % 10);
  return {
    trainLabels,
    testLabels,
    files: {
      'train-images-idx3-ubyte.gz': gzipSync(images(train, 0)),
      'train-labels-idx1-ubyte.gz': gzipSync(makeIdx([train], Uint8Array.from(trainLabels))),
      't10k-images-idx3-ubyte.gz': gzipSync(images(test, 5000)),
      't10k-labels-idx1-ubyte.gz': gzipSync(makeIdx([test], Uint8Array.from(testLabels))),
    },
  };
}

// ---------------------------------------------------------------- Tiny-ImageNet

/** A flat colour that identifies (split, class, index) after lossy JPEG coding. */
export function tinyColour(split: 'train' | 'val', label: number, index: number): [number, number, number] {
  return [40 + label * 40, split === 'train' ? 60 : 190, 30 + index * 30];
}

export function encodeJpeg(side: number, rgb: [number, number, number]): Buffer {
  const data = Buffer.alloc(side * side * 4);
  for (let i = 0; i < side * side; i++) {
    data[i * 4] = rgb[0];
    data[i * 4 + 1] = rgb[1];
    data[i * 4 + 2] = rgb[2];
    data[i * 4 + 3] = 255;
  }
  return jpeg.encode({ width: side, height: side, data }, 95).data;
}

export interface TinyLayout {
  /** wnids in the order wnids.txt lists them (deliberately not sorted). */
  readonly wnids: readonly string[];
  readonly trainPerClass: number;
  readonly valPerClass: number;
  /** Files of the layout, by path from the zip root (tiny-imagenet-200/...). */
  readonly files: Record<string, Uint8Array>;
  /** The validation images in val_annotations.txt order; `index` is the image's number within its class. */
  readonly valOrder: { name: string; wnid: string; index: number }[];
}

/** The official zip's folder layout, small. */
export function makeTinyLayout(wnids: readonly string[], trainPerClass: number, valPerClass: number, side = 64): TinyLayout {
  const sorted = [...wnids].sort();
  const files: Record<string, Uint8Array> = {};
  const root = 'tiny-imagenet-200';
  files[`${root}/wnids.txt`] = Buffer.from(wnids.join('\n') + '\n');
  files[`${root}/words.txt`] = Buffer.from(wnids.map((w) => `${w}\tthing ${w}`).join('\n') + '\n');
  for (const wnid of wnids) {
    const label = sorted.indexOf(wnid);
    const boxes: string[] = [];
    for (let i = 0; i < trainPerClass; i++) {
      files[`${root}/train/${wnid}/images/${wnid}_${i}.JPEG`] = encodeJpeg(side, tinyColour('train', label, i));
      boxes.push(`${wnid}_${i}.JPEG\t0\t0\t63\t63`);
    }
    files[`${root}/train/${wnid}/${wnid}_boxes.txt`] = Buffer.from(boxes.join('\n') + '\n');
  }
  // Validation images interleave the classes, as in the official file.
  const valOrder: { name: string; wnid: string; index: number }[] = [];
  for (let i = 0; i < valPerClass; i++) {
    for (const wnid of [...wnids].reverse()) valOrder.push({ name: `val_${valOrder.length}.JPEG`, wnid, index: i });
  }
  for (const { name, wnid, index } of valOrder) {
    files[`${root}/val/images/${name}`] = encodeJpeg(side, tinyColour('val', sorted.indexOf(wnid), index));
  }
  files[`${root}/val/val_annotations.txt`] = Buffer.from(valOrder.map(({ name, wnid }) => `${name}\t${wnid}\t0\t0\t63\t63`).join('\n') + '\n');
  files[`${root}/test/images/test_0.JPEG`] = encodeJpeg(side, [1, 2, 3]);
  return { wnids, trainPerClass, valPerClass, files, valOrder };
}

/** Zips a layout (deflate, with directory entries, as zip tools write). */
export function zipLayout(files: Record<string, Uint8Array>): Buffer {
  const tree: Record<string, Uint8Array> = {};
  for (const [path, data] of Object.entries(files)) tree[path] = data;
  return Buffer.from(zipSync(tree, { level: 6 }));
}

// ---------------------------------------------------------------- HTTP

export interface ServedRequest {
  readonly url: string;
  readonly range?: string;
}

export interface ServerOptions {
  /** Ignore Range headers (answer 200 with the whole file). */
  readonly noRanges?: boolean;
  /** Send only this many body bytes of the next response, then cut the connection. */
  cutAfter?: number;
}

export interface TestServer {
  readonly baseUrl: string;
  readonly requests: ServedRequest[];
  readonly options: ServerOptions;
  close(): Promise<void>;
}

/** Serves `files` by name under http://127.0.0.1:<port>/data/, with Range support. */
export async function serveFiles(files: Record<string, Uint8Array>, options: ServerOptions = {}): Promise<TestServer> {
  const requests: ServedRequest[] = [];
  const server = http.createServer((req, res) => {
    const range = req.headers.range;
    requests.push(range ? { url: req.url ?? '', range } : { url: req.url ?? '' });
    const name = decodeURIComponent((req.url ?? '').replace(/^\/data\//, ''));
    if (name === 'moved') {
      res.writeHead(302, { location: '/data/' + Object.keys(files)[0] });
      res.end();
      return;
    }
    const body = files[name];
    if (!body) {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    let start = 0;
    const m = range && !options.noRanges ? /^bytes=(\d+)-$/.exec(range) : null;
    if (m) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}` });
    } else {
      res.writeHead(200, { 'content-length': body.length });
    }
    const rest = body.subarray(start);
    if (options.cutAfter !== undefined) {
      const cut = options.cutAfter;
      options.cutAfter = undefined;
      res.write(rest.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(rest);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/data`,
    requests,
    options,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A URL on 127.0.0.1 where nothing listens (a port just freed). */
export async function deadUrl(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/data`;
}
