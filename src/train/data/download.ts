/**
 * Downloads one dataset archive into the cache folder through the shared
 * downloader (src/install/download.ts: progress, resume with an HTTP Range
 * request, verification before the file takes its final name), and words its
 * failures for datasets: an error that says what to do when offline.
 */
import { basename, dirname } from 'node:path';
import { ChecksumMismatch, DestinationExists, DownloadFailed, fetchToFile } from '../../install/download.js';
import { DataFileError, DataUnavailableError } from './errors.js';
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

/** The advice every "cannot get it" message ends with. */
export function placeAdvice(fileName: string, dir: string): string {
  return `put ${fileName} into ${dir} or set CELLSCOPE_DATA`;
}

/**
 * Fetches `request.url` to `request.dest`, resuming `dest.part` if present.
 * On success the verified file has its final name; on a network failure the
 * partial file stays for the next attempt and the error says so.
 */
export async function downloadFile(request: DownloadRequest): Promise<void> {
  const { title, url, dest } = request;
  const fileName = basename(dest);
  try {
    await fetchToFile({
      url,
      dest,
      checksum: request.md5 === null ? null : { algorithm: 'md5', hex: request.md5.toLowerCase() },
      ...(request.expectedSize !== undefined ? { expectedSize: request.expectedSize } : {}),
      ...(request.idleTimeoutMs !== undefined ? { idleTimeoutMs: request.idleTimeoutMs } : {}),
      ...(request.onProgress ? { onProgress: (p) => request.onProgress!({ file: fileName, ...p }) } : {}),
    });
  } catch (err) {
    if (err instanceof DownloadFailed) {
      throw new DataUnavailableError(
        `cannot download ${title} from ${url}: ${err.reason}` +
          (err.partKept ? ` (the partial file ${err.part} is kept; run again to resume)` : '') +
          `; ${placeAdvice(fileName, dirname(dest))}`,
      );
    }
    if (err instanceof ChecksumMismatch) {
      throw new DataFileError(dest, `checksum mismatch after download from ${url}: MD5 is ${err.actual}, expected ${err.expected}; the download was removed, run again to retry`);
    }
    if (err instanceof DestinationExists) throw new DataFileError(dest, 'already exists; the new download was left at ' + err.part);
    throw err;
  }
}
