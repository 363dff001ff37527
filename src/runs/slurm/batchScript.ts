/**
 * The batch scripts `--executor slurm` writes into the runs folder
 * (`<runs>/.slurm/`): `#SBATCH` lines from the options, then the same
 * `cellscope` trainer a local run uses, on the shared runs folder. Pure text.
 *
 * Every task first writes a marker (`.slurm/markers/<job>`) with its node's
 * name: a task that Slurm says has ended but whose marker the submitter
 * cannot see ran on a node that does not share the runs folder.
 *
 * The trainer is exec'd, so it is the batch step itself: scancel's SIGTERM,
 * a time limit's (`--signal=B:TERM@90`, well before SIGKILL) and a
 * preemption's reach it, and it stops with a checkpoint as on Ctrl-C.
 */
import { join } from 'node:path';
import type { SlurmOptions } from '../../shared/slurmTypes.js';

export const SLURM_DIR = '.slurm';
export const MARKERS_DIR = 'markers';
export const LOGS_DIR = 'logs';
/** Seconds before the time limit at which Slurm sends the trainer SIGTERM. */
export const TERM_BEFORE_LIMIT_S = 90;

export function slurmDirOf(runsDir: string): string {
  return join(runsDir, SLURM_DIR);
}

/** The marker a task writes (`<array>_<task>` or `<job>`). */
export function markerPath(runsDir: string, job: string): string {
  return join(runsDir, SLURM_DIR, MARKERS_DIR, job);
}

/** A word for the shell, single-quoted unless it needs nothing. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=,@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The `#SBATCH` lines of the options (not --array or --dependency, which are per submission). */
export function sbatchLines(options: SlurmOptions): string[] {
  const lines: string[] = [];
  if (options.partition !== undefined) lines.push(`--partition=${options.partition}`);
  if (options.account !== undefined) lines.push(`--account=${options.account}`);
  if (options.gres !== undefined) lines.push(`--gres=${options.gres}`);
  if (options.time !== undefined) lines.push(`--time=${options.time}`);
  if (options.mem !== undefined) lines.push(`--mem=${options.mem}`);
  if (options.cpusPerTask !== undefined) lines.push(`--cpus-per-task=${options.cpusPerTask}`);
  lines.push(options.requeue ? '--requeue' : '--no-requeue');
  lines.push(`--signal=B:TERM@${TERM_BEFORE_LIMIT_S}`);
  return lines.map((l) => `#SBATCH ${l}`);
}

/** Reads extra `#SBATCH` lines from a file's text: those lines only; anything else is refused by the caller. */
export function parseSbatchFile(text: string): { lines: string[]; bad: string[] } {
  const lines: string[] = [];
  const bad: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || (line.startsWith('#') && !line.startsWith('#SBATCH'))) continue;
    if (/^#SBATCH\s+--?\S/.test(line)) lines.push(line);
    else bad.push(line);
  }
  return { lines, bad };
}

export interface BatchScript {
  readonly jobName: string;
  readonly runsDir: string;
  readonly options: SlurmOptions;
  /** The path the script is written to (exported as CELLSCOPE_SLURM_SCRIPT, what `resume` resubmits). */
  readonly path: string;
  /** node and its arguments: `[execPath, cli.js, 'experiment', 'task', DIR]`. */
  readonly command: readonly string[];
  /** One task per array index (output file per task), or a single job. */
  readonly array: boolean;
  /** `#SBATCH` lines to use instead of those of `options` (a resubmission keeps the original's). */
  readonly lines?: readonly string[];
}

export function renderBatchScript(s: BatchScript): string {
  const slurm = slurmDirOf(s.runsDir);
  const markers = join(slurm, MARKERS_DIR);
  return [
    '#!/bin/bash',
    `#SBATCH --job-name=${shellQuote(s.jobName)}`,
    `#SBATCH --output=${shellQuote(join(slurm, LOGS_DIR, s.array ? '%x-%A_%a.out' : '%x-%j.out'))}`,
    ...(s.lines ?? [...sbatchLines(s.options), ...(s.options.extraLines ?? [])]),
    '# Written by cellscope (--executor slurm). Slurm runs this once per task; the',
    '# trainer writes the same run files as a local run into the runs folder.',
    `export CELLSCOPE_SLURM_SCRIPT=${shellQuote(s.path)}`,
    'task="${SLURM_ARRAY_JOB_ID:-$SLURM_JOB_ID}${SLURM_ARRAY_TASK_ID:+_$SLURM_ARRAY_TASK_ID}"',
    `mkdir -p ${shellQuote(markers)} && echo "$(hostname) $SLURM_JOB_ID" > ${shellQuote(markers)}/"$task"`,
    `exec ${s.command.map(shellQuote).join(' ')}`,
    '',
  ].join('\n');
}

/** The `#SBATCH` lines of an existing script (to resubmit a run with the options it had). */
export function sbatchLinesOf(scriptText: string): string[] {
  return scriptText.split('\n').filter((l) => l.startsWith('#SBATCH ') && !/^#SBATCH --(job-name|output)=/.test(l));
}
