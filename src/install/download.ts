/**
 * Downloads one file over HTTP(S): progress reports, resume of a partial file
 * with a Range request, size and checksum verification before the file takes
 * its final name, and cancellation. Shared by the dataset cache (train/data)
 * and the engine installer (install/), so both resume and verify the same way.
 *
 * The bytes go to `<file>.part`; only a verified download is renamed to
 * `<file>`, so a file with the final name is always complete (or the user's).
 * Errors carry the reason and whether the partial file was kept; callers word
 * the advice (where to put the file by hand) for their own users.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { dirname } from 'node:path';

export type HashAlgorithm = 'md5' | 'sha1' | 'sha256' | 'sha512';

/** An expected digest, lower-case hex. */
export interface Checksum {
  readonly algorithm: HashAlgorithm;
  readonly hex: string;
}

export interface FetchProgress {
  /** Bytes of the file on disk so far (a resumed download starts above 0). */
  readonly received: number;
  /** The whole size, when the server or the caller says. */
  readonly total?: number;
}

export interface FetchRequest {
  readonly url: string;
  /** Final path of the file. */
  readonly dest: string;
  /** null: not verified by the caller (a digest the server publishes is still checked, see `serverChecksum`). */
  readonly checksum: Checksum | null;
  /** Size to report as the total when the server does not say. */
  readonly expectedSize?: number;
  readonly onProgress?: (p: FetchProgress) => void;
  /** Milliseconds without data before giving up (default 60 s). */
  readonly idleTimeoutMs?: number;
  /** Aborting keeps the partial file (a later call resumes) and throws DownloadCancelled. */
  readonly signal?: AbortSignal;
}

/** The network failed; `partKept`: the partial file stays for a resume. */
export class DownloadFailed extends Error {
  constructor(readonly url: string, readonly reason: string, readonly part: string, readonly partKept: boolean) {
    super(`cannot download ${url}: ${reason}${partKept ? ` (the partial file ${part} is kept; run again to resume)` : ''}`);
    this.name = 'DownloadFailed';
  }
}

/** The bytes arrived but are not the published ones; the partial file was removed. */
export class ChecksumMismatch extends Error {
  constructor(readonly url: string, readonly dest: string, readonly algorithm: HashAlgorithm, readonly actual: string, readonly expected: string) {
    super(`${dest}: checksum mismatch after download from ${url}: ${algorithm.toUpperCase()} is ${actual}, expected ${expected}; the download was removed, run again to retry`);
    this.name = 'ChecksumMismatch';
  }
}

/** A file with the final name already exists; the new download stays at `part`. */
export class DestinationExists extends Error {
  constructor(readonly dest: string, readonly part: string) {
    super(`${dest}: already exists; the new download was left at ${part}`);
    this.name = 'DestinationExists';
  }
}

export class DownloadCancelled extends Error {
  constructor(readonly url: string, readonly part: string) {
    super(`download of ${url} cancelled (the partial file ${part} is kept; run again to resume)`);
    this.name = 'DownloadCancelled';
  }
}

const MAX_REDIRECTS = 5;

export function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { hostname?: string };
  switch (e.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host ${e.hostname ?? ''} not found (offline?)`.replace('  ', ' ');
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
      return 'timed out';
    default:
      return e.message || String(err);
  }
}

function get(url: string, headers: Record<string, string>, idleTimeoutMs: number, signal: AbortSignal | undefined, redirects = 0): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      reject(new Error(`invalid URL ${url}`));
      return;
    }
    const client = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (!client) {
      reject(new Error(`unsupported protocol ${parsed.protocol}`));
      return;
    }
    const req = client.get(parsed, { headers, ...(signal ? { signal } : {}) }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) reject(new Error('too many redirects'));
        else get(new URL(res.headers.location, parsed).toString(), headers, idleTimeoutMs, signal, redirects + 1).then(resolve, reject);
        return;
      }
      resolve(res);
    });
    req.setTimeout(idleTimeoutMs, () => req.destroy(Object.assign(new Error(`no data for ${idleTimeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

/** Parses "bytes a-b/total". */
function contentRange(header: string | undefined): { start: number; total?: number } | undefined {
  const m = header ? /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(header.trim()) : null;
  if (!m) return undefined;
  return { start: Number(m[1]), total: m[2] === '*' ? undefined : Number(m[2]) };
}

/**
 * The MD5 a server publishes for the whole object: Google Cloud Storage (where
 * libtensorflow and the tfjs-node addons live) sends `x-goog-hash: md5=<base64>`
 * on full and ranged responses alike.
 */
export function serverChecksum(headers: http.IncomingHttpHeaders): Checksum | undefined {
  const raw = headers['x-goog-hash'];
  const text = Array.isArray(raw) ? raw.join(',') : raw ?? '';
  const m = /(?:^|,)\s*md5=([A-Za-z0-9+/=]+)/.exec(text);
  if (!m) return undefined;
  const hex = Buffer.from(m[1]!, 'base64').toString('hex');
  return hex.length === 32 ? { algorithm: 'md5', hex } : undefined;
}

export async function hashFile(path: string, algorithm: HashAlgorithm): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

async function sizeOf(path: string): Promise<number | undefined> {
  try {
    const st = await fs.stat(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Fetches `request.url` to `request.dest`, resuming `dest.part` if present.
 * On success the verified file has its final name; on a network failure or a
 * cancel the partial file stays for the next attempt.
 */
export async function fetchToFile(request: FetchRequest): Promise<void> {
  const { url, dest, signal } = request;
  const part = `${dest}.part`;
  const failed = (reason: string, kept: boolean) => new DownloadFailed(url, reason, part, kept);
  const cancelled = () => new DownloadCancelled(url, part);
  if (signal?.aborted) throw cancelled();
  await fs.mkdir(dirname(dest), { recursive: true });
  let start = (await sizeOf(part)) ?? 0;
  const headers: Record<string, string> = { 'user-agent': 'cellscope' };
  if (start > 0) headers.range = `bytes=${start}-`;

  let res: http.IncomingMessage;
  try {
    res = await get(url, headers, request.idleTimeoutMs ?? 60_000, signal);
  } catch (err) {
    if (signal?.aborted) throw cancelled();
    throw failed(reasonOf(err), start > 0);
  }
  const status = res.statusCode ?? 0;
  let total: number | undefined;
  if (status === 416 && start > 0) {
    // The server has nothing after our partial file: it is complete (the checksum decides).
    res.resume();
    total = start;
  } else if (status === 206 && start > 0) {
    const range = contentRange(res.headers['content-range']);
    if (!range || range.start !== start) {
      res.resume();
      throw failed(`the server answered the resume request with the wrong range (${res.headers['content-range'] ?? 'none'})`, true);
    }
    total = range.total;
  } else if (status === 200) {
    start = 0; // the server ignored the range: start over
    const length = Number(res.headers['content-length']);
    total = Number.isFinite(length) && length > 0 ? length : undefined;
  } else {
    res.resume();
    throw failed(`HTTP ${status} ${res.statusMessage ?? ''}`.trim(), start > 0);
  }
  total ??= request.expectedSize;
  const published = serverChecksum(res.headers);

  if (status !== 416) {
    let received = start;
    const report = () => request.onProgress?.({ received, ...(total !== undefined ? { total } : {}) });
    report();
    const out = createWriteStream(part, { flags: start > 0 ? 'a' : 'w' });
    try {
      await new Promise<void>((resolve, reject) => {
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          report();
        });
        res.on('aborted', () => reject(Object.assign(new Error('connection closed early'), { code: 'ECONNRESET' })));
        res.on('error', reject);
        out.on('error', reject);
        out.on('finish', resolve);
        res.pipe(out);
      });
    } catch (err) {
      // Keep what arrived: flush it to the partial file for the next resume.
      res.unpipe(out);
      if (!out.destroyed) {
        await new Promise<void>((resolve) => {
          out.once('close', resolve);
          out.end();
        });
      }
      if (signal?.aborted) throw cancelled();
      throw failed(`${reasonOf(err)} after ${received} bytes`, received > 0);
    }
    if (total !== undefined && received < total) throw failed(`connection closed after ${received} of ${total} bytes`, received > 0);
  }

  // The server's own digest is checked too, unless the caller's is the same kind.
  const checks = [request.checksum, published?.algorithm === request.checksum?.algorithm ? null : published];
  for (const expected of checks) {
    if (!expected) continue;
    const actual = await hashFile(part, expected.algorithm);
    if (actual !== expected.hex.toLowerCase()) {
      // Our own temporary file, not the user's: remove it so the next run starts clean.
      await fs.unlink(part).catch(() => {});
      throw new ChecksumMismatch(url, dest, expected.algorithm, actual, expected.hex.toLowerCase());
    }
  }
  // The final name appears only now, and never replaces an existing file.
  try {
    await fs.link(part, dest);
    await fs.unlink(part);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new DestinationExists(dest, part);
    await fs.rename(part, dest);
  }
}
