/**
 * Submitting to Slurm: an experiment as one job array (task k trains entry k
 * and computes its landscape) plus a report job after it
 * (`--dependency=afterany`), a single `train`, and the resubmission `resume`
 * does. What was submitted is recorded where the submitter and the tasks
 * both look: experiment.json (`slurm.submissions`) and
 * `<runs>/.slurm/submitted.jsonl` (one line per task, for `cellscope runs`).
 *
 * Nothing is left half-submitted: when the report job is refused, the array
 * submitted just before it is cancelled again, and Slurm's message is thrown.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ExperimentFile } from '../../shared/experimentTypes.js';
import type { RunRecord } from '../../shared/runTypes.js';
import type { SlurmOptions, SlurmSubmission } from '../../shared/slurmTypes.js';
import { updateExperiment } from '../experimentFile.js';
import { readExperiment, runsDirOfExperiment } from '../reportRuns.js';
import { runIdBase } from '../runStore.js';
import { LOGS_DIR, MARKERS_DIR, renderBatchScript, sbatchLinesOf, slurmDirOf } from './batchScript.js';
import { sbatch, scancel, SlurmError } from './slurmCommands.js';

export const SUBMITTED_FILE = 'submitted.jsonl';

/** How a compute task starts the trainer: this Node and this CLI bundle (dist/cli.js). */
export interface Invocation {
  readonly node: string;
  readonly cli: string;
}

/**
 * CELLSCOPE_CLI, else the script this process runs (`node dist/cli.js …`);
 * CELLSCOPE_NODE, else this Node (the editor sets it: its own executable is
 * Electron, which a compute node should not be asked to run).
 */
export function currentInvocation(env: NodeJS.ProcessEnv = process.env): Invocation {
  // argv[1] resolved: `cellscope` linked onto the PATH (npm link) is a symlink to dist/cli.js.
  let cli = env['CELLSCOPE_CLI'] ?? process.argv[1];
  if (cli !== undefined && env['CELLSCOPE_CLI'] === undefined) {
    try {
      cli = realpathSync(cli);
    } catch {
      // left as given; the check below names it
    }
  }
  if (cli === undefined || !/\.c?js$/.test(cli)) {
    throw new SlurmError('cannot tell which cellscope CLI the compute tasks should run; set CELLSCOPE_CLI to dist/cli.js');
  }
  return { node: env['CELLSCOPE_NODE'] || process.execPath, cli };
}

/** One line of `.slurm/submitted.jsonl`. */
export interface SubmittedTask {
  readonly job: string;
  readonly name: string;
  readonly at: string;
  readonly experiment?: string;
}

function recordSubmitted(runsDir: string, tasks: readonly SubmittedTask[]): void {
  mkdirSync(slurmDirOf(runsDir), { recursive: true });
  appendFileSync(join(slurmDirOf(runsDir), SUBMITTED_FILE), tasks.map((t) => `${JSON.stringify(t)}\n`).join(''));
}

export function readSubmitted(runsDir: string): SubmittedTask[] {
  const path = join(slurmDirOf(runsDir), SUBMITTED_FILE);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .flatMap((line) => {
      try {
        const v = JSON.parse(line) as SubmittedTask;
        return typeof v.job === 'string' && typeof v.name === 'string' ? [v] : [];
      } catch {
        return [];
      }
    });
}

/**
 * `.slurm/` with its logs and markers folders: Slurm opens a task's output
 * file before the task runs, so the folder must exist (where the node looks:
 * when the runs folder is not shared, the task fails to launch and leaves no
 * marker, which status then names).
 */
function prepareSlurmDir(runsDir: string): string {
  const slurm = slurmDirOf(runsDir);
  mkdirSync(join(slurm, LOGS_DIR), { recursive: true });
  mkdirSync(join(slurm, MARKERS_DIR), { recursive: true });
  return slurm;
}

function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 60) || 'run';
}

/** The `--array` value: the entry indices, capped to K running at once. */
export function arraySpec(tasks: readonly number[], maxRunning: number | undefined): string {
  return `${tasks.join(',')}${maxRunning !== undefined ? `%${maxRunning}` : ''}`;
}

/** Writes the experiment's task and report scripts (again: the options may have changed); returns their paths. */
function writeExperimentScripts(dir: string, file: ExperimentFile, options: SlurmOptions, how: Invocation): { script: string; reportScript: string } {
  const runsDir = runsDirOfExperiment(dir);
  const slurm = prepareSlurmDir(runsDir);
  const name = safeName(file.architecture);
  const script = join(slurm, `experiment-${name}.sh`);
  const reportScript = join(slurm, `experiment-${name}-report.sh`);
  writeFileSync(
    script,
    renderBatchScript({ jobName: `cellscope-${name}`, runsDir, options, path: script, array: true, command: [how.node, how.cli, 'experiment', 'task', dir] }),
    { mode: 0o755 },
  );
  // The report needs no GPU and little time: only the account and partition are kept.
  const reportOptions: SlurmOptions = {
    ...(options.partition !== undefined ? { partition: options.partition } : {}),
    ...(options.account !== undefined ? { account: options.account } : {}),
    ...(options.extraLines !== undefined ? { extraLines: options.extraLines } : {}),
  };
  writeFileSync(
    reportScript,
    renderBatchScript({ jobName: `cellscope-${name}-report`, runsDir, options: reportOptions, path: reportScript, array: false, command: [how.node, how.cli, 'experiment', 'report', dir] }),
    { mode: 0o755 },
  );
  return { script, reportScript };
}

/**
 * Submits entries `tasks` of the experiment in `dir` as one array, then its
 * report job; records both in experiment.json. Throws SlurmError with
 * Slurm's message when sbatch refuses, having cancelled what it submitted.
 */
export function submitExperiment(dir: string, options: SlurmOptions, how: Invocation, tasks: readonly number[], why: string): SlurmSubmission {
  const file = readExperiment(dir);
  if (file === undefined) throw new SlurmError(`${dir}: no experiment.json`);
  const { script, reportScript } = writeExperimentScripts(dir, file, options, how);
  const arrayJobId = sbatch([`--array=${arraySpec(tasks, options.maxRunning)}`], script);
  let reportJobId: string;
  try {
    reportJobId = sbatch([`--dependency=afterany:${arrayJobId}`], reportScript);
  } catch (error) {
    try {
      scancel([arrayJobId]);
    } catch (cancelError) {
      throw new SlurmError(`${(error as Error).message}; and the array job ${arrayJobId} could not be cancelled (${(cancelError as Error).message}): scancel ${arrayJobId}`);
    }
    throw error;
  }
  const submission: SlurmSubmission = { at: new Date().toISOString(), arrayJobId, tasks: [...tasks], reportJobId, why };
  updateExperiment(dir, (f) => ({
    ...f,
    slurm: { script, reportScript, options, submissions: [...(f.slurm?.submissions ?? []), submission] },
  }));
  recordSubmitted(
    runsDirOfExperiment(dir),
    tasks.map((k) => ({ job: `${arrayJobId}_${k}`, name: file.entries[k]!.name, at: submission.at, experiment: dir })),
  );
  return submission;
}

/** sbatch of a script written for this one submission: refused, the script goes again. */
function sbatchOrRemove(script: string): string {
  try {
    return sbatch([], script);
  } catch (error) {
    rmSync(script, { force: true });
    throw error;
  }
}

/** Submits `cellscope train REF ARGS` as one job; returns its id. */
export function submitTrain(runsDir: string, name: string, trainArgs: readonly string[], options: SlurmOptions, how: Invocation): { jobId: string; script: string } {
  const slurm = prepareSlurmDir(runsDir);
  const script = join(slurm, `train-${runIdBase(name, new Date())}-${process.pid}.sh`);
  writeFileSync(
    script,
    renderBatchScript({ jobName: `cellscope-${safeName(name)}`, runsDir, options, path: script, array: false, command: [how.node, how.cli, 'train', ...trainArgs, '--runs', runsDir] }),
    { mode: 0o755 },
  );
  const jobId = sbatchOrRemove(script);
  recordSubmitted(runsDir, [{ job: jobId, name, at: new Date().toISOString() }]);
  return { jobId, script };
}

/** The experiment a run folder belongs to (`<dir>/runs/<id>`), and its entry index. */
export function experimentOfRun(runDir: string, runId: string): { dir: string; file: ExperimentFile; index: number } | undefined {
  const dir = dirname(dirname(runDir));
  if (basename(dirname(runDir)) !== 'runs') return undefined;
  let file: ExperimentFile | undefined;
  try {
    file = readExperiment(dir);
  } catch {
    return undefined;
  }
  const index = file?.entries.findIndex((e) => e.runId === runId) ?? -1;
  return file !== undefined && index >= 0 ? { dir, file, index } : undefined;
}

/**
 * `resume` of a run Slurm trained: its experiment's task again (training from
 * the checkpoint, then the landscape, then a new report job), or for a lone
 * `train` run a job that runs `cellscope resume` with the original's options.
 */
export function resubmitRun(runDir: string, record: RunRecord, how: Invocation): string {
  const exp = experimentOfRun(runDir, record.id);
  if (exp !== undefined) {
    const sub = submitExperiment(exp.dir, exp.file.slurm?.options ?? {}, how, [exp.index], `resume ${record.id}`);
    return `array job ${sub.arrayJobId} (task ${sub.arrayJobId}_${exp.index}) and report job ${sub.reportJobId}`;
  }
  const runsDir = dirname(runDir);
  const old = record.slurm?.script;
  const lines = old !== undefined && existsSync(old) ? sbatchLinesOf(readFileSync(old, 'utf8')) : undefined;
  const slurm = prepareSlurmDir(runsDir);
  const script = join(slurm, `resume-${record.id}-${record.resumes.length + 1}.sh`);
  writeFileSync(
    script,
    renderBatchScript({
      jobName: `cellscope-${safeName(record.genotype.name)}`,
      runsDir,
      options: {},
      ...(lines !== undefined ? { lines } : {}),
      path: script,
      array: false,
      command: [how.node, how.cli, 'resume', runDir, '--executor', 'local'],
    }),
    { mode: 0o755 },
  );
  const jobId = sbatchOrRemove(script);
  recordSubmitted(runsDir, [{ job: jobId, name: record.genotype.name, at: new Date().toISOString() }]);
  return `job ${jobId}`;
}
