/**
 * What this machine says about a process, for telling whether a pid written
 * in a file is still the process that wrote it and whether it is the one
 * holding a given file open. Linux answers through /proc; elsewhere the
 * answers are "cannot tell" (undefined), and callers that would signal a
 * process refuse rather than guess.
 */
import { fstatSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';

/**
 * When this process started, as Linux records it (field 22 of
 * /proc/PID/stat, clock ticks after boot); undefined elsewhere or when there
 * is no such process.
 */
export function processStartOf(pid: number | 'self'): string | undefined {
  if (pid !== 'self' && !(Number.isSafeInteger(pid) && pid > 0)) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is parenthesised and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/** Whether the OS tells process start times here (Linux's /proc). */
export function canTellProcessStarts(): boolean {
  return processStartOf('self') !== undefined;
}

/**
 * Whether a process with this pid exists (EPERM: it does, as another user's).
 * Only positive pids: 0 and negative numbers name process groups to kill(2).
 */
export function pidExists(pid: number): boolean {
  if (!(Number.isSafeInteger(pid) && pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether process `pid` has the regular file at `path` open now (one of its
 * /proc/PID/fd entries is that very file: same device and inode). A link at
 * `path` is not followed: a lock file replaced by a link to a file some
 * other process has open proves nothing. Undefined when it cannot be told
 * (no /proc, or another user's process).
 */
export function processHoldsFile(pid: number, path: string): boolean | undefined {
  if (!(Number.isSafeInteger(pid) && pid > 0)) return false;
  let target;
  try {
    target = lstatSync(path);
  } catch {
    return false;
  }
  if (!target.isFile()) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch (error) {
    // ENOENT: no such process (or no /proc, which callers check first with canTellProcessStarts).
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? false : undefined;
  }
  for (const fd of fds) {
    try {
      // stat follows /proc's magic link to the open file itself.
      const open = statSync(`/proc/${pid}/fd/${fd}`);
      if (open.dev === target.dev && open.ino === target.ino) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** Device and inode of an open file descriptor, to tell later whether a path still names that file. */
export function fileIdentity(fd: number): string {
  const s = fstatSync(fd);
  return `${s.dev}:${s.ino}`;
}

/** Device and inode of the file at `path` (links not followed); undefined when there is none. */
export function pathIdentity(path: string): string | undefined {
  try {
    const s = lstatSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}
