/**
 * Where a trainer runs, as its environment tells it: the Slurm job (SLURM_*
 * variables sbatch sets, and CELLSCOPE_SLURM_SCRIPT our batch scripts set)
 * and the device a multi-device executor assigned (CELLSCOPE_DEVICE). The
 * trainer records both in run.json, so that `runs`, `cancel` and `resume`
 * know the job without asking anyone.
 */
import type { RunSlurmJob } from '../../shared/slurmTypes.js';

export function slurmJobOfEnv(env: NodeJS.ProcessEnv = process.env): RunSlurmJob | undefined {
  const jobId = env['SLURM_JOB_ID'];
  if (jobId === undefined || jobId === '') return undefined;
  const arrayJobId = env['SLURM_ARRAY_JOB_ID'];
  const taskId = env['SLURM_ARRAY_TASK_ID'];
  const script = env['CELLSCOPE_SLURM_SCRIPT'];
  const cluster = env['SLURM_CLUSTER_NAME'];
  const node = env['SLURMD_NODENAME'];
  return {
    jobId,
    ...(arrayJobId && taskId !== undefined && /^\d+$/.test(taskId) ? { arrayJobId, taskId: Number(taskId) } : {}),
    ...(script ? { script } : {}),
    ...(cluster ? { cluster } : {}),
    ...(node ? { node } : {}),
  };
}

/** CELLSCOPE_DEVICE: the slot (`gpu:N`, `webgpu:N`) a multi-device executor gave this trainer. */
export function deviceOfEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const device = env['CELLSCOPE_DEVICE'];
  return device !== undefined && device !== '' ? device : undefined;
}

/** The run.json fields that say where this process trains. */
export function placementOfEnv(env: NodeJS.ProcessEnv = process.env): { slurm?: RunSlurmJob; device?: string } {
  const slurm = slurmJobOfEnv(env);
  const device = deviceOfEnv(env);
  return { ...(slurm !== undefined ? { slurm } : {}), ...(device !== undefined ? { device } : {}) };
}
