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
 *
 * `acquireOwnerLock` is the other kind: held for a long job by one process
 * (a trainer on its run), with pid, host and start time in the file, taken
 * over only when its holder provably died, never by age.
 */
import { closeSync, linkSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileIdentity, pathIdentity, pidExists, processStartOf } from './processes.js';

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
  return Number.isInteger(pid) && pid > 0 && pid !== process.pid && !pidExists(pid);
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

// ---- owner locks ------------------------------------------------------------

/**
 * Who holds an owner lock: written into the lock file as JSON when it is
 * taken. The start time tells a live holder from a later process given its
 * recycled pid.
 */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly processStart?: string;
  readonly at: string;
  /** What the holder does, for messages ('trained'); absent in locks that do not say. */
  readonly purpose?: string;
}

/** The lock is held by a process that is (or may be: another host) alive. */
export class LockHeldError extends Error {
  constructor(
    readonly lockPath: string,
    readonly holder: LockHolder | undefined,
  ) {
    super(`${lockPath} is held by ${describeHolder(holder)}`);
  }
}

export function describeHolder(holder: LockHolder | undefined): string {
  if (holder === undefined) return 'a process that has not written its pid yet';
  return `pid ${holder.pid}${holder.host !== hostname() ? ` on ${holder.host}` : ''}`;
}

/** An owner lock this process holds; `release` gives it up (also done when the process exits). */
export interface HeldLock {
  readonly path: string;
  /** The open lock file: the trainer keeps it open while it holds the lock, which is what proves it is the holder. */
  readonly fd: number;
  release(): void;
}

/** The holder a lock file's text names; undefined when it is empty or not a holder record. */
export function parseLockHolder(text: string): LockHolder | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (!(Number.isSafeInteger(v['pid']) && (v['pid'] as number) > 0) || typeof v['host'] !== 'string' || typeof v['at'] !== 'string') return undefined;
  if (v['processStart'] !== undefined && typeof v['processStart'] !== 'string') return undefined;
  if (v['purpose'] !== undefined && typeof v['purpose'] !== 'string') return undefined;
  return value as LockHolder;
}

/** The holder the lock file at `lockPath` names; undefined when there is none. */
export function readLockHolder(lockPath: string): LockHolder | undefined {
  try {
    return parseLockHolder(readFileSync(lockPath, 'utf8'));
  } catch {
    return undefined;
  }
}

/**
 * Whether an owner lock may be taken over: its holder provably died (no such
 * pid, or the pid now belongs to a process that started at another time), or
 * the file names no holder and is older than `unnamedStaleMs` (a holder dies
 * between creating and writing it). A holder on another host is never taken
 * over: nothing here can tell whether it lives.
 */
function ownerLockStale(lockPath: string, text: string, unnamedStaleMs: number): boolean {
  const holder = parseLockHolder(text);
  if (holder === undefined) {
    try {
      return Date.now() - statSync(lockPath).mtimeMs > unnamedStaleMs;
    } catch {
      return false;
    }
  }
  if (holder.host !== hostname()) return false;
  if (!pidExists(holder.pid)) return true;
  const now = processStartOf(holder.pid);
  return holder.processStart !== undefined && now !== undefined && now !== holder.processStart;
}

/**
 * Takes the lock file at `lockPath` (created exclusively) for as long as this
 * process works on what it guards, possibly hours: a trainer on its run. One
 * holder at a time; a lock whose holder provably died (SIGKILL, a crash, a
 * reboot) is taken over, so a crash never leaves it stuck. Throws
 * LockHeldError, having changed nothing, when a live holder has it.
 *
 * Taking over renames the stale file aside and checks that what was moved is
 * the stale file that was judged: a fresh lock taken meanwhile by another
 * process taking over is put back, not removed.
 */
export function acquireOwnerLock(lockPath: string, options: { readonly unnamedStaleMs?: number; readonly purpose?: string } = {}): HeldLock {
  const unnamedStaleMs = options.unnamedStaleMs ?? 10_000;
  for (let attempt = 0; attempt < 20; attempt++) {
    let fd: number;
    try {
      fd = openSync(lockPath, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let text: string;
      try {
        text = readFileSync(lockPath, 'utf8');
      } catch {
        continue; // released meanwhile
      }
      if (!ownerLockStale(lockPath, text, unnamedStaleMs)) throw new LockHeldError(lockPath, parseLockHolder(text));
      const aside = `${lockPath}.stale-${process.pid}-${Date.now()}-${attempt}`;
      try {
        renameSync(lockPath, aside);
      } catch {
        continue; // someone else moved it first
      }
      let moved = '';
      try {
        moved = readFileSync(aside, 'utf8');
      } catch {
        // unreadable: treated as not the judged one
      }
      if (moved !== text) {
        // A fresh lock taken between the judgement and the rename: put it back (link fails if yet another exists).
        try {
          linkSync(aside, lockPath);
        } catch {
          // leave it; its holder still has it open and the next attempt decides
        }
      }
      rmSync(aside, { force: true });
      continue;
    }
    const start = processStartOf('self');
    const holder: LockHolder = {
      pid: process.pid,
      host: hostname(),
      ...(start !== undefined ? { processStart: start } : {}),
      at: new Date().toISOString(),
      ...(options.purpose !== undefined ? { purpose: options.purpose } : {}),
    };
    try {
      writeSync(fd, JSON.stringify(holder));
    } catch (error) {
      closeSync(fd);
      rmSync(lockPath, { force: true });
      throw error;
    }
    const identity = fileIdentity(fd);
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      // Removed only while the path still names this lock, never a successor's.
      if (pathIdentity(lockPath) === identity) rmSync(lockPath, { force: true });
      try {
        closeSync(fd);
      } catch {
        // already closed
      }
    };
    process.on('exit', release);
    return { path: lockPath, fd, release };
  }
  throw new LockHeldError(lockPath, readLockHolder(lockPath));
}
