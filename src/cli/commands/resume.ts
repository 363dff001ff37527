/** `cellscope resume RUN`: continues a cancelled or failed run from its last checkpoint. */
import { analyze, findGenotype } from '../../genotype/document.js';
import { effectiveStatus, type RunRecord } from '../../shared/runTypes.js';
import { findRunDir, readRunRecord, RunStoreError, trainerAlive } from '../../runs/runStore.js';
import { flagBoolean, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { exitCodeOf, RUNS_FLAG, runsDirOf } from './train.js';

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'continue a cancelled or failed run from its last checkpoint',
  usage: [
    'cellscope resume RUN [--runs DIR] [--from-scratch]',
    'RUN: a run id (or unique prefix) under --runs (default ./runs), or a run directory.',
    'A run whose checkpoint is missing or unreadable is refused; --from-scratch restarts it from epoch 0, its',
    'metrics, checkpoint and landscape moved into RUN/set-aside-<time>/ first (nothing is deleted).',
  ].join('\n'),
  async run(argv, io) {
    const args = parseArgs(argv, { runs: RUNS_FLAG, 'from-scratch': { type: 'boolean' } });
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
    const status = effectiveStatus(record, trainerAlive);
    if (status.status === 'running') {
      io.stderr(`cellscope resume: run ${record.id} is still running (process ${record.pid} on ${record.host}); stop it first with 'cellscope cancel ${record.id}'\n`);
      return 1;
    }
    if (status.status === 'completed') {
      io.stderr(`cellscope resume: run ${record.id} has already completed\n`);
      return 1;
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
      const outcome = await resumeTraining(dir, genotype, { stdout: io.stdout, stderr: io.stderr }, { fromScratch: flagBoolean(args, 'from-scratch') });
      return exitCodeOf(outcome.status);
    } catch (error) {
      // Refused before anything was written: another writer has the run, or its checkpoint is unusable.
      if (!(error instanceof RunStoreError || error instanceof ResumeError)) throw error;
      io.stderr(`cellscope resume: ${error.message}\n`);
      return 1;
    }
  },
};
