/**
 * Whole-file replacement that a crash cannot leave half-written: the bytes go
 * to a temporary file beside the target, are flushed to disk, and the
 * temporary file is renamed over the target (atomic on POSIX filesystems and
 * on NTFS). Readers see the old file or the new one, never a mixture.
 */
import { closeSync, constants, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

let counter = 0;

export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${counter++}.tmp`);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  try {
    const fd = openSync(temp, 'w');
    try {
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

/**
 * Appends to a file (creating it), never through a symbolic link: a link
 * planted in a shared run folder (metrics.jsonl → ~/.bashrc) must not make
 * the trainer write outside it. Whole-file writes are safe already: the
 * rename of writeFileAtomic replaces a link instead of following it.
 */
export function appendFileNoFollow(path: string, data: string): void {
  let fd: number;
  try {
    // O_NOFOLLOW is not defined on Windows, where creating links needs privileges.
    fd = openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0), 0o666);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new Error(`${path} is a symbolic link; refusing to write through it`);
    throw error;
  }
  try {
    const bytes = Buffer.from(data, 'utf8');
    let written = 0;
    while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
  } finally {
    closeSync(fd);
  }
}
