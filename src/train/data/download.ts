/**
 * Downloads one archive into the cache folder: progress reports, resume of a
 * partial file with an HTTP Range request, MD5 verification before the file
 * takes its final name, and an error that says what to do when offline.
 *
 * The bytes go to `<file>.part`; only a verified download is renamed to
 * `<file>`, so a file with the final name is always complete (or the user's).
 */
import { createWriteStream, promises as fs } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { basename, dirname } from 'node:path';
import { DataFileError, DataUnavailableError } from './errors.js';
import { fileSize, md5File } from './files.js';
import type { DownloadProgress } from '../../shared/datasetTypes.js';

export interface DownloadRequest {
  /** Human name of the dataset for messages, e.g. 'CIFAR-10'. */
  readonly title: string;
  readonly url: string;
  /** Final path of the file. */
  readonly dest: string;
  /** Expected MD5, lower-case hex; null: not verified. */
  readonly md5: string | null;
  /** Size to report as the total when the server does not say. */
  readonly expectedSize?: number;
  readonly onProgress?: (p: DownloadProgress) => void;
  /** Milliseconds without data before giving up (default 60 s). */
  readonly idleTimeoutMs?: number;
}

const MAX_REDIRECTS = 5;

/** The advice every "cannot get it" message ends with. */
export function placeAdvice(fileName: string, dir: string): string {
  return `put ${fileName} into ${dir} or set CELLSCOPE_DATA`;
}

function reasonOf(err: unknown): string {
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

function get(url: string, headers: Record<string, string>, idleTimeoutMs: number, redirects = 0): Promise<http.IncomingMessage> {
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
    const req = client.get(parsed, { headers }, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) reject(new Error('too many redirects'));
        else get(new URL(res.headers.location, parsed).toString(), headers, idleTimeoutMs, redirects + 1).then(resolve, reject);
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
 * Fetches `request.url` to `request.dest`, resuming `dest.part` if present.
 * On success the verified file has its final name; on a network failure the
 * partial file stays for the next attempt and the error says so.
 */
export async function downloadFile(request: DownloadRequest): Promise<void> {
  const { title, url, dest } = request;
  const part = `${dest}.part`;
  const fileName = basename(dest);
  const cannot = (reason: string, kept: boolean) =>
    new DataUnavailableError(
      `cannot download ${title} from ${url}: ${reason}` +
        (kept ? ` (the partial file ${part} is kept; run again to resume)` : '') +
        `; ${placeAdvice(fileName, dirname(dest))}`,
    );
  await fs.mkdir(dirname(dest), { recursive: true });
  let start = (await fileSize(part)) ?? 0;
  const headers: Record<string, string> = { 'user-agent': 'cellscope' };
  if (start > 0) headers.range = `bytes=${start}-`;

  let res: http.IncomingMessage;
  try {
    res = await get(url, headers, request.idleTimeoutMs ?? 60_000);
  } catch (err) {
    throw cannot(reasonOf(err), start > 0);
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
      throw cannot(`the server answered the resume request with the wrong range (${res.headers['content-range'] ?? 'none'})`, true);
    }
    total = range.total;
  } else if (status === 200) {
    start = 0; // the server ignored the range: start over
    const length = Number(res.headers['content-length']);
    total = Number.isFinite(length) && length > 0 ? length : undefined;
  } else {
    res.resume();
    throw cannot(`HTTP ${status} ${res.statusMessage ?? ''}`.trim(), start > 0);
  }
  total ??= request.expectedSize;

  if (status !== 416) {
    let received = start;
    const report = () => request.onProgress?.({ file: fileName, received, ...(total !== undefined ? { total } : {}) });
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
      throw cannot(`${reasonOf(err)} after ${received} bytes`, received > 0);
    }
    if (total !== undefined && received < total) throw cannot(`connection closed after ${received} of ${total} bytes`, received > 0);
  }

  if (request.md5 !== null) {
    const actual = await md5File(part);
    if (actual !== request.md5.toLowerCase()) {
      // Our own temporary file, not the user's: remove it so the next run starts clean.
      await fs.unlink(part).catch(() => {});
      throw new DataFileError(
        dest,
        `checksum mismatch after download from ${url}: MD5 is ${actual}, expected ${request.md5.toLowerCase()}; the download was removed, run again to retry`,
      );
    }
  }
  // The final name appears only now, and never replaces an existing file.
  try {
    await fs.link(part, dest);
    await fs.unlink(part);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new DataFileError(dest, 'already exists; the new download was left at ' + part);
    await fs.rename(part, dest);
  }
}
