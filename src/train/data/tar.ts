/**
 * A streaming reader for tar archives (POSIX ustar, with the pax `path`/`size`
 * records and GNU long names that GNU tar and Python's tarfile write). Node
 * has none, and the CIFAR archives are tar.gz. Only what loading datasets
 * needs: member names, types and the bytes of the members asked for.
 */
import { DataFileError } from './errors.js';

const BLOCK = 512;

export interface TarEntry {
  /** Path inside the archive, '/'-separated, without a leading './'. */
  readonly name: string;
  readonly type: 'file' | 'directory' | 'other';
  readonly size: number;
  /** The member's bytes, for regular files that `want` accepted. */
  readonly data?: Buffer;
}

/** Pulls exact byte counts out of a chunk stream. */
class ChunkReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private done = false;
  /** Bytes handed out so far: the archive offset, for error messages. */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Buffers at least n bytes (fewer only at the end of the stream). */
  private async fill(n: number): Promise<void> {
    while (this.buffered < n && !this.done) {
      const next = await this.source.next();
      if (next.done) this.done = true;
      else if (next.value.length > 0) {
        this.chunks.push(next.value);
        this.buffered += next.value.length;
      }
    }
  }

  /** Exactly n bytes, or fewer if the stream ends first. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const take = Math.min(n, this.buffered);
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, take);
    const rest = all.subarray(take);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
    this.offset += take;
    return out;
  }

  /** Skips n bytes; returns how many were actually there. */
  async skip(n: number): Promise<number> {
    let left = n;
    while (left > 0) {
      await this.fill(Math.min(left, 1 << 20));
      if (this.buffered === 0) break;
      const got = (await this.read(Math.min(left, this.buffered))).length;
      left -= got;
    }
    return n - left;
  }
}

function cString(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end < 0 ? length : end).toString('utf8');
}

/** Octal (NUL/space terminated) or, with the top bit set, GNU base-256. */
function numeric(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const text = field.toString('latin1').replace(/[\0 ]+$/g, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) return Number.NaN;
  return parseInt(text, 8);
}

function headerChecksumOk(block: Buffer): boolean {
  const stored = numeric(block, 148, 8);
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return stored === sum;
}

/** "len key=value\n" records of a pax extended header. */
function paxRecords(data: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(data.subarray(pos, space).toString('latin1'), 10);
    if (!(len > 0)) break;
    const record = data.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = record.indexOf('=');
    if (eq > 0) out.set(record.slice(0, eq), record.slice(eq + 1));
    pos += len;
  }
  return out;
}

function normaliseName(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/**
 * Reads members in order. `want(name)` decides which regular files have
 * their bytes attached (others are skipped without buffering). A truncated
 * archive or a damaged header throws a DataFileError naming `file`.
 */
export async function* readTar(chunks: AsyncIterable<Buffer>, file: string, want: (name: string) => boolean = () => true): AsyncGenerator<TarEntry> {
  const source = chunks[Symbol.asyncIterator]();
  try {
    yield* members(new ChunkReader(source), file, want);
  } finally {
    // Stopping early (an error, or a consumer that breaks off) closes the
    // source, e.g. the file and gunzip streams behind it.
    await source.return?.();
  }
}

async function* members(reader: ChunkReader, file: string, want: (name: string) => boolean): AsyncGenerator<TarEntry> {
  let longName: string | undefined;
  let pax: Map<string, string> | undefined;
  for (;;) {
    const at = reader.offset;
    const block = await reader.read(BLOCK);
    if (block.length === 0) return; // end of data without the zero blocks: accepted, as tar does
    if (block.length < BLOCK) throw new DataFileError(file, `truncated tar archive: ${block.length} bytes of a header at offset ${at}`);
    if (block.every((b) => b === 0)) return; // end-of-archive marker
    if (!headerChecksumOk(block)) throw new DataFileError(file, `corrupt tar header at offset ${at} (checksum does not match)`);
    const typeflag = String.fromCharCode(block[156]!);
    let size = numeric(block, 124, 12);
    if (!Number.isFinite(size) || size < 0) throw new DataFileError(file, `corrupt tar header at offset ${at} (size field)`);
    let name = cString(block, 0, 100);
    const magic = block.subarray(257, 262).toString('latin1');
    if (magic === 'ustar') {
      const prefix = cString(block, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (longName !== undefined) name = longName;
    if (pax?.has('path')) name = pax.get('path')!;
    if (pax?.has('size')) size = Number(pax.get('size'));
    longName = undefined;
    pax = undefined;

    const padded = Math.ceil(size / BLOCK) * BLOCK;
    const memberName = normaliseName(name);
    const needData = typeflag === 'L' || typeflag === 'x' || ((typeflag === '0' || typeflag === '\0' || typeflag === '7') && want(memberName));
    let data: Buffer | undefined;
    if (needData) {
      data = await reader.read(size);
      if (data.length < size) throw new DataFileError(file, `truncated tar archive: member ${memberName} has ${data.length} of its ${size} bytes`);
      // A copy, so the member does not pin the read buffer it was cut from.
      if (data.length > 0 && data.buffer.byteLength !== data.length) data = Buffer.from(data);
      await reader.skip(padded - size);
    } else {
      const skipped = await reader.skip(padded);
      if (skipped < size) throw new DataFileError(file, `truncated tar archive: member ${memberName} has ${skipped} of its ${size} bytes`);
    }
    if (typeflag === 'L') {
      longName = cString(data!, 0, data!.length);
      continue;
    }
    if (typeflag === 'x') {
      pax = paxRecords(data!);
      continue;
    }
    if (typeflag === 'g') continue; // global pax header: nothing we use
    const type = typeflag === '0' || typeflag === '\0' || typeflag === '7' ? 'file' : typeflag === '5' ? 'directory' : 'other';
    yield data ? { name: memberName, type, size, data } : { name: memberName, type, size };
  }
}
