/**
 * Tar archives (the CIFAR archives are tar.gz) read with tar-stream: ustar,
 * pax extended headers (long `path`, `size`), GNU and old-GNU headers with
 * their long-name records. This module only adapts it to what loading
 * datasets needs: members in order, with the bytes of the ones asked for,
 * and failures as DataFileErrors that name the archive and the member.
 */
import { extract as tarExtract, type Header } from 'tar-stream';
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

function normaliseName(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

function entryType(type: Header['type']): TarEntry['type'] {
  if (type === 'file' || type === 'contiguous-file') return 'file';
  return type === 'directory' ? 'directory' : 'other';
}

/** Where reading stands, for error messages. */
interface Progress {
  /** The member being read, if any. */
  member?: { readonly name: string; readonly size: number; received: number };
  /** The last member read whole, and the archive offset just after it. */
  last?: string;
  nextHeader: number;
}

/** tar-stream's error, said in terms of the archive. */
function tarProblem(err: unknown, at: Progress): string {
  const message = err instanceof Error ? err.message : String(err);
  const after = at.last === undefined ? 'at the start' : `after member ${at.last}`;
  if (/unexpected end of data/i.test(message)) {
    if (at.member) return `truncated tar archive: member ${at.member.name} has ${at.member.received} of its ${at.member.size} bytes`;
    return `truncated tar archive: it ends inside a header ${after} (offset ${at.nextHeader})`;
  }
  if (/invalid tar header/i.test(message) || /invalid header/i.test(message)) {
    return `corrupt tar header ${after} (offset ${at.nextHeader}): ${message}`;
  }
  return `unreadable tar archive ${after}: ${message}`;
}

/**
 * Reads members in order. `want(name)` decides which regular files have
 * their bytes attached (others stream past without being kept). A truncated
 * archive or a damaged header throws a DataFileError naming `file`; an error
 * of `chunks` itself (e.g. the gunzip stream's) is passed on as it is.
 */
export async function* readTar(chunks: AsyncIterable<Buffer>, file: string, want: (name: string) => boolean = () => true): AsyncGenerator<TarEntry> {
  const extract = tarExtract();
  const source = chunks[Symbol.asyncIterator]();
  let sourceError: unknown;
  let stopped = false;
  // Feed the archive in, honouring back-pressure; tar-stream calls back once
  // a chunk is parsed, so at most one chunk is buffered beyond the entry.
  const feeding = (async () => {
    try {
      for (;;) {
        const next = await source.next();
        if (next.done || stopped) break;
        await new Promise<void>((resolve) => {
          if (extract.write(next.value)) resolve();
          else extract.once('drain', resolve).once('close', resolve);
        });
        if (extract.destroyed) break;
      }
      if (!stopped) extract.end(null); // (no last chunk)
    } catch (err) {
      sourceError = err;
      extract.destroy(err instanceof Error ? err : new Error(String(err)));
    }
  })();

  const progress: Progress = { nextHeader: 0 };
  try {
    for await (const entry of extract) {
      const header = entry.header;
      const name = normaliseName(header.name);
      const size = header.size;
      const type = entryType(header.type);
      const keep = type === 'file' && want(name);
      const member = { name, size, received: 0 };
      progress.member = member;
      const parts: Buffer[] = [];
      for await (const chunk of entry as AsyncIterable<Buffer>) {
        member.received += chunk.length;
        if (keep) parts.push(chunk);
      }
      progress.member = undefined;
      progress.last = name;
      // tar-stream records where the member's bytes start (after any pax or long-name headers).
      const dataStart = (header as { byteOffset?: number }).byteOffset ?? progress.nextHeader + BLOCK;
      progress.nextHeader = dataStart + Math.ceil(size / BLOCK) * BLOCK;
      if (!keep) {
        yield { name, type, size };
        continue;
      }
      // One part may be a view of a larger read buffer: copy it, so that the member does not pin that buffer.
      const data = parts.length === 1 && parts[0]!.buffer.byteLength === parts[0]!.length ? parts[0]! : Buffer.concat(parts, member.received);
      yield { name, type, size, data };
    }
  } catch (err) {
    if (sourceError !== undefined) throw sourceError;
    throw new DataFileError(file, tarProblem(err, progress));
  } finally {
    // Stopping early (an error, or a consumer that breaks off) closes the
    // source, e.g. the file and gunzip streams behind it.
    stopped = true;
    if (!extract.destroyed) extract.destroy();
    await source.return?.();
    await feeding;
  }
}
