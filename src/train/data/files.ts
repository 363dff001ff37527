/**
 * File-system helpers shared by the loaders: the cache folder, checksums,
 * gzip, and writing without ever replacing a file that is already there.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, promises as fs, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream';
import { createGunzip, gunzipSync } from 'node:zlib';
import { DataFileError } from './errors.js';

/** The cache folder: the option, else $CELLSCOPE_DATA, else ~/.cache/cellscope/data. */
export function resolveDataDir(dataDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (dataDir) return dataDir;
  if (env.CELLSCOPE_DATA) return env.CELLSCOPE_DATA;
  return join(homedir(), '.cache', 'cellscope', 'data');
}

/**
 * What is wrong with a path meant as the data folder, or undefined when it is
 * a folder or does not exist yet (it is made on the first download). A file
 * there would otherwise surface as a bare EEXIST/ENOTDIR from mkdir.
 */
export function dataFolderProblem(dir: string): string | undefined {
  try {
    return statSync(dir).isDirectory() ? undefined : 'is a file, not a folder';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR') return 'is not a folder: part of its path is a file';
    return `cannot be read (${code ?? (error as Error).message})`;
  }
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}

export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const st = await fs.stat(path);
    return st.isFile() ? st.size : undefined;
  } catch {
    return undefined;
  }
}

/** Lower-case hex MD5 of a file, streamed. */
export async function md5File(path: string): Promise<string> {
  const hash = createHash('md5');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Throws unless the file's MD5 is `expected` (`null`: not checked). */
export async function verifyMd5(path: string, expected: string | null, advice: string): Promise<void> {
  if (expected === null) return;
  const actual = await md5File(path);
  if (actual !== expected.toLowerCase()) {
    throw new DataFileError(path, `checksum mismatch: MD5 is ${actual}, expected ${expected.toLowerCase()}; ${advice}`);
  }
}

/** Describes a zlib failure the way a user can act on. */
function gzipProblem(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'Z_BUF_ERROR' || /unexpected end/i.test(e.message)) return 'truncated gzip data (the file ends early)';
  return `not valid gzip data (${e.message})`;
}

/** Whole-file gunzip with errors naming the file. */
export function gunzipFile(bytes: Buffer, file: string): Buffer {
  try {
    return gunzipSync(bytes);
  } catch (err) {
    throw new DataFileError(file, gzipProblem(err));
  }
}

/** Streams the decompressed bytes of a .gz file; failures name the file. */
export async function* gunzipStream(path: string): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  pipeline(createReadStream(path), gunzip, () => {});
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw err;
    throw new DataFileError(path, gzipProblem(err));
  }
}

/**
 * Writes `data` to `path` through a temporary file and a rename, refusing to
 * replace a file that already exists (a user's good file is never touched).
 */
export async function writeNewFile(path: string, data: Uint8Array | readonly Uint8Array[]): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  const handle = await fs.open(tmp, 'wx');
  try {
    for (const part of data instanceof Uint8Array ? [data] : data) await handle.write(part);
  } finally {
    await handle.close();
  }
  try {
    // link() fails when the target exists, unlike rename(): no file is replaced.
    await fs.link(tmp, path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new DataFileError(path, 'already exists; left as it is');
    // File systems without hard links: check, then rename (a narrow race only).
    if (await exists(path)) throw new DataFileError(path, 'already exists; left as it is');
    await fs.rename(tmp, path);
  } finally {
    await fs.unlink(tmp).catch(() => {});
  }
}
