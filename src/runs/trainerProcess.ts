/**
 * Which process is a run's trainer, proven rather than read: run.json's pid
 * is whatever the file says (another process, 0 or a negative number, which
 * kill(2) takes as a whole process group), so `cancel` — the CLI's and the
 * Runs view's — signals only a process that
 *
 * - is named by the run's writer lock (`trainer.lock`) as well as run.json,
 *   on this host;
 * - started when the lock says (not a later process given the recycled pid);
 * - has that very lock file open now (Linux /proc/PID/fd): the trainer keeps
 *   it open while it trains, and no file anyone writes can make another
 *   process hold it.
 *
 * Where the OS cannot tell these (no /proc), nothing is signalled and the
 * message says so. Never a process group: only the positive pid proven.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { RunRecord } from '../shared/runTypes.js';
import { readLockHolder } from './fileLock.js';
import { canTellProcessStarts, pidExists, processHoldsFile, processStartOf } from './processes.js';
import { RunStoreError } from './runPaths.js';
import { WRITER_LOCK_FILE } from './runStore.js';

/** The trainer's pid, or why no process could be proven to be it. */
export type TrainerProof = { readonly pid: number; readonly refused?: undefined } | { readonly refused: string };

/** Proves which process trains the run in `runDir` (whose run.json says `record`). */
export function proveTrainer(runDir: string, record: Pick<RunRecord, 'id' | 'pid' | 'host'>): TrainerProof {
  const lockPath = join(runDir, WRITER_LOCK_FILE);
  const holder = readLockHolder(lockPath);
  if (holder === undefined) return { refused: `no trainer holds ${lockPath}, so no process is known to train run ${record.id}` };
  if (holder.host !== hostname()) return { refused: `run ${record.id} is trained on ${holder.host}; cancel it there` };
  if (holder.pid !== record.pid) return { refused: `run.json names pid ${record.pid} but ${lockPath} pid ${holder.pid}; not signalling either` };
  const pid = holder.pid;
  if (pid === process.pid) return { refused: `pid ${pid} is this process` };
  if (!canTellProcessStarts()) return { refused: `cannot prove on this system that pid ${pid} is the trainer of run ${record.id} (no /proc); stop it yourself if it is` };
  if (!pidExists(pid)) return { refused: `the trainer of run ${record.id} (pid ${pid}) is not running` };
  if (holder.processStart === undefined || processStartOf(pid) !== holder.processStart) {
    return { refused: `pid ${pid} is not the process that took ${lockPath} (it started at another time)` };
  }
  const holds = processHoldsFile(pid, lockPath);
  if (holds !== true) {
    return { refused: holds === undefined ? `cannot see the open files of pid ${pid} (another user's process?)` : `pid ${pid} does not hold ${lockPath}: it is not the trainer of run ${record.id}` };
  }
  return { pid };
}

/**
 * Sends `signal` to the proven trainer of the run in `runDir`; returns its
 * pid. Throws RunStoreError, having signalled nothing, when no process is
 * proven to be it.
 */
export function signalTrainer(runDir: string, record: Pick<RunRecord, 'id' | 'pid' | 'host'>, signal: NodeJS.Signals = 'SIGTERM'): number {
  const proof = proveTrainer(runDir, record);
  if (proof.refused !== undefined) throw new RunStoreError(`not signalling: ${proof.refused}`);
  try {
    process.kill(proof.pid, signal);
  } catch (error) {
    throw new RunStoreError(`cannot signal the trainer of run ${record.id} (pid ${proof.pid}): ${(error as Error).message}`);
  }
  return proof.pid;
}
