/**
 * Slurm's own client commands, run as child processes: sbatch, scancel,
 * squeue, sacct, sinfo. We use the scheduler researchers already have rather
 * than a client library, so whatever `sbatch` refuses (a bad partition, a
 * QoS limit) reaches the user in Slurm's own words (SlurmError).
 */
import { spawnSync } from 'node:child_process';
import type { SlurmJobState } from '../../shared/slurmTypes.js';

export class SlurmError extends Error {}

interface Result {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly missing: boolean;
}

function run(command: string, args: readonly string[], timeoutMs = 30_000): Result {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: timeoutMs });
  const missing = (r.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
  return { code: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error?.message ?? ''), missing };
}

/** Slurm's message without the `sbatch: error: ` prefixes, one line. */
function slurmMessage(r: Result, command: string): string {
  const text = r.stderr
    .split('\n')
    .map((l) => l.replace(new RegExp(`^${command}: (error: )?`), '').trim())
    .filter((l) => l !== '')
    .join('; ');
  return text || `${command} exited with status ${r.code}`;
}

/** Whether `sbatch` is on PATH. */
export function sbatchAvailable(): boolean {
  return !run('sbatch', ['--version'], 10_000).missing;
}

export function requireSbatch(): void {
  if (!sbatchAvailable()) throw new SlurmError('sbatch is not on PATH: --executor slurm needs Slurm\'s client commands (run on a login node of the cluster)');
}

/** Submits a batch script; returns the job id (`--parsable` prints `id` or `id;cluster`). */
export function sbatch(options: readonly string[], script: string): string {
  const r = run('sbatch', ['--parsable', ...options, script]);
  if (r.missing) throw new SlurmError('sbatch is not on PATH');
  if (r.code !== 0) throw new SlurmError(`sbatch refused the job: ${slurmMessage(r, 'sbatch')}`);
  const id = r.stdout.trim().split('\n').pop()!.split(';')[0]!.trim();
  if (!/^\d+$/.test(id)) throw new SlurmError(`sbatch printed no job id (${r.stdout.trim() || 'nothing'})`);
  return id;
}

/** scancel JOB… (with a signal: only that signal, the job is not ended by Slurm itself). */
export function scancel(jobs: readonly string[], signal?: string): void {
  if (jobs.length === 0) return;
  const r = run('scancel', [...(signal !== undefined ? [`--signal=${signal}`] : []), ...jobs]);
  if (r.missing) throw new SlurmError('scancel is not on PATH');
  if (r.code !== 0) throw new SlurmError(`scancel ${jobs.join(' ')}: ${slurmMessage(r, 'scancel')}`);
}

/** `1_[0-2,5%2]` → 1_0, 1_1, 1_2, 1_5 (how sacct prints a pending array). */
export function expandArrayJob(job: string): string[] {
  const m = /^(\d+)_\[([^\]]+)\]$/.exec(job);
  if (!m) return [job];
  const out: string[] = [];
  for (const part of m[2]!.split('%')[0]!.split(',')) {
    const [a, b] = part.split('-').map(Number);
    if (a === undefined || !Number.isInteger(a)) continue;
    for (let k = a; k <= (b ?? a); k++) out.push(`${m[1]}_${k}`);
  }
  return out;
}

/** Parses `job|state|reason|node` lines. */
export function parseJobLines(text: string): SlurmJobState[] {
  const out: SlurmJobState[] = [];
  for (const line of text.split('\n')) {
    const [job, state, reason, node] = line.trim().split('|');
    if (!job || !state) continue;
    for (const j of expandArrayJob(job)) {
      out.push({ job: j, state: state.split(' ')[0]!, ...(reason ? { reason } : {}), ...(node ? { node } : {}) });
    }
  }
  return out;
}

/**
 * The states of some jobs (`123`, `123_4`; an array id gives all its tasks),
 * from sacct where accounting is kept, else from squeue (which forgets a job
 * MinJobAge after it ends). Jobs Slurm no longer knows are absent; an empty
 * map when Slurm cannot be asked.
 */
export function jobStates(jobs: readonly string[]): Map<string, SlurmJobState> {
  const out = new Map<string, SlurmJobState>();
  const ids = [...new Set(jobs)];
  if (ids.length === 0) return out;
  const acct = run('sacct', ['-n', '-P', '-X', '-j', ids.join(','), '-o', 'JobID,State,ExitCode,NodeList']);
  if (acct.code === 0) for (const s of parseJobLines(acct.stdout)) out.set(s.job, s);
  // squeue is the fresher source for jobs it still holds (sacct lags behind the controller).
  const query = (list: readonly string[]) => run('squeue', ['-h', '-r', '-t', 'all', '-j', list.join(','), '-o', '%i|%T|%r|%N']);
  let queue = query(ids);
  if (queue.code === 0) {
    for (const s of parseJobLines(queue.stdout)) out.set(s.job, s);
  } else if (!queue.missing && ids.length > 1) {
    // squeue refuses the whole list when one id is unknown to it: ask one by one.
    for (const id of ids) {
      queue = query([id]);
      if (queue.code === 0) for (const s of parseJobLines(queue.stdout)) out.set(s.job, s);
    }
  }
  return out;
}

/** Whether Slurm's controller answers (`sinfo`), and the first node's state. */
export function slurmNodeState(): string | undefined {
  const r = run('sinfo', ['-h', '-N', '-o', '%T'], 10_000);
  if (r.code !== 0) return undefined;
  return r.stdout.trim().split('\n')[0]?.trim() || undefined;
}
