/**
 * Runs scheduled by Slurm (`--executor slurm`): what a run and an experiment
 * record about their jobs, the job states Slurm reports, and the pure rule
 * that combines a run's files with what Slurm says about its job.
 *
 * Pure: no node modules (the extension's Runs view reads these too).
 */

/** The Slurm job a run's trainer ran in (from SLURM_* in its environment). */
export interface RunSlurmJob {
  /** SLURM_JOB_ID: the task's own job id (array tasks have one each). */
  readonly jobId: string;
  /** SLURM_ARRAY_JOB_ID and SLURM_ARRAY_TASK_ID, for an array task. */
  readonly arrayJobId?: string;
  readonly taskId?: number;
  /** The batch script that ran it (what `resume` resubmits). */
  readonly script?: string;
  readonly cluster?: string;
  readonly node?: string;
}

/** The name Slurm's commands take for a job: `123_4` for an array task, else `123`. */
export function slurmJobName(job: Pick<RunSlurmJob, 'jobId' | 'arrayJobId' | 'taskId'>): string {
  return job.arrayJobId !== undefined && job.taskId !== undefined ? `${job.arrayJobId}_${job.taskId}` : job.jobId;
}

/** The sbatch options a submission passes through (flags of `--executor slurm`). */
export interface SlurmOptions {
  readonly partition?: string;
  /** `gpu:N`, as for sbatch --gres. */
  readonly gres?: string;
  readonly time?: string;
  readonly mem?: string;
  readonly cpusPerTask?: number;
  readonly account?: string;
  /** Cap on array tasks running at once (`--array=…%K`). */
  readonly maxRunning?: number;
  /** `#SBATCH` lines read from --sbatch-file, as given. */
  readonly extraLines?: readonly string[];
  /** Let Slurm requeue a preempted or failed-node task (the task resumes its run). */
  readonly requeue?: boolean;
}

/** One sbatch of an experiment: the array of its entries (or some of them) and the report job after it. */
export interface SlurmSubmission {
  readonly at: string;
  /** The array job id; its tasks are `<arrayJobId>_<entry index>`. */
  readonly arrayJobId: string;
  /** Entry indices (0-based) the array runs. */
  readonly tasks: readonly number[];
  /** The job that writes the report once every task has ended (afterany). */
  readonly reportJobId: string;
  /** Why: 'submit' (the experiment), or 'resume <run id>'. */
  readonly why: string;
}

/** What experiment.json records of its Slurm jobs. */
export interface ExperimentSlurm {
  /** The task script (one array task per entry, SLURM_ARRAY_TASK_ID = entry index) and the report script. */
  readonly script: string;
  readonly reportScript: string;
  readonly options: SlurmOptions;
  /** Every submission, oldest first; the last one that names an entry is its current job. */
  readonly submissions: readonly SlurmSubmission[];
}

/** A job's state as squeue / sacct / scontrol print it (COMPLETED, RUNNING, PENDING, CANCELLED by 0 → CANCELLED). */
export interface SlurmJobState {
  readonly job: string;
  readonly state: string;
  /** squeue's reason (Dependency, Resources…) or sacct's exit code. */
  readonly reason?: string;
  readonly node?: string;
}

/** States in which a job has not started (yet or again). */
export const SLURM_WAITING_STATES = ['PENDING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESV_DEL_HOLD', 'SUSPENDED', 'CONFIGURING'] as const;
/** States of a job that is over. */
export const SLURM_ENDED_STATES = [
  'COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'REVOKED', 'SPECIAL_EXIT',
] as const;

export function slurmStateWaiting(state: string): boolean {
  return (SLURM_WAITING_STATES as readonly string[]).includes(state.split(' ')[0]!);
}
export function slurmStateEnded(state: string): boolean {
  return (SLURM_ENDED_STATES as readonly string[]).includes(state.split(' ')[0]!);
}

/** What a Slurm job says about a run marked running whose trainer cannot be checked from here. */
export function slurmOrphanReason(job: SlurmJobState): string | undefined {
  if (!slurmStateEnded(job.state)) return undefined;
  return `Slurm job ${job.job} ended (${job.state}${job.reason && job.reason !== 'None' ? `, ${job.reason}` : ''}) without the trainer recording an outcome`;
}

/** The Runs view's group of a run Slurm trained: its array (or job), so the tasks of one submission sit together. */
export function slurmGroupName(job: RunSlurmJob): string {
  return job.arrayJobId !== undefined ? `Slurm array ${job.arrayJobId}` : `Slurm job ${job.jobId}`;
}
