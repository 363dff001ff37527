/**
 * Runs on disk: `runs/<id>/` holds `run.json` (what the run is and its
 * status), `metrics.jsonl` (one line per epoch), `checkpoint.bin` (replaced
 * atomically after each epoch) and `log.txt` (a human-readable log).
 *
 * run.json is only ever replaced whole (temp file + rename), so a reader —
 * `cellscope runs`, the editor — never sees a half-written record.
 */
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, join, resolve } from 'node:path';
import {
  effectiveStatus,
  parseMetricsText,
  runIdProblem,
  runRecordProblem,
  type EffectiveStatus,
  type MetricsLine,
  type RunRecord,
  type TrainerAliveCheck,
} from '../shared/runTypes.js';
import {
  HESSIAN_EPOCHS_FILE,
  HESSIAN_FILE,
  hessianFileProblem,
  parseHessianEpochsText,
  type HessianEpochLine,
  type HessianFile,
} from '../shared/landscapeTypes.js';
import type { JsonLines } from '../shared/shape.js';
import { appendFileNoFollow, writeFileAtomic } from './atomicFile.js';
import { acquireOwnerLock, describeHolder, LockHeldError, type HeldLock, type LockHolder } from './fileLock.js';
import { processStartOf } from './processes.js';
import { runDirOf, RunStoreError } from './runPaths.js';

export { processStartOf, RunStoreError };

export const RUN_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';
export const CHECKPOINT_FILE = 'checkpoint.bin';
export const LOG_FILE = 'log.txt';
/** Held by the one process training the run (see takeRunWriter). */
export const WRITER_LOCK_FILE = 'trainer.lock';

/** The run is being trained by another process; nothing was changed. */
export class RunBusyError extends RunStoreError {
  constructor(
    readonly runId: string,
    readonly holder: LockHolder | undefined,
  ) {
    // The purpose is the holder's own word, shown quoted when it is not a known one.
    const doing = holder?.purpose === undefined || holder.purpose === 'trained' ? 'trained' : holder.purpose === 'probed' ? 'probed for its landscape' : JSON.stringify(holder.purpose);
    super(`run ${runId} is already being ${doing} by ${describeHolder(holder)}`);
  }
}

/** What a run's writer does: trains it, computes its landscape, or records its dead trainer's failure. */
export type RunWriterPurpose = 'trained' | 'probed' | 'marked failed';

/**
 * Makes this process the one writer of the run in `dir` (train, resume,
 * landscape, marking it failed): takes `dir/trainer.lock` for as long as it works on
 * the run, and keeps it open, which is also how `cancel` proves which
 * process is the run's trainer (trainerProcess.ts). A lock left by a trainer
 * that died is taken over. Throws RunBusyError when a live process has it.
 */
export function takeRunWriter(dir: string, purpose: RunWriterPurpose = 'trained'): HeldLock {
  try {
    return acquireOwnerLock(join(dir, WRITER_LOCK_FILE), { purpose });
  } catch (error) {
    if (error instanceof LockHeldError) throw new RunBusyError(basename(dir), error.holder);
    throw error;
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
export type RunPatch = Partial<Mutable<Omit<RunRecord, 'format' | 'id'>>>;

/** A run directory opened for writing by its trainer. */
export class RunHandle {
  private current: RunRecord;

  constructor(
    readonly dir: string,
    record: RunRecord,
  ) {
    this.current = record;
  }

  get record(): RunRecord {
    return this.current;
  }

  get id(): string {
    return this.current.id;
  }

  get checkpointPath(): string {
    return join(this.dir, CHECKPOINT_FILE);
  }

  /** Applies `patch`, stamps updatedAt and replaces run.json atomically. */
  update(patch: RunPatch): RunRecord {
    const next = { ...this.current, ...patch, updatedAt: new Date().toISOString() } as RunRecord;
    writeFileAtomic(join(this.dir, RUN_FILE), `${JSON.stringify(next, null, 2)}\n`);
    this.current = next;
    return next;
  }

  appendMetrics(line: MetricsLine): void {
    appendFileNoFollow(join(this.dir, METRICS_FILE), `${JSON.stringify(line)}\n`);
  }

  readMetrics(): MetricsLine[] {
    return readMetricsFile(this.dir);
  }

  /**
   * Keeps the metrics of epochs 1..epochs only, rewriting the file
   * atomically: after a crash between a metrics line and its checkpoint, the
   * epoch is trained again from the previous checkpoint and written again.
   */
  truncateMetrics(epochs: number): MetricsLine[] {
    const kept = this.readMetrics().filter((m) => m.epoch <= epochs);
    writeFileAtomic(join(this.dir, METRICS_FILE), kept.map((m) => `${JSON.stringify(m)}\n`).join(''));
    return kept;
  }

  /** One line of the per-epoch smoothness probe, appended before its epoch's metrics line (so a crash cannot orphan it). */
  appendHessianEpoch(line: HessianEpochLine): void {
    appendFileNoFollow(join(this.dir, HESSIAN_EPOCHS_FILE), `${JSON.stringify(line)}\n`);
  }

  /**
   * Keeps the per-epoch probe lines of epochs 1..epochs only (as
   * truncateMetrics): a probe whose epoch's checkpoint was never written is
   * computed again by the resumed trainer, never listed twice.
   */
  truncateHessianEpochs(epochs: number): void {
    const path = join(this.dir, HESSIAN_EPOCHS_FILE);
    if (!existsSync(path)) return;
    const kept = readHessianEpochs(this.dir).lines.filter((l) => l.epoch <= epochs);
    writeFileAtomic(path, kept.map((l) => `${JSON.stringify(l)}\n`).join(''));
  }

  log(message: string): void {
    const stamp = new Date().toISOString();
    const lines = message.split('\n').map((l) => `${stamp} ${l}\n`);
    appendFileNoFollow(join(this.dir, LOG_FILE), lines.join(''));
  }
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** `20250131-142501-DARTS_V2`: sortable by start time, readable in a listing. */
export function runIdBase(name: string, at: Date): string {
  const stamp = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}-${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
  const safe = name.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^[.]+/, '').slice(0, 80) || 'run';
  return `${stamp}-${safe}`;
}

/**
 * Creates `runsDir/<id>/` with its run.json. The id is `runIdBase`, with
 * `-2`, `-3`… appended when that directory exists (mkdir without `recursive`
 * fails on an existing directory, so two trainers never share one).
 */
export function createRun(runsDir: string, genotypeName: string, build: (id: string) => RunRecord, at = new Date()): RunHandle {
  mkdirSync(runsDir, { recursive: true });
  const base = runIdBase(genotypeName, at);
  for (let n = 1; n < 10000; n++) {
    const id = n === 1 ? base : `${base}-${n}`;
    const dir = join(runsDir, id);
    try {
      mkdirSync(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw error;
    }
    const record = build(id);
    writeFileAtomic(join(dir, RUN_FILE), `${JSON.stringify(record, null, 2)}\n`);
    return new RunHandle(dir, record);
  }
  throw new RunStoreError(`${runsDir}: cannot find a free run directory for ${base}`);
}

export function readRunRecord(dir: string): RunRecord {
  const path = join(dir, RUN_FILE);
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new RunStoreError(`${path}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `unreadable (${(error as Error).message})`}`);
  }
  const problem = runRecordProblem(value);
  if (problem !== undefined) throw new RunStoreError(`${path}: not a Cellscope run record: ${problem}`);
  return value as RunRecord;
}

/** A run's JSON Lines file through `parse`: nothing when absent, the problems named as `PATH line N: …`. */
function readJsonLinesFile<T>(path: string, parse: (text: string) => JsonLines<T>): JsonLines<T> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { lines: [], problems: [] };
    return { lines: [], problems: [`${path}: unreadable (${(error as Error).message})`] };
  }
  const { lines, problems } = parse(text);
  return { lines, problems: problems.map((p) => `${path} ${p}`) };
}

/** metrics.jsonl of a run: the lines that fit, and the others named as `PATH line N: what is wrong`. */
export function readMetricsReport(dir: string): JsonLines<MetricsLine> {
  return readJsonLinesFile(join(dir, METRICS_FILE), parseMetricsText);
}

/** A run file read as untrusted input: its content when it fits, or what is wrong with it, named by path and field. */
export interface ProbeFileRead<T> {
  readonly file?: T;
  readonly problem?: string;
}

/** hessian.json of a run: absent ({}), its content, or the problem (`PATH: field topEigenvalue: expected a number, found null`). */
export function readHessianReport(runDir: string): ProbeFileRead<HessianFile> {
  const path = join(runDir, HESSIAN_FILE);
  if (!existsSync(path)) return {};
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    return { problem: `${path}: unreadable (${(error as Error).message})` };
  }
  const problem = hessianFileProblem(value);
  return problem === undefined ? { file: value as HessianFile } : { problem: `${path}: ${problem}` };
}

/** hessian-epochs.jsonl of a run (the probe during training): the lines that fit, the others named as `PATH line N: …`. */
export function readHessianEpochs(runDir: string): JsonLines<HessianEpochLine> {
  return readJsonLinesFile(join(runDir, HESSIAN_EPOCHS_FILE), parseHessianEpochsText);
}

/** The metrics lines of a run that fit (see readMetricsReport for what was left out). */
export function readMetricsFile(dir: string): MetricsLine[] {
  return readMetricsReport(dir).lines;
}

/** Opens an existing run for writing (resume). */
export function openRun(dir: string): RunHandle {
  return new RunHandle(dir, readRunRecord(dir));
}

/**
 * The run directory `ref` names: a path to a run directory, or a run id (or
 * unique id prefix) under `runsDir`.
 */
export function findRunDir(ref: string, runsDir: string, cwd: string): string {
  const asPath = resolve(cwd, ref);
  if (existsSync(join(asPath, RUN_FILE))) return asPath;
  if (runIdProblem(ref) === undefined) {
    const direct = runDirOf(runsDir, ref);
    if (existsSync(join(direct, RUN_FILE))) return direct;
  }
  if (!existsSync(runsDir)) throw new RunStoreError(`no run '${ref}': ${runsDir} does not exist`);
  const matches = readdirSync(runsDir).filter((name) => name.startsWith(ref) && existsSync(join(runsDir, name, RUN_FILE)));
  if (matches.length === 1) return join(runsDir, matches[0]!);
  if (matches.length > 1) throw new RunStoreError(`'${ref}' matches ${matches.length} runs (${matches.slice(0, 5).join(', ')}${matches.length > 5 ? ', …' : ''})`);
  throw new RunStoreError(`no run '${ref}' in ${runsDir}`);
}

export interface RunListing {
  readonly dir: string;
  readonly id: string;
  /** Undefined when run.json is missing or unreadable (then `error` says why). */
  readonly record?: RunRecord;
  readonly error?: string;
  readonly effective?: EffectiveStatus;
  readonly lastMetrics?: MetricsLine;
  /** metrics.jsonl and hessian-epochs.jsonl lines left out, or a hessian.json that does not fit, each with the file, line or field and reason. */
  readonly problems?: readonly string[];
}

/**
 * What a name in a runs folder is: a run folder, something that is not a run
 * (the queue, `.launch/`), or a link whose target is gone (a run folder on an
 * unmounted disk), which is listed as a broken run.
 */
function runFolderKind(dir: string): 'run' | 'other' | string {
  try {
    return statSync(dir).isDirectory() && existsSync(join(dir, RUN_FILE)) ? 'run' : 'other';
  } catch (error) {
    try {
      if (lstatSync(dir).isSymbolicLink()) return `${dir}: a symbolic link to a missing target`;
    } catch {
      // removed since readdir: nothing to list
    }
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'other' : `${dir}: unreadable (${(error as Error).message})`;
  }
}

/** Every run under `runsDir`, oldest first (ids sort by start time). */
export function listRuns(runsDir: string, alive: TrainerAliveCheck = trainerAlive): RunListing[] {
  if (!existsSync(runsDir)) return [];
  const out: RunListing[] = [];
  for (const name of readdirSync(runsDir).sort()) {
    const dir = join(runsDir, name);
    const kind = runFolderKind(dir);
    if (kind === 'other') continue;
    if (kind !== 'run') {
      out.push({ dir, id: name, error: kind });
      continue;
    }
    try {
      const record = readRunRecord(dir);
      const { lines: metrics, problems: metricsProblems } = readMetricsReport(dir);
      // The probes' files are run files too: a broken one is named here, and the run is still listed.
      const hessianProblem = readHessianReport(dir).problem;
      const problems = [...metricsProblems, ...(hessianProblem !== undefined ? [hessianProblem] : []), ...readHessianEpochs(dir).problems];
      const last = metrics[metrics.length - 1];
      out.push({
        dir,
        id: record.id,
        record,
        effective: effectiveStatus(record, alive),
        ...(last ? { lastMetrics: last } : {}),
        ...(problems.length > 0 ? { problems } : {}),
      });
    } catch (error) {
      out.push({ dir, id: basename(dir), error: (error as Error).message });
    }
  }
  return out;
}

/**
 * The real liveness check: the pid exists on this host and, where the OS
 * tells process start times, it is the same process that wrote the record
 * (not a later one given the recycled pid).
 */
export const trainerAlive: TrainerAliveCheck = (run) => {
  if (run.host !== hostname()) return undefined;
  try {
    process.kill(run.pid, 0);
  } catch (error) {
    // ESRCH: no such process. EPERM: it exists but belongs to another user,
    // which only the start time can settle.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const now = processStartOf(run.pid);
  if (run.processStart !== undefined && now !== undefined) return now === run.processStart;
  return true;
};
