/**
 * Getting one official archive into the cache folder: use the file that is
 * there (after checking its checksum, never replacing it), else download it,
 * else say exactly what to put where.
 */
import { join } from 'node:path';
import { DataUnavailableError } from './errors.js';
import { downloadFile, placeAdvice } from './download.js';
import { exists, verifyMd5 } from './files.js';
import type { LoadOptions } from '../../shared/datasetTypes.js';

export interface ArchiveSpec {
  /** Human name for messages, e.g. 'CIFAR-10'. */
  readonly title: string;
  /** File name in the cache folder and at the end of the URL. */
  readonly fileName: string;
  /** Official address. */
  readonly url: string;
  /** Official MD5 (lower-case hex); null: not verified. */
  readonly md5: string | null;
  /** Official size in bytes, reported as the total while downloading. */
  readonly size?: number;
}

/** The MD5 to check: the options' table wins over the built-in one. */
export function expectedMd5(spec: ArchiveSpec, options: LoadOptions): string | null {
  const override = options.checksums?.[spec.fileName];
  return override !== undefined ? override : spec.md5;
}

/** The URL to fetch: `baseUrl` (or $CELLSCOPE_DATA_URL) + file name, else the official one. */
export function downloadUrl(spec: ArchiveSpec, options: LoadOptions, env: NodeJS.ProcessEnv = process.env): string {
  const base = options.baseUrl ?? env.CELLSCOPE_DATA_URL;
  if (!base) return spec.url;
  return `${base.replace(/\/+$/, '')}/${spec.fileName}`;
}

/**
 * The path of a checked archive in `dir`, downloading it first when it is
 * missing and downloads are allowed.
 */
export async function ensureArchive(spec: ArchiveSpec, dir: string, options: LoadOptions): Promise<string> {
  const path = join(dir, spec.fileName);
  const md5 = expectedMd5(spec, options);
  if (await exists(path)) {
    await verifyMd5(path, md5, 'the file was left as it is: replace it with a good copy, or remove it to download it again');
    return path;
  }
  if (options.download === false) {
    throw new DataUnavailableError(`${spec.title} is not in ${dir} and downloading is off; ${placeAdvice(spec.fileName, dir)}`);
  }
  await downloadFile({
    title: spec.title,
    url: downloadUrl(spec, options),
    dest: path,
    md5,
    ...(spec.size !== undefined ? { expectedSize: spec.size } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return path;
}
