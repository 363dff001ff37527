/** `cellscope cancel` of a run Slurm started: scancel of its job (the trainer gets SIGTERM and checkpoints). */
import type { RunRecord } from '../../shared/runTypes.js';
import { slurmJobName } from '../../shared/slurmTypes.js';
import { scancel, SlurmError } from './slurmCommands.js';

/** scancel of the run's job; undefined when sent, else why not. */
export function scancelRun(record: RunRecord): string | undefined {
  if (record.slurm === undefined) return `run ${record.id} was not started by Slurm`;
  try {
    scancel([slurmJobName(record.slurm)]);
    return undefined;
  } catch (error) {
    if (error instanceof SlurmError) return `run ${record.id}: ${error.message}`;
    throw error;
  }
}
