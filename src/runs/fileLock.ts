/**
 * A lock file beside a file that several processes read, change and write
 * back whole (the training queue, shared by every window open on one
 * workspace). `withFileLock` holds `<path>.lock`, created exclusively, for the
 * length of a short synchronous read-modify-write, so two windows cannot
 * interleave and lose each other's change.
 *
 * The lock records its holder's pid: a lock left by a process that died (a
 * crashed window) is taken over at once, and one older than `staleMs` is taken
 * over even if its pid lives (a pid recycled by another process). Waiting is a
 * synchronous sleep: the critical sections are a few file operations long.
 */
import { closeSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';

export interface FileLockOptions {
  /** Give up waiting after this long (ms): the caller gets an error naming the lock file. */
  readonly timeoutMs?: number;
  /** A lock older than this (ms) is stale whoever holds it. */
  readonly staleMs?: number;
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the lock at `lockPath` may be broken: its holder is gone or it is too old. */
function isStale(lockPath: string, staleMs: number): boolean {
  let text: string;
  let age: number;
  try {
    text = readFileSync(lockPath, 'utf8');
    age = Date.now() - statSync(lockPath).mtimeMs;
  } catch {
    return false; // released meanwhile: the next attempt to create it decides
  }
  if (age > staleMs) return true;
  const pid = Number.parseInt(text, 10);
  // An empty file is a holder between creating and writing it: not stale unless old.
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid);
}

/** Runs `action` while holding `<path>.lock`; returns what it returns. */
export function withFileLock<T>(path: string, action: () => T, options: FileLockOptions = {}): T {
  const lockPath = `${path}.lock`;
  const timeoutMs = options.timeoutMs ?? 5000;
  const staleMs = options.staleMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let fd: number | undefined;
  for (let wait = 1; fd === undefined; wait = Math.min(wait * 2, 50)) {
    try {
      fd = openSync(lockPath, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (isStale(lockPath, staleMs)) {
        // Two waiters may both find it stale and one remove the other's fresh
        // lock; that needs a dead holder and a same-millisecond race, and costs
        // at worst one lost queue change, as with no lock at all.
        rmSync(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new Error(`${lockPath} is held by another process (${readHolder(lockPath)}) for over ${timeoutMs} ms`);
      sleepSync(wait);
    }
  }
  try {
    try {
      writeSync(fd, String(process.pid));
    } finally {
      closeSync(fd);
    }
    return action();
  } finally {
    rmSync(lockPath, { force: true });
  }
}

function readHolder(lockPath: string): string {
  try {
    return `pid ${readFileSync(lockPath, 'utf8').trim() || 'unknown'}`;
  } catch {
    return 'released just now';
  }
}
