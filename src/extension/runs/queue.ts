/**
 * The training queue: "train 12 variants" is one action that puts 12 entries
 * here, and the queue starts them as device slots free up (by default one run
 * per GPU and one on the CPU). The queue lives on disk (`runs/queue.json`,
 * replaced atomically), not only in memory, so queued runs survive a window
 * reload or a closed editor, and a launched entry keeps its slot until its
 * trainer process exits, even across reloads.
 *
 * No vscode import: the queue's rules are unit-tested with a fake launcher and
 * fake liveness checks (test/unit/run-queue.test.ts).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeFileAtomic } from '../../runs/atomicFile.js';
import { withFileLock } from '../../runs/fileLock.js';
import { runIdProblem } from '../../shared/runTypes.js';

export const QUEUE_FILE = 'queue.json';
const QUEUE_FORMAT = 1;

/**
 * Where a run computes: `cpu` (wasm / cpu / native CPU, and software WebGPU
 * adapters, which compute on the CPU too), `gpu:N` (CUDA device N) or
 * `webgpu:N` (WebGPU adapter N of `cellscope adapters`).
 */
export type DeviceSlot = 'cpu' | `gpu:${number}` | `webgpu:${number}`;

export interface TrainRequest {
  readonly kind: 'train';
  /** The genotype reference the CLI reads (FILE#NAME with an absolute FILE, or a built-in NAME). */
  readonly ref: string;
  /** The genotype's name, for display while queued. */
  readonly name: string;
  /** Flags after `train REF` (dataset, preset, epochs…; never --runs, which the launcher adds). */
  readonly args: readonly string[];
  readonly device: DeviceSlot;
  /** The WebGPU adapter (index in `cellscope adapters`) for `--backend webgpu`. */
  readonly adapter?: number;
}

export interface ResumeRequest {
  readonly kind: 'resume';
  readonly runId: string;
  readonly name: string;
  readonly device: DeviceSlot;
  readonly adapter?: number;
}

export type QueueRequest = TrainRequest | ResumeRequest;

/** What the launcher reports about a started trainer. */
export interface Launched {
  readonly pid: number;
  /** When that process started as the OS tells it (Linux), so a recycled pid is not taken for it. */
  readonly processStart?: string;
  /** The file the trainer's stdout and stderr go to (its progress lines name the run). */
  readonly logFile: string;
}

export interface QueueEntry {
  readonly id: string;
  /** The action that queued it ("DARTS_V2 · 12 random-connection variants"), for grouping runs. */
  readonly experiment: string;
  readonly request: QueueRequest;
  readonly queuedAt: string;
  readonly launch?: Launched & { readonly at: string; readonly runId?: string };
}

export interface QueueFile {
  readonly format: typeof QUEUE_FORMAT;
  readonly entries: readonly QueueEntry[];
  /** Run id → experiment, for runs this queue started (the run files do not record it). */
  readonly experiments: Readonly<Record<string, string>>;
}

export const EMPTY_QUEUE: QueueFile = { format: QUEUE_FORMAT, entries: [], experiments: {} };

/** Whether a launched trainer is still running: false only when it is known to be gone. */
export type ProcessAlive = (launch: Launched) => boolean;

/** How many runs may share a device slot at once. */
export type Concurrency = (slot: DeviceSlot) => number;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEntry(value: unknown): value is QueueEntry {
  // The entry id names its launch log (.launch/<id>.log) and a resume's run id its folder: plain names only.
  if (!isRecord(value) || typeof value['id'] !== 'string' || runIdProblem(value['id']) !== undefined || typeof value['experiment'] !== 'string') return false;
  const r = value['request'];
  if (!isRecord(r) || typeof r['name'] !== 'string' || typeof r['device'] !== 'string') return false;
  if (r['adapter'] !== undefined && !(Number.isInteger(r['adapter']) && (r['adapter'] as number) >= 0)) return false;
  if (r['kind'] === 'train') {
    if (typeof r['ref'] !== 'string' || !Array.isArray(r['args']) || !r['args'].every((a) => typeof a === 'string')) return false;
  } else if (r['kind'] !== 'resume' || typeof r['runId'] !== 'string' || runIdProblem(r['runId']) !== undefined) {
    return false;
  }
  const l = value['launch'];
  return l === undefined || (isRecord(l) && typeof l['pid'] === 'number' && typeof l['logFile'] === 'string');
}

/**
 * Reads a queue file's text. Entries that do not parse are dropped (a file
 * from a newer version, or edited by hand) rather than failing the whole queue.
 */
export function parseQueue(text: string): QueueFile {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return EMPTY_QUEUE;
  }
  if (!isRecord(value) || value['format'] !== QUEUE_FORMAT) return EMPTY_QUEUE;
  const entries = Array.isArray(value['entries']) ? value['entries'].filter(isEntry) : [];
  const experiments: Record<string, string> = {};
  if (isRecord(value['experiments'])) {
    for (const [k, v] of Object.entries(value['experiments'])) if (typeof v === 'string') experiments[k] = v;
  }
  return { format: QUEUE_FORMAT, entries, experiments };
}

/** The device slots launched entries occupy now, counted per slot. */
export function slotsInUse(entries: readonly QueueEntry[]): Map<DeviceSlot, number> {
  const used = new Map<DeviceSlot, number>();
  for (const e of entries) if (e.launch) used.set(e.request.device, (used.get(e.request.device) ?? 0) + 1);
  return used;
}

/**
 * The entries to start now: waiting entries in queue order, each taken when
 * its device slot has room. An entry whose slot is full does not hold back
 * later entries for other slots (a CPU run waits; a GPU run may start).
 */
export function entriesToLaunch(entries: readonly QueueEntry[], concurrency: Concurrency): QueueEntry[] {
  const used = slotsInUse(entries);
  const out: QueueEntry[] = [];
  for (const e of entries) {
    if (e.launch) continue;
    const slot = e.request.device;
    const n = used.get(slot) ?? 0;
    if (n >= Math.max(1, Math.floor(concurrency(slot)))) continue;
    used.set(slot, n + 1);
    out.push(e);
  }
  return out;
}

/** Launched entries whose trainer has exited: they leave the queue (their run is on disk). */
export function finishedEntries(entries: readonly QueueEntry[], alive: ProcessAlive): QueueEntry[] {
  return entries.filter((e) => e.launch !== undefined && !alive(e.launch));
}

/** The run id a trainer announced in its first progress line (`{"type":"start","runId":…}`), if it has. */
export function runIdFromLog(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{') || !t.includes('"start"')) continue;
    try {
      const v: unknown = JSON.parse(t);
      if (isRecord(v) && v['type'] === 'start' && typeof v['runId'] === 'string') return v['runId'];
    } catch {
      // a line cut short while the trainer writes it
    }
  }
  return undefined;
}

export interface QueueEvents {
  /** A trainer failed to start (spawn error): the entry is dropped and this says why. */
  launchFailed?(entry: QueueEntry, error: Error): void;
  /** A trainer exited; `runId` is undefined when it never announced a run (bad arguments, missing genotype). */
  finished?(entry: QueueEntry, runId: string | undefined): void;
}

export interface QueueDeps {
  /** Starts a trainer for the entry; throws when it cannot. */
  launch(entry: QueueEntry): Launched;
  alive: ProcessAlive;
  concurrency: Concurrency;
  /** Reads the launch log (to find the run id); '' when absent. */
  readLog(path: string): string;
  now?: () => Date;
  events?: QueueEvents;
}

/**
 * The queue over its file. Every operation reads the file, changes it and
 * writes it back whole under a lock file (`queue.json.lock`), so two windows
 * on one workspace see each other's entries and never lose one another's
 * change.
 */
export class RunQueue {
  private counter = 0;

  constructor(
    readonly path: string,
    private readonly deps: QueueDeps,
  ) {}

  read(): QueueFile {
    if (!existsSync(this.path)) return EMPTY_QUEUE;
    try {
      return parseQueue(readFileSync(this.path, 'utf8'));
    } catch {
      return EMPTY_QUEUE;
    }
  }

  private write(queue: QueueFile): void {
    mkdirSync(dirname(this.path), { recursive: true });
    writeFileAtomic(this.path, `${JSON.stringify(queue, null, 2)}\n`);
  }

  private now(): Date {
    return this.deps.now?.() ?? new Date();
  }

  /** Runs a read-modify-write of the queue file with no other process doing one at the same time. */
  private locked<T>(change: () => T): T {
    mkdirSync(dirname(this.path), { recursive: true });
    return withFileLock(this.path, change);
  }

  /** Adds requests at the end of the queue under one experiment; returns their entries. */
  enqueue(experiment: string, requests: readonly QueueRequest[]): QueueEntry[] {
    return this.locked(() => this.enqueueUnlocked(experiment, requests));
  }

  private enqueueUnlocked(experiment: string, requests: readonly QueueRequest[]): QueueEntry[] {
    const queue = this.read();
    const at = this.now();
    const added = requests.map((request) => ({
      id: `q${at.getTime().toString(36)}-${(this.counter++).toString(36)}-${Math.floor(Math.random() * 1e6).toString(36)}`,
      experiment,
      request,
      queuedAt: at.toISOString(),
    }));
    this.write({ ...queue, entries: [...queue.entries, ...added] });
    return added;
  }

  /** Removes a waiting entry (cancel before it started); false when it is not waiting. */
  remove(id: string): boolean {
    return this.locked(() => this.removeUnlocked(id));
  }

  private removeUnlocked(id: string): boolean {
    const queue = this.read();
    const entry = queue.entries.find((e) => e.id === id);
    if (!entry || entry.launch) return false;
    this.write({ ...queue, entries: queue.entries.filter((e) => e !== entry) });
    return true;
  }

  /**
   * One step of the queue: notes run ids that launched trainers announced,
   * drops entries whose trainer exited, and starts waiting entries where
   * their device slot has room. Returns the queue as written.
   */
  pump(): QueueFile {
    const { next, finished } = this.locked(() => this.pumpUnlocked());
    // Events run outside the lock: their handlers may read the queue again.
    for (const e of finished) this.deps.events?.finished?.(e, e.launch?.runId);
    return next;
  }

  private pumpUnlocked(): { next: QueueFile; finished: QueueEntry[] } {
    const queue = this.read();
    const experiments: Record<string, string> = { ...queue.experiments };
    let entries = queue.entries.map((e) => {
      if (!e.launch || e.launch.runId !== undefined) return e;
      const runId = runIdFromLog(this.deps.readLog(e.launch.logFile));
      if (runId === undefined) return e;
      experiments[runId] = e.experiment;
      return { ...e, launch: { ...e.launch, runId } };
    });
    const finished = finishedEntries(entries, this.deps.alive);
    entries = entries.filter((e) => !finished.includes(e));

    const launchedNow = new Map<string, QueueEntry>();
    const failed = new Set<string>();
    for (const e of entriesToLaunch(entries, this.deps.concurrency)) {
      try {
        const launched = this.deps.launch(e);
        const runId = e.request.kind === 'resume' ? e.request.runId : undefined;
        if (runId !== undefined) experiments[runId] ??= e.experiment;
        launchedNow.set(e.id, { ...e, launch: { ...launched, at: this.now().toISOString(), ...(runId !== undefined ? { runId } : {}) } });
      } catch (error) {
        failed.add(e.id);
        this.deps.events?.launchFailed?.(e, error instanceof Error ? error : new Error(String(error)));
      }
    }
    entries = entries.filter((e) => !failed.has(e.id)).map((e) => launchedNow.get(e.id) ?? e);
    const next: QueueFile = { format: QUEUE_FORMAT, entries, experiments };
    const changed = finished.length > 0 || launchedNow.size > 0 || failed.size > 0 || JSON.stringify(next) !== JSON.stringify(queue);
    if (changed) this.write(next);
    return { next, finished };
  }

  /** Forgets a deleted run's experiment. */
  forgetRun(runId: string): void {
    this.locked(() => this.forgetRunUnlocked(runId));
  }

  private forgetRunUnlocked(runId: string): void {
    const queue = this.read();
    if (!(runId in queue.experiments)) return;
    const experiments = { ...queue.experiments };
    delete experiments[runId];
    this.write({ ...queue, experiments });
  }
}
