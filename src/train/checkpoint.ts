/**
 * Checkpoint files: everything needed to continue a run exactly where it
 * stopped (weights, BatchNorm buffers, momentum buffers, random-generator
 * states, position in the epoch), in one binary file replaced atomically.
 *
 * Layout: the ASCII magic `CELLSCOPE-CHECKPOINT-1\n`, a little-endian uint32
 * header length, the UTF-8 JSON header, padding to a multiple of 4, the
 * float32 arrays back to back (little-endian), and the SHA-256 of everything
 * before it. The header lists each array's name, shape and offset, and
 * carries `meta`, the JSON the trainer stores beside the arrays.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../runs/atomicFile.js';
import type { NamedArray } from './optim.js';

const MAGIC = Buffer.from('CELLSCOPE-CHECKPOINT-1\n', 'ascii');
const DIGEST_BYTES = 32;

export interface Checkpoint<Meta> {
  readonly meta: Meta;
  readonly arrays: ReadonlyMap<string, NamedArray>;
}

interface Header<Meta> {
  readonly meta: Meta;
  readonly arrays: Array<{ name: string; shape: number[]; offset: number; length: number }>;
}

export class CheckpointError extends Error {}

export function encodeCheckpoint<Meta>(checkpoint: Checkpoint<Meta>): Buffer {
  const entries: Header<Meta>['arrays'] = [];
  let offset = 0;
  for (const [name, { shape, data }] of checkpoint.arrays) {
    const size = shape.reduce((a, b) => a * b, 1);
    if (size !== data.length) throw new CheckpointError(`array ${name}: shape [${shape.join(', ')}] does not hold ${data.length} values`);
    entries.push({ name, shape: [...shape], offset, length: data.length });
    offset += data.length;
  }
  const header = Buffer.from(JSON.stringify({ meta: checkpoint.meta, arrays: entries } satisfies Header<Meta>), 'utf8');
  const headerEnd = MAGIC.length + 4 + header.length;
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const body = Buffer.alloc(dataStart + offset * 4);
  MAGIC.copy(body, 0);
  body.writeUInt32LE(header.length, MAGIC.length);
  header.copy(body, MAGIC.length + 4);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (const entry of entries) {
    const data = checkpoint.arrays.get(entry.name)!.data;
    const base = dataStart + entry.offset * 4;
    for (let i = 0; i < data.length; i++) view.setFloat32(base + i * 4, data[i]!, true);
  }
  const digest = createHash('sha256').update(body).digest();
  return Buffer.concat([body, digest]);
}

export function decodeCheckpoint<Meta>(bytes: Uint8Array, what = 'checkpoint'): Checkpoint<Meta> {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < MAGIC.length + 4 + DIGEST_BYTES || !buf.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CheckpointError(`${what}: not a Cellscope checkpoint`);
  }
  const body = buf.subarray(0, buf.length - DIGEST_BYTES);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(buf.subarray(buf.length - DIGEST_BYTES))) throw new CheckpointError(`${what}: checksum mismatch (file damaged or truncated)`);
  const headerLength = body.readUInt32LE(MAGIC.length);
  const headerEnd = MAGIC.length + 4 + headerLength;
  if (headerEnd > body.length) throw new CheckpointError(`${what}: header runs past the end of the file`);
  let header: Header<Meta>;
  try {
    header = JSON.parse(body.subarray(MAGIC.length + 4, headerEnd).toString('utf8')) as Header<Meta>;
  } catch {
    throw new CheckpointError(`${what}: unreadable header`);
  }
  const dataStart = Math.ceil(headerEnd / 4) * 4;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const arrays = new Map<string, NamedArray>();
  for (const entry of header.arrays) {
    const base = dataStart + entry.offset * 4;
    if (base + entry.length * 4 > body.length) throw new CheckpointError(`${what}: array ${entry.name} runs past the end of the file`);
    const data = new Float32Array(entry.length);
    for (let i = 0; i < entry.length; i++) data[i] = view.getFloat32(base + i * 4, true);
    arrays.set(entry.name, { shape: entry.shape, data });
  }
  return { meta: header.meta, arrays };
}

export function writeCheckpoint<Meta>(path: string, checkpoint: Checkpoint<Meta>): void {
  writeFileAtomic(path, encodeCheckpoint(checkpoint));
}

export function readCheckpoint<Meta>(path: string): Checkpoint<Meta> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new CheckpointError(`${path}: cannot read (${(error as Error).message})`);
  }
  return decodeCheckpoint<Meta>(bytes, path);
}
