/** `cellscope resume RUN`: continues a cancelled or failed run from its last checkpoint. */
import { analyze, findGenotype } from '../../genotype/document.js';
import { effectiveStatus, type RunRecord } from '../../shared/runTypes.js';
import { findRunDir, readRunRecord, RunStoreError, trainerAlive } from '../../runs/runStore.js';
import { flagBoolean, flagNumber, flagString, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { exitCodeOf, RUNS_FLAG, runsDirOf, THREADS_FLAG, THREADS_HELP } from './train.js';

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'continue a cancelled or failed run from its last checkpoint',
  usage: [
    'cellscope resume RUN [--runs DIR] [--from-scratch] [--threads N] [--executor local|slurm]',
    'RUN: a run id (or unique prefix) under --runs (default ./runs), or a run directory.',
    'A run whose checkpoint is missing or unreadable is refused; --from-scratch restarts it from epoch 0, its',
    'metrics, checkpoint and landscape moved into RUN/set-aside-<time>/ first (nothing is deleted).',
    'A run Slurm trained is submitted again (its experiment task, or a job with its options); --executor local resumes it here.',
    THREADS_HELP,
  ].join('\n'),
  async run(argv, io) {
    const args = parseArgs(argv, {
      runs: RUNS_FLAG,
      'from-scratch': { type: 'boolean' },
      threads: THREADS_FLAG,
      executor: { type: 'string', choices: ['local', 'slurm'] },
    });
    if (args.positional.length !== 1) throw new UsageError('resume needs exactly one RUN');
    let dir: string;
    let record: RunRecord;
    try {
      dir = findRunDir(args.positional[0]!, runsDirOf(args, io.cwd), io.cwd);
      record = readRunRecord(dir);
    } catch (error) {
      if (!(error instanceof RunStoreError)) throw error;
      io.stderr(`cellscope resume: ${error.message}\n`);
      return 1;
    }
    // A run Slurm trains elsewhere: its job says whether it still runs.
    const status = record.slurm !== undefined ? (await import('../../runs/slurm/slurmStatus.js')).runStatusWithSlurm(record) : effectiveStatus(record, trainerAlive);
    if (status.status === 'running') {
      io.stderr(`cellscope resume: run ${record.id} is still running (process ${record.pid} on ${record.host}); stop it first with 'cellscope cancel ${record.id}'\n`);
      return 1;
    }
    if (status.status === 'completed') {
      io.stderr(`cellscope resume: run ${record.id} has already completed\n`);
      return 1;
    }
    // A run Slurm trained is resubmitted to Slurm (unless this is that job, or --executor local says otherwise).
    const executor = flagString(args, 'executor') ?? (record.slurm !== undefined && process.env['SLURM_JOB_ID'] === undefined ? 'slurm' : 'local');
    if (executor === 'slurm') {
      if (flagBoolean(args, 'from-scratch')) {
        // The resubmitted job resumes from the checkpoint; setting a run aside is done where it is read.
        io.stderr(`cellscope resume: --from-scratch restarts the run in this process: add --executor local\n`);
        return 1;
      }
      const { resubmitSlurmRun } = await import('../../runs/slurm/slurmResume.js');
      const result = resubmitSlurmRun(dir, record);
      if ('error' in result) {
        io.stderr(`cellscope resume: ${result.error}\n`);
        return 1;
      }
      io.stderr(`run ${record.id}: submitted ${result.submitted}\n`);
      return 0;
    }
    // Rebuilt from the text the run recorded, not from the reference: the file may have changed since.
    const doc = analyze(record.genotype.text);
    const genotype = findGenotype(doc, record.genotype.name)?.genotype;
    if (genotype === undefined) {
      io.stderr(`cellscope resume: ${dir}/run.json: the recorded genotype text does not define a valid genotype '${record.genotype.name}'\n`);
      return 1;
    }
    const { resumeTraining, ResumeError } = await import('../../train/loop.js');
    try {
      const threads = flagNumber(args, 'threads');
      const env = { stdout: io.stdout, stderr: io.stderr, ...(threads !== undefined ? { threads } : {}) };
      const outcome = await resumeTraining(dir, genotype, env, { fromScratch: flagBoolean(args, 'from-scratch') });
      return exitCodeOf(outcome.status);
    } catch (error) {
      // Refused before anything was written: another writer has the run, or its checkpoint is unusable.
      if (!(error instanceof RunStoreError || error instanceof ResumeError)) throw error;
      io.stderr(`cellscope resume: ${error.message}\n`);
      return 1;
    }
  },
};
