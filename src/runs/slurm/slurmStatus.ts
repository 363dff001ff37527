/**
 * What runs and experiments under `--executor slurm` are doing, from their
 * files plus what Slurm says (squeue / sacct): a task still waiting is
 * queued, a run whose trainer ran on another node is failed once its job has
 * ended without the trainer recording an outcome, and a task that ended
 * without leaving its marker where the submitter can see it means the runs
 * folder is not shared with the compute nodes.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentFile } from '../../shared/experimentTypes.js';
import { effectiveStatus, type EffectiveStatus, type RunRecord, type RunStatus } from '../../shared/runTypes.js';
import { slurmJobName, slurmOrphanReason, slurmStateEnded, slurmStateWaiting, type SlurmJobState } from '../../shared/slurmTypes.js';
import { runsDirOfExperiment } from '../reportRuns.js';
import { runDirOf } from '../runPaths.js';
import { listRuns, readRunRecord, trainerAlive, type RunListing } from '../runStore.js';
import { markerPath } from './batchScript.js';
import { jobStates } from './slurmCommands.js';
import { readSubmitted } from './submit.js';

/** A run's status with its Slurm job taken into account (the files alone where Slurm says nothing). */
export function slurmEffectiveStatus(record: RunRecord, states: ReadonlyMap<string, SlurmJobState>): EffectiveStatus {
  const own = effectiveStatus(record, trainerAlive);
  if (own.status !== 'running' || record.slurm === undefined) return own;
  const job = states.get(slurmJobName(record.slurm));
  const orphan = job !== undefined ? slurmOrphanReason(job) : undefined;
  return orphan !== undefined ? { status: 'failed', reason: orphan, orphaned: true } : own;
}

/** The problem a task that ended without a visible marker shows, or undefined. */
export function notSharedProblem(runsDir: string, job: SlurmJobState): string | undefined {
  if (!slurmStateEnded(job.state) || existsSync(markerPath(runsDir, job.job))) return undefined;
  return (
    `the runs folder ${runsDir} is not shared with the compute node${job.node ? ` ${job.node}` : 's'}: ` +
    `Slurm task ${job.job} ended (${job.state}) but the marker it writes first (${markerPath(runsDir, job.job)}) is not visible here; ` +
    'put --dir/--runs on a filesystem the compute nodes mount'
  );
}

export type EntryState = RunStatus | 'queued' | 'not started';

export interface EntryStatus {
  readonly index: number;
  readonly name: string;
  /** The entry's training seed, when the experiment trains every cell with several (--seeds). */
  readonly trainSeed?: number;
  readonly width: number;
  readonly runId: string | null;
  readonly status: EntryState;
  readonly reason?: string;
  /** The entry's current Slurm task (`<array>_<index>`) and its state. */
  readonly job?: string;
  readonly jobState?: string;
  readonly epochs?: string;
}

export interface ExperimentStatus {
  readonly dir: string;
  readonly architecture: string;
  readonly entries: readonly EntryStatus[];
  readonly report?: { readonly job: string; readonly state?: string; readonly reason?: string };
  readonly counts: Readonly<Record<EntryState, number>>;
  readonly problems: readonly string[];
  /** Every job id the experiment submitted. */
  readonly jobs: readonly string[];
}

export function experimentStatus(dir: string, file: ExperimentFile): ExperimentStatus {
  const runsDir = runsDirOfExperiment(dir);
  const subs = file.slurm?.submissions ?? [];
  const currentJob = (k: number) => {
    for (let i = subs.length - 1; i >= 0; i--) if (subs[i]!.tasks.includes(k)) return `${subs[i]!.arrayJobId}_${k}`;
    return undefined;
  };
  const records = file.entries.map((e) => {
    if (e.runId === null) return undefined;
    const runDir = runDirOf(runsDir, e.runId, `${dir}/experiment.json`);
    return existsSync(join(runDir, 'run.json')) ? readRunRecord(runDir) : undefined;
  });
  const last = subs[subs.length - 1];
  const ask = [
    ...subs.flatMap((s) => s.tasks.map((k) => `${s.arrayJobId}_${k}`)),
    ...(last !== undefined ? [last.reportJobId] : []),
    ...records.flatMap((r) => (r?.slurm !== undefined ? [slurmJobName(r.slurm)] : [])),
  ];
  const states = subs.length > 0 ? jobStates(ask) : new Map<string, SlurmJobState>();
  const problems = new Set<string>();
  for (const s of subs) {
    for (const k of s.tasks) {
      const st = states.get(`${s.arrayJobId}_${k}`);
      const p = st !== undefined ? notSharedProblem(runsDir, st) : undefined;
      if (p !== undefined) problems.add(p);
    }
  }
  const entries = file.entries.map((e, k): EntryStatus => {
    const job = currentJob(k);
    const js = job !== undefined ? states.get(job) : undefined;
    const record = records[k];
    const base = { index: k, name: e.name, ...(e.trainSeed !== undefined ? { trainSeed: e.trainSeed } : {}), width: e.width, runId: e.runId, ...(job !== undefined ? { job } : {}), ...(js !== undefined ? { jobState: js.state } : {}) };
    if (record !== undefined) {
      const eff = slurmEffectiveStatus(record, states);
      const epochs = `${record.epochsCompleted}/${record.config.epochs}`;
      // A stopped run whose task was submitted again waits in the queue.
      if (eff.status !== 'running' && eff.status !== 'completed' && js !== undefined && slurmStateWaiting(js.state)) return { ...base, status: 'queued', epochs };
      return { ...base, status: eff.status, ...(eff.reason !== undefined ? { reason: eff.reason } : {}), epochs };
    }
    if (js === undefined) return { ...base, status: job !== undefined ? 'queued' : 'not started' };
    if (slurmStateWaiting(js.state)) return { ...base, status: 'queued', ...(js.reason && js.reason !== 'None' ? { reason: js.reason } : {}) };
    if (slurmStateEnded(js.state)) return { ...base, status: 'failed', reason: `Slurm task ${job} ended (${js.state}) before its trainer started a run` };
    return { ...base, status: 'running', reason: 'starting' };
  });
  const counts: Record<EntryState, number> = { queued: 0, running: 0, completed: 0, failed: 0, cancelled: 0, 'not started': 0 };
  for (const e of entries) counts[e.status]++;
  const reportState = last !== undefined ? states.get(last.reportJobId) : undefined;
  return {
    dir,
    architecture: file.architecture,
    entries,
    ...(last !== undefined
      ? { report: { job: last.reportJobId, ...(reportState !== undefined ? { state: reportState.state, ...(reportState.reason ? { reason: reportState.reason } : {}) } : {}) } }
      : {}),
    counts,
    problems: [...problems],
    jobs: subs.flatMap((s) => [s.arrayJobId, s.reportJobId]),
  };
}

/** A task `cellscope runs` lists before its trainer has created a run. */
export interface QueuedTask {
  readonly job: string;
  readonly name: string;
  readonly state: string;
  readonly reason?: string;
}

export interface SlurmRunsView {
  /** Run id → status with its Slurm job taken into account (only runs Slurm started). */
  readonly statuses: ReadonlyMap<string, EffectiveStatus>;
  readonly queued: readonly QueuedTask[];
  readonly problems: readonly string[];
}

/** Slurm's side of `cellscope runs`: asks Slurm only when the folder has Slurm runs or submissions. */
export function slurmRunsView(runsDir: string, listing: readonly RunListing[] = listRuns(runsDir)): SlurmRunsView {
  const submitted = readSubmitted(runsDir);
  const slurmRuns = listing.filter((l) => l.record?.slurm !== undefined);
  if (submitted.length === 0 && slurmRuns.length === 0) return { statuses: new Map(), queued: [], problems: [] };
  const states = jobStates([...submitted.map((s) => s.job), ...slurmRuns.map((l) => slurmJobName(l.record!.slurm!))]);
  const statuses = new Map<string, EffectiveStatus>();
  const started = new Set<string>();
  for (const l of slurmRuns) {
    statuses.set(l.id, slurmEffectiveStatus(l.record!, states));
    started.add(slurmJobName(l.record!.slurm!));
  }
  const queued: QueuedTask[] = [];
  const problems = new Set<string>();
  for (const s of submitted) {
    const st = states.get(s.job);
    if (st === undefined) continue;
    const p = notSharedProblem(runsDir, st);
    if (p !== undefined) problems.add(p);
    if (!started.has(s.job) && slurmStateWaiting(st.state)) queued.push({ job: s.job, name: s.name, state: st.state, ...(st.reason && st.reason !== 'None' ? { reason: st.reason } : {}) });
  }
  return { statuses, queued, problems: [...problems] };
}

/**
 * A run's status for `cancel` and `resume`: the files, and for a run Slurm
 * started on a node where its pid cannot be checked, its job's state.
 */
export function runStatusWithSlurm(record: RunRecord): EffectiveStatus {
  const own = effectiveStatus(record, trainerAlive);
  if (own.status !== 'running' || record.slurm === undefined || trainerAlive(record) !== undefined) return own;
  return slurmEffectiveStatus(record, jobStates([slurmJobName(record.slurm)]));
}
