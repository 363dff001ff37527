/**
 * The flags of `--executor slurm` (experiment and train): the sbatch options
 * passed through to the batch script, and extra `#SBATCH` lines from a file.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { SlurmOptions } from '../shared/slurmTypes.js';
import { parseSbatchFile } from '../runs/slurm/batchScript.js';
import { flagBoolean, flagNumber, flagString, UsageError, type FlagSpec, type ParsedArgs } from './args.js';

export const EXECUTORS = ['local', 'slurm'] as const;
export type Executor = (typeof EXECUTORS)[number];

export const SLURM_FLAGS: Record<string, FlagSpec> = {
  executor: { type: 'string', choices: EXECUTORS },
  partition: { type: 'string' },
  gres: { type: 'string' },
  time: { type: 'string' },
  mem: { type: 'string' },
  'cpus-per-task': { type: 'int', min: 1, max: 100000 },
  account: { type: 'string' },
  'sbatch-file': { type: 'string' },
  'max-running': { type: 'int', min: 1, max: 100000 },
  requeue: { type: 'boolean' },
};

export const SLURM_USAGE = [
  '  [--executor local|slurm] [--partition P] [--gres gpu:N] [--time T] [--mem M] [--cpus-per-task N] [--account A]',
  '  [--sbatch-file FILE (extra #SBATCH lines)] [--max-running K (--array=…%K)] [--requeue]',
].join('\n');

export function executorOf(args: ParsedArgs): Executor {
  return (flagString(args, 'executor') ?? 'local') as Executor;
}

/** The sbatch options of the flags; a Slurm flag without `--executor slurm` is refused rather than ignored. */
export function slurmOptionsFromArgs(args: ParsedArgs, cwd: string): SlurmOptions {
  const given = Object.keys(SLURM_FLAGS).filter((f) => f !== 'executor' && args.flags.has(f));
  if (executorOf(args) !== 'slurm') {
    if (given.length > 0) throw new UsageError(`--${given[0]} needs --executor slurm`);
    return {};
  }
  const gres = flagString(args, 'gres');
  if (gres !== undefined && !/^[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)*(,[A-Za-z0-9_]+(:[A-Za-z0-9_.-]+)*)*$/.test(gres)) {
    throw new UsageError(`--gres takes a Slurm gres such as gpu:1, not '${gres}'`);
  }
  let extraLines: string[] | undefined;
  const file = flagString(args, 'sbatch-file');
  if (file !== undefined) {
    const path = resolve(cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new UsageError(`--sbatch-file ${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message}`);
    }
    const parsed = parseSbatchFile(text);
    if (parsed.bad.length > 0) throw new UsageError(`--sbatch-file ${path}: only #SBATCH lines (and comments) are allowed, not '${parsed.bad[0]}'`);
    extraLines = parsed.lines;
  }
  const str = (f: string) => flagString(args, f);
  const opts: Record<string, unknown> = {
    partition: str('partition'),
    gres,
    time: str('time'),
    mem: str('mem'),
    cpusPerTask: flagNumber(args, 'cpus-per-task'),
    account: str('account'),
    maxRunning: flagNumber(args, 'max-running'),
    extraLines,
    requeue: flagBoolean(args, 'requeue') || undefined,
  };
  for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k];
  for (const [k, v] of Object.entries(opts)) {
    if (typeof v === 'string' && /[\s'"\\$`]/.test(v)) throw new UsageError(`--${k} must not contain spaces or quotes ('${v}')`);
  }
  return opts as SlurmOptions;
}

/** argv without the flags named (and their values): what a Slurm task runs again. */
export function withoutFlags(argv: readonly string[], names: readonly string[], specs: Readonly<Record<string, FlagSpec>>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const m = /^--([^=]+)(=.*)?$/.exec(arg);
    if (m && names.includes(m[1]!)) {
      if (m[2] === undefined && specs[m[1]!]?.type !== 'boolean') i++;
      continue;
    }
    out.push(arg);
  }
  return out;
}
