/** `cellscope resume` of a run Slurm trained: resubmission, with Slurm's message when sbatch refuses. */
import type { RunRecord } from '../../shared/runTypes.js';
import { requireSbatch, SlurmError } from './slurmCommands.js';
import { currentInvocation, resubmitRun } from './submit.js';

export function resubmitSlurmRun(runDir: string, record: RunRecord): { submitted: string } | { error: string } {
  try {
    requireSbatch();
    return { submitted: resubmitRun(runDir, record, currentInvocation()) };
  } catch (error) {
    if (error instanceof SlurmError) return { error: error.message };
    throw error;
  }
}
