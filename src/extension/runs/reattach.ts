/**
 * Finding runs again from disk. The extension never holds a trainer process:
 * it reads the run folders (run.json, metrics.jsonl) the trainers write, so a
 * window reload or a restarted editor simply scans again. A run whose
 * run.json says running is running while its process is alive (the pid, and
 * on Linux its start time, still match) and its metrics grow as epochs end;
 * one whose process is gone is shown as failed with the reason
 * (`effectiveStatus` of src/shared/runTypes.ts, the rule the CLI applies).
 *
 * `RunTracker` keeps, per run, what was read so far and reads only what was
 * appended to metrics.jsonl since (a trainer writes a line per epoch; a resume
 * may rewrite the file, which is noticed by its inode or size). Each `scan`
 * reports what changed, so panels append points instead of redrawing.
 *
 * No vscode import: tested with fake pids and growing files
 * (test/unit/reattach.test.ts).
 */
import { closeSync, existsSync, lstatSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import {
  effectiveStatus,
  isMetricsLine,
  type EffectiveStatus,
  type MetricsLine,
  type RunRecord,
  type TrainerAliveCheck,
} from '../../shared/runTypes.js';
import { METRICS_FILE, readRunRecord, RUN_FILE } from '../../runs/runStore.js';

/**
 * Reads a growing JSON-lines file from where it stopped last time. A last line
 * without its newline is kept back until it is complete (the trainer may be
 * writing it right now).
 */
export class MetricsTail {
  private offset = 0;
  private ino = -1;
  private pending = '';
  private lines: MetricsLine[] = [];

  constructor(readonly path: string) {}

  get all(): readonly MetricsLine[] {
    return this.lines;
  }

  /**
   * Reads what was appended. `reset` is true when the file was replaced or
   * shortened (a resume rewrote it): then `added` is the whole new content
   * and the caller should drop what it had.
   */
  read(): { added: MetricsLine[]; reset: boolean } {
    let stat: Stats;
    try {
      stat = statSync(this.path);
    } catch {
      const reset = this.lines.length > 0;
      this.offset = 0;
      this.ino = -1;
      this.pending = '';
      this.lines = [];
      return { added: [], reset };
    }
    let reset = false;
    if (stat.ino !== this.ino || stat.size < this.offset) {
      reset = this.ino !== -1 || this.lines.length > 0;
      this.offset = 0;
      this.pending = '';
      this.lines = [];
      this.ino = stat.ino;
    }
    if (stat.size === this.offset) return { added: [], reset };
    const fd = openSync(this.path, 'r');
    let chunk: Buffer;
    try {
      chunk = Buffer.alloc(stat.size - this.offset);
      let got = 0;
      while (got < chunk.length) {
        const n = readSync(fd, chunk, got, chunk.length - got, this.offset + got);
        if (n === 0) break;
        got += n;
      }
      chunk = chunk.subarray(0, got);
    } finally {
      closeSync(fd);
    }
    this.offset += chunk.length;
    const text = this.pending + chunk.toString('utf8');
    const cut = text.lastIndexOf('\n');
    this.pending = cut < 0 ? text : text.slice(cut + 1);
    const added: MetricsLine[] = [];
    for (const line of cut < 0 ? [] : text.slice(0, cut).split('\n')) {
      if (line.trim() === '') continue;
      try {
        const value: unknown = JSON.parse(line);
        if (isMetricsLine(value)) added.push(value);
      } catch {
        // a line cut by a crash mid-write, followed by the next run's lines after a resume
      }
    }
    this.lines.push(...added);
    return { added, reset };
  }
}

function danglingLink(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink() && !existsSync(path);
  } catch {
    return false;
  }
}

/** One run as the editor sees it. */
export interface TrackedRun {
  readonly id: string;
  readonly dir: string;
  /** Undefined when run.json cannot be read (then `error` says why). */
  readonly record?: RunRecord;
  readonly error?: string;
  /** The status to show: run.json's, or failed when its trainer died unseen. */
  readonly status?: EffectiveStatus;
  readonly metrics: readonly MetricsLine[];
}

export interface RunChange {
  readonly id: string;
  /** The run folder disappeared (deleted). */
  readonly removed?: boolean;
  /** The run is new to the tracker. */
  readonly added?: boolean;
  /** Metrics lines appended since the last scan (all of them after a reset). */
  readonly newMetrics: readonly MetricsLine[];
  /** The metrics file was rewritten: drop the old points. */
  readonly reset: boolean;
  /** run.json or the effective status changed. */
  readonly statusChanged: boolean;
}

interface Entry {
  dir: string;
  tail: MetricsTail;
  recordKey: string;
  record?: RunRecord;
  error?: string;
  status?: EffectiveStatus;
}

function statusKey(status: EffectiveStatus | undefined): string {
  return status ? `${status.status}|${status.reason ?? ''}|${status.orphaned}` : '';
}

/** Everything on disk about the runs under one folder, re-read incrementally. */
export class RunTracker {
  private readonly runs = new Map<string, Entry>();

  constructor(
    readonly runsDir: string,
    private readonly alive: TrainerAliveCheck,
  ) {}

  get(id: string): TrackedRun | undefined {
    const e = this.runs.get(id);
    return e ? this.view(id, e) : undefined;
  }

  /** Every known run, oldest first (run ids start with their start time). */
  all(): TrackedRun[] {
    return [...this.runs.keys()].sort().map((id) => this.view(id, this.runs.get(id)!));
  }

  private view(id: string, e: Entry): TrackedRun {
    return {
      id,
      dir: e.dir,
      ...(e.record ? { record: e.record } : {}),
      ...(e.error !== undefined ? { error: e.error } : {}),
      ...(e.status ? { status: e.status } : {}),
      metrics: e.tail.all,
    };
  }

  /** Re-reads the folder; returns what changed since the last scan. */
  scan(): RunChange[] {
    const changes: RunChange[] = [];
    const seen = new Set<string>();
    let names: string[] = [];
    try {
      names = readdirSync(this.runsDir);
    } catch {
      names = [];
    }
    for (const name of names) {
      const dir = join(this.runsDir, name);
      const runFile = join(dir, RUN_FILE);
      let stat: Stats | undefined;
      try {
        stat = statSync(runFile);
      } catch {
        // Not a run (the queue, .launch/), unless it is a link to a run folder that is gone: shown broken.
        if (!danglingLink(dir)) continue;
      }
      seen.add(name);
      let entry = this.runs.get(name);
      const added = entry === undefined;
      if (!entry) {
        entry = { dir, tail: new MetricsTail(join(dir, METRICS_FILE)), recordKey: '' };
        this.runs.set(name, entry);
      }
      if (stat === undefined) {
        const before = entry.error;
        entry.error = `${dir}: a symbolic link to a missing target`;
        delete entry.record;
        delete entry.status;
        entry.recordKey = '';
        if (added || before !== entry.error) changes.push({ id: name, ...(added ? { added: true } : {}), newMetrics: [], reset: true, statusChanged: true });
        continue;
      }
      const before = statusKey(entry.status) + (entry.error ?? '');
      // run.json is replaced atomically: a new inode or mtime means a new record.
      const key = `${stat.ino}:${stat.mtimeMs}:${stat.size}`;
      let recordChanged = false;
      if (key !== entry.recordKey) {
        try {
          entry.record = readRunRecord(dir);
          delete entry.error;
          entry.recordKey = key;
          recordChanged = true;
        } catch (error) {
          // Unreadable now: keep the last good record if there is one, and try again next scan.
          if (!entry.record) entry.error = (error as Error).message;
        }
      }
      const { added: newMetrics, reset } = entry.tail.read();
      if (entry.record) entry.status = effectiveStatus(entry.record, this.alive);
      const statusChanged = added || recordChanged || before !== statusKey(entry.status) + (entry.error ?? '');
      if (added || statusChanged || newMetrics.length > 0 || reset) {
        changes.push({ id: name, ...(added ? { added: true } : {}), newMetrics, reset, statusChanged });
      }
    }
    for (const id of [...this.runs.keys()]) {
      if (seen.has(id)) continue;
      this.runs.delete(id);
      changes.push({ id, removed: true, newMetrics: [], reset: true, statusChanged: true });
    }
    return changes;
  }

  /** Whether any tracked run is running now (the caller polls faster then). */
  anyRunning(): boolean {
    for (const e of this.runs.values()) if (e.status?.status === 'running') return true;
    return false;
  }

  exists(): boolean {
    return existsSync(this.runsDir);
  }
}
