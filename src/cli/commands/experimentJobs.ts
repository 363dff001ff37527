/**
 * The parts of `cellscope experiment` that run apart from the submitter:
 * `experiment task DIR` (one entry: training and landscape, what a Slurm array
 * task or a device worker runs), `experiment report DIR` (the report job) and
 * `experiment status DIR` (the experiment's entries and jobs).
 */
import { resolve } from 'node:path';
import { formatWidth } from '../../genotype/metrics.js';
import { ExperimentError, readExperiment } from '../../runs/reportRuns.js';
import { writeExperimentReport } from '../../runs/experimentFile.js';
import { experimentStatus } from '../../runs/slurm/slurmStatus.js';
import { flagBoolean, flagNumber, parseArgs, UsageError } from '../args.js';
import type { CliIO } from '../command.js';
import { printTable } from './metrics.js';
import { withStopSignals } from './landscape.js';

function experimentDir(argv: readonly string[], what: string, io: CliIO, specs: Parameters<typeof parseArgs>[1]) {
  const args = parseArgs(argv, specs);
  if (args.positional.length !== 1) throw new UsageError(`experiment ${what} needs exactly one DIR (an experiment folder)`);
  const dir = resolve(io.cwd, args.positional[0]!);
  const file = readExperiment(dir);
  if (file === undefined) throw new ExperimentError(`${dir} holds no experiment (no experiment.json)`);
  return { args, dir, file };
}

/** `experiment task DIR [--entry K]`: K defaults to SLURM_ARRAY_TASK_ID. Exit 0 completed, 1 failed, 143 stopped. */
export async function experimentTask(argv: readonly string[], io: CliIO): Promise<number> {
  const { args, dir, file } = experimentDir(argv, 'task', io, { entry: { type: 'int', min: 0 } });
  const fromEnv = process.env['SLURM_ARRAY_TASK_ID'];
  const k = flagNumber(args, 'entry') ?? (fromEnv !== undefined && /^\d+$/.test(fromEnv) ? Number(fromEnv) : undefined);
  if (k === undefined) throw new UsageError('experiment task needs --entry K (or SLURM_ARRAY_TASK_ID)');
  if (k >= file.entries.length) throw new ExperimentError(`${dir}: the experiment has no entry ${k} (it has ${file.entries.length})`);
  const { runExperimentEntry } = await import('../../train/experiment.js');
  const cancel = { requested: false };
  const entry = file.entries[k]!;
  io.stderr(`entry ${k} of ${dir}: ${entry.name}${entry.trainSeed !== undefined ? ` (training seed ${entry.trainSeed})` : ''}\n`);
  const status = await withStopSignals(io, cancel, () => runExperimentEntry(dir, k, { stdout: io.stdout, stderr: io.stderr, cancel }));
  return status === 'completed' ? 0 : status === 'cancelled' ? 143 : 1;
}

/** `experiment report DIR`: report.html from what the runs hold now. */
export async function experimentReport(argv: readonly string[], io: CliIO): Promise<number> {
  const { dir, file } = experimentDir(argv, 'report', io, {});
  const report = writeExperimentReport(dir, file);
  io.stderr(`report: ${report}\n`);
  io.stdout(`${report}\n`);
  return 0;
}

/** `experiment status DIR [--json]`: every entry's run and Slurm task, the report job, problems. */
export async function experimentStatusCommand(argv: readonly string[], io: CliIO): Promise<number> {
  const { args, dir, file } = experimentDir(argv, 'status', io, { json: { type: 'boolean' } });
  const status = experimentStatus(dir, file);
  if (flagBoolean(args, 'json')) {
    io.stdout(`${JSON.stringify(status, null, 2)}\n`);
    return 0;
  }
  printTable(
    io.stdout,
    ['#', 'entry', 'width', 'status', 'epochs', 'run', 'slurm task', 'slurm state'],
    // One cell trained with several seeds is several entries: the seed tells them apart.
    status.entries.map((e) => [String(e.index), e.trainSeed !== undefined ? `${e.name} (seed ${e.trainSeed})` : e.name, formatWidth(e.width), e.status, e.epochs ?? '-', e.runId ?? '-', e.job ?? '-', e.jobState ?? '-']),
  );
  for (const e of status.entries) if (e.reason !== undefined && e.status !== 'completed') io.stdout(`  ${e.name}: ${e.reason}\n`);
  const c = status.counts;
  io.stdout(`${status.architecture}: ${c.completed} completed, ${c.running} running, ${c.queued} queued, ${c.failed} failed, ${c.cancelled} cancelled${c['not started'] > 0 ? `, ${c['not started']} not started` : ''}\n`);
  if (status.report !== undefined) io.stdout(`report job ${status.report.job}: ${status.report.state ?? 'unknown to Slurm'}${status.report.reason && status.report.reason !== 'None' ? ` (${status.report.reason})` : ''}\n`);
  if (status.jobs.length > 0) io.stdout(`jobs: ${status.jobs.join(' ')}\n`);
  for (const p of status.problems) io.stdout(`problem: ${p}\n`);
  return 0;
}
