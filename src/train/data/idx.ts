/**
 * The IDX format of MNIST and Fashion-MNIST: a 4-byte magic (two zero bytes,
 * the element type — 0x08 for unsigned bytes — and the number of
 * dimensions), one big-endian uint32 per dimension, then the elements.
 */
import { DataFileError } from './errors.js';

export interface IdxArray {
  readonly dims: readonly number[];
  readonly data: Uint8Array;
}

/** Parses an unsigned-byte IDX array with `ndims` dimensions; errors name `file`. */
export function parseIdx(bytes: Uint8Array, file: string, ndims: number): IdxArray {
  if (bytes.length < 4) throw new DataFileError(file, `too short for an IDX file (${bytes.length} bytes)`);
  const magic = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
  const expectedMagic = 0x0800 + ndims;
  if (magic !== expectedMagic) {
    const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
    throw new DataFileError(file, `bad IDX magic ${hex(magic)}, expected ${hex(expectedMagic)} (unsigned bytes, ${ndims} dimension${ndims === 1 ? '' : 's'})`);
  }
  const header = 4 + 4 * ndims;
  if (bytes.length < header) throw new DataFileError(file, `truncated IDX header (${bytes.length} of ${header} bytes)`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let d = 0; d < ndims; d++) dims.push(view.getUint32(4 + 4 * d, false));
  const elements = dims.reduce((a, b) => a * b, 1);
  const body = bytes.length - header;
  if (body !== elements) {
    throw new DataFileError(
      file,
      `${body < elements ? 'truncated' : 'too long'}: the header says ${dims.join('×')} = ${elements} bytes of data, the file has ${body}`,
    );
  }
  return { dims, data: bytes.subarray(header) };
}
