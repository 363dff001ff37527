/**
 * `cellscope cancel RUN`: asks a running trainer to stop (SIGTERM), only a
 * process proven to be the run's trainer (src/runs/trainerProcess.ts). The
 * trainer saves a checkpoint and marks the run cancelled; `cellscope resume`
 * continues it. Waits (up to --wait seconds) until run.json says so. A run
 * Slurm started is cancelled through `scancel` of its job, wherever it runs.
 */
import { effectiveStatus, type RunRecord } from '../../shared/runTypes.js';
import { slurmJobName } from '../../shared/slurmTypes.js';
import { findRunDir, readRunRecord, RunStoreError, trainerAlive } from '../../runs/runStore.js';
import { signalTrainer } from '../../runs/trainerProcess.js';
import { flagNumber, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { RUNS_FLAG, runsDirOf } from './train.js';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export const cancelCommand: Command = {
  name: 'cancel',
  summary: 'stop a running training run, keeping a checkpoint to resume from',
  usage: 'cellscope cancel RUN [--runs DIR] [--wait SECONDS]\nWaits up to --wait seconds (default 60; 0: do not wait) for the trainer to record the cancellation.',
  async run(argv, io) {
    const args = parseArgs(argv, { runs: RUNS_FLAG, wait: { type: 'number', min: 0 } });
    if (args.positional.length !== 1) throw new UsageError('cancel needs exactly one RUN');
    let dir: string;
    let record: RunRecord;
    try {
      dir = findRunDir(args.positional[0]!, runsDirOf(args, io.cwd), io.cwd);
      record = readRunRecord(dir);
    } catch (error) {
      if (!(error instanceof RunStoreError)) throw error;
      io.stderr(`cellscope cancel: ${error.message}\n`);
      return 1;
    }
    // A run Slurm trains elsewhere: its job says whether it still runs.
    const status = record.slurm !== undefined ? (await import('../../runs/slurm/slurmStatus.js')).runStatusWithSlurm(record) : effectiveStatus(record, trainerAlive);
    if (status.status !== 'running') {
      io.stderr(`cellscope cancel: run ${record.id} is not running (${status.status}${status.reason ? `: ${status.reason}` : ''})\n`);
      return 1;
    }
    if (record.slurm !== undefined) {
      // Slurm's scancel: SIGTERM to the trainer (the batch step), SIGKILL only after KillWait.
      const { scancelRun } = await import('../../runs/slurm/slurmCancel.js');
      const problem = scancelRun(record);
      if (problem !== undefined) {
        io.stderr(`cellscope cancel: ${problem}\n`);
        return 1;
      }
    } else {
      try {
        // Only a process proven to be the run's trainer, whatever run.json's pid says.
        signalTrainer(dir, record);
      } catch (error) {
        if (!(error instanceof RunStoreError)) throw error;
        io.stderr(`cellscope cancel: ${error.message}\n`);
        return 1;
      }
    }
    const waitMs = (flagNumber(args, 'wait') ?? 60) * 1000;
    if (waitMs === 0) {
      io.stdout(record.slurm !== undefined ? `scancel'd Slurm job ${slurmJobName(record.slurm)} (run ${record.id})\n` : `sent SIGTERM to process ${record.pid} (run ${record.id})\n`);
      return 0;
    }
    const deadline = Date.now() + waitMs;
    while (Date.now() < deadline) {
      await sleep(200);
      const now = readRunRecord(dir);
      const seen = effectiveStatus(now, trainerAlive);
      if (seen.status !== 'running') {
        io.stdout(`run ${record.id}: ${seen.status}${seen.reason ? ` (${seen.reason})` : ''}\n`);
        return seen.status === 'cancelled' || seen.status === 'completed' ? 0 : 1;
      }
    }
    io.stderr(`cellscope cancel: run ${record.id} has not stopped after ${waitMs / 1000} s (process ${record.pid})\n`);
    return 1;
  },
};
