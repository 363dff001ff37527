/**
 * What Slurm says about the jobs of runs the Runs view shows as running on
 * another node (where the editor cannot check the trainer's pid): squeue,
 * asked asynchronously (never blocking the extension host) and at most every
 * few seconds. A job Slurm reports ended turns its run failed in the view,
 * as `cellscope runs` does.
 */
import { execFile } from 'node:child_process';
import type { RunRecord, TrainerAliveCheck } from '../../shared/runTypes.js';
import { slurmJobName, slurmStateEnded, type SlurmJobState } from '../../shared/slurmTypes.js';
import { parseJobLines } from '../../runs/slurm/slurmCommands.js';

const MIN_INTERVAL_MS = 10_000;

export class SlurmWatch {
  private states = new Map<string, SlurmJobState>();
  private asked = 0;
  private asking = false;

  /** The pid check, then Slurm's word for a run on another node. */
  aliveCheck(own: TrainerAliveCheck): TrainerAliveCheck {
    return (run) => {
      const alive = own(run);
      if (alive !== undefined) return alive;
      // The tracker passes whole records; only the pid fields are in the type.
      const slurm = (run as Partial<RunRecord>).slurm;
      const state = slurm !== undefined ? this.states.get(slurmJobName(slurm)) : undefined;
      return state !== undefined && slurmStateEnded(state.state) ? false : undefined;
    };
  }

  /** Asks squeue about these jobs when the last answer is old enough; `done` when it changed something. */
  update(jobs: readonly string[], done: () => void): void {
    if (jobs.length === 0 || this.asking || Date.now() - this.asked < MIN_INTERVAL_MS) return;
    this.asking = true;
    execFile('squeue', ['-h', '-r', '-t', 'all', '-j', jobs.join(','), '-o', '%i|%T|%r|%N'], { timeout: 10_000 }, (error, stdout) => {
      this.asking = false;
      this.asked = Date.now();
      if (error) return;
      const before = JSON.stringify([...this.states]);
      for (const s of parseJobLines(stdout)) this.states.set(s.job, s);
      if (JSON.stringify([...this.states]) !== before) done();
    });
  }
}
