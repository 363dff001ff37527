/**
 * The editor's view of training: the runs folder of the workspace (setting
 * `cellscope.runs.folder`, default `runs`), its queue, and the runs in it.
 * Polls the folder (faster while something runs or waits) and also wakes on
 * file-system events; every change goes out as `onDidChange` with what
 * changed, so the Runs view, the status bar and result panels update without
 * re-reading everything. Holds no trainer process: cancel signals the run's
 * proven trainer (src/runs/trainerProcess.ts), resume queues `cellscope resume`.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync, watch, type FSWatcher } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import * as vscode from 'vscode';
import { effectiveStatus, ProbeActivity } from '../../shared/runTypes.js';
import { trainerAlive } from '../../runs/runStore.js';
import { signalTrainer } from '../../runs/trainerProcess.js';
import { scancelRun } from '../../runs/slurm/slurmCancel.js';
import { slurmGroupName, slurmJobName } from '../../shared/slurmTypes.js';
import { SlurmWatch } from './slurmWatch.js';
import type { AdaptersReport } from '../../shared/adapters.js';
import { AdapterCache, probeAdaptersInChild, type ProbeConfig } from './adapterProbe.js';
import { launchedAlive, launchTrainer, type LaunchConfig } from './launcher.js';
import { RunQueue, QUEUE_FILE, type DeviceSlot, type QueueEntry, type QueueFile, type QueueRequest } from './queue.js';
import { RunTracker, type RunChange, type TrackedRun } from './reattach.js';
import { slotOfRecord } from './trainOptions.js';

const FAST_POLL_MS = 1000;
const SLOW_POLL_MS = 5000;
const WATCH_DEBOUNCE_MS = 150;

export interface RunsChangeEvent {
  readonly runs: readonly RunChange[];
  /** The queue changed (entries added, started or gone). */
  readonly queue: boolean;
}

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('cellscope');
}

export class RunsService implements vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsChangeEvent>();
  readonly onDidChange = this.changed.event;
  private readonly entryDone = new vscode.EventEmitter<{ entry: QueueEntry; runId: string | undefined }>();
  /** A queue entry's trainer exited (runId: the run it made, if it got that far). */
  readonly onDidFinishEntry = this.entryDone.event;
  private tracker: RunTracker | undefined;
  private queue: RunQueue | undefined;
  private queueState: QueueFile | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private watcher: FSWatcher | undefined;
  private watchDebounce: ReturnType<typeof setTimeout> | undefined;
  private readonly logOffsets = new Map<string, number>();
  /** Runs whose trainer's latest progress line announced a probe between epochs (read from the launch logs). */
  private readonly probing = new ProbeActivity();
  private disposed = false;
  private readonly slurmWatch = new SlurmWatch();
  private refreshing = false;
  private readonly disposables: vscode.Disposable[] = [];
  private readonly adapterCache = new AdapterCache(() =>
    probeAdaptersInChild(this.probeConfig()),
  );

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly trainerLog: vscode.OutputChannel,
  ) {
    this.disposables.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('cellscope.runs.folder')) this.reset();
      }),
      vscode.workspace.onDidChangeWorkspaceFolders(() => this.reset()),
    );
    this.reset();
  }

  /** The workspace folder runs are relative to; undefined without a folder. */
  get workspaceFolder(): vscode.Uri | undefined {
    return vscode.workspace.workspaceFolders?.[0]?.uri;
  }

  get runsDir(): string | undefined {
    const folder = this.workspaceFolder;
    const setting = config().get<string>('runs.folder', 'runs') || 'runs';
    if (isAbsolute(setting)) return setting;
    return folder ? join(folder.fsPath, setting) : undefined;
  }

  private reset(): void {
    this.watcher?.close();
    this.watcher = undefined;
    const dir = this.runsDir;
    this.tracker = dir ? new RunTracker(dir, this.slurmWatch.aliveCheck(trainerAlive)) : undefined;
    this.queue = dir
      ? new RunQueue(join(dir, QUEUE_FILE), {
          launch: (entry) => launchTrainer(entry, this.launchConfig()),
          alive: launchedAlive,
          concurrency: (slot) => this.concurrency(slot),
          readLog: (path) => {
            try {
              return readFileSync(path, 'utf8');
            } catch {
              return '';
            }
          },
          events: {
            launchFailed: (entry, error) => {
              this.trainerLog.appendLine(`[${entry.request.name}] could not start the trainer: ${error.message}`);
              void vscode.window.showErrorMessage(`Cellscope: could not start training ${entry.request.name}: ${error.message}`);
            },
            finished: (entry, runId) => this.entryFinished(entry, runId),
          },
        })
      : undefined;
    this.queueState = undefined;
    void this.refresh();
  }

  private concurrency(slot: DeviceSlot): number {
    const n = config().get<number>('runs.concurrency', 1);
    void slot;
    return Number.isFinite(n) && n >= 1 ? Math.floor(n) : 1;
  }

  /** The WebGPU adapters the trainer can use here (probed once in a child process). */
  adapters(): Promise<AdaptersReport> {
    return this.adapterCache.get();
  }

  /** How this window starts the trainer's CLI for a probe (adapters, engine status). */
  probeConfig(): ProbeConfig {
    return { ...this.launchConfig(), cwd: this.workspaceFolder?.fsPath ?? this.extensionUri.fsPath };
  }

  /** Whether Slurm's sbatch is on PATH here (Train on Cluster… is offered then). */
  slurmAvailable(): Promise<boolean> {
    return new Promise((resolve) => execFile('sbatch', ['--version'], { timeout: 10_000 }, (error) => resolve(error === null)));
  }

  /**
   * Runs the bundled CLI to completion (submissions return at once); resolves
   * with its stderr (the CLI's messages), rejects with its last lines.
   */
  runCli(args: readonly string[]): Promise<string> {
    this.requireTrust();
    const launch = this.launchConfig();
    const env: NodeJS.ProcessEnv = { ...process.env, CELLSCOPE_CLI: launch.cli, CELLSCOPE_NODE: config().get<string>('trainer.node', '').trim() || 'node' };
    if (launch.electron) env['ELECTRON_RUN_AS_NODE'] = '1';
    return new Promise((resolve, reject) =>
      execFile(launch.node, [launch.cli, ...args], { cwd: launch.cwd, env, timeout: 120_000 }, (error, _stdout, stderr) => {
        if (error) reject(new Error(stderr.trim().split('\n').slice(-2).join(' ') || error.message));
        else resolve(stderr);
      }),
    );
  }

  /** Submits each genotype as one Slurm job (`cellscope train … --executor slurm`); resolves with the CLI's messages. */
  async submitToCluster(refs: readonly { ref: string; name: string }[], args: readonly string[], slurmArgs: readonly string[]): Promise<string[]> {
    const runsDir = this.runsDir;
    if (runsDir === undefined) throw new Error('open a folder first: runs are stored in the workspace');
    const out: string[] = [];
    for (const r of refs) out.push((await this.runCli(['train', r.ref, ...args, '--runs', runsDir, '--executor', 'slurm', ...slurmArgs])).trim());
    void this.refresh();
    return out;
  }

  private launchConfig(): LaunchConfig {
    const configuredNode = config().get<string>('trainer.node', '').trim();
    const configuredCli = config().get<string>('trainer.cli', '').trim();
    const runsDir = this.runsDir ?? this.extensionUri.fsPath;
    return {
      node: configuredNode || process.execPath,
      // Electron's executable runs scripts only as Node with this variable; a configured Node ignores it.
      electron: configuredNode === '' && process.versions['electron'] !== undefined,
      cli: configuredCli || vscode.Uri.joinPath(this.extensionUri, 'dist', 'cli.js').fsPath,
      runsDir,
      cwd: this.workspaceFolder?.fsPath ?? runsDir,
    };
  }

  /** Re-reads queue and runs now; fires the change event when something changed. */
  async refresh(): Promise<void> {
    if (this.disposed || this.refreshing) return;
    this.refreshing = true;
    try {
      const before = JSON.stringify(this.queueState?.entries ?? null);
      if (this.queue && (vscode.workspace.isTrusted || existsSync(this.queue.path))) {
        // An untrusted workspace never starts trainers; its queue (if any) is only shown.
        this.queueState = vscode.workspace.isTrusted ? this.queue.pump() : this.queue.read();
      } else {
        this.queueState = undefined;
      }
      const queueChanged = before !== JSON.stringify(this.queueState?.entries ?? null);
      const runs = this.tracker?.scan() ?? [];
      // Runs Slurm trains on other nodes: their jobs' states, for the next scan.
      const remote = this.runs().flatMap((r) => (r.record?.slurm !== undefined && r.record.status === 'running' && trainerAlive(r.record) === undefined ? [slurmJobName(r.record.slurm)] : []));
      this.slurmWatch.update(remote, () => void this.refresh());
      // A probe between epochs changes no run file until it ends: its progress line alone says the trainer is busy.
      const activityChanged = this.copyTrainerOutput();
      this.ensureWatcher();
      if (queueChanged || runs.length > 0 || activityChanged) this.changed.fire({ runs, queue: queueChanged });
    } catch (error) {
      this.trainerLog.appendLine(`refresh failed: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.refreshing = false;
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.disposed) return;
    if (this.timer) clearTimeout(this.timer);
    const busy = (this.queueState?.entries.length ?? 0) > 0 || (this.tracker?.anyRunning() ?? false);
    this.timer = setTimeout(() => void this.refresh(), busy ? FAST_POLL_MS : SLOW_POLL_MS);
  }

  /** File-system events make updates prompt; polling stays as the fallback (network drives, missed events). */
  private ensureWatcher(): void {
    const dir = this.runsDir;
    if (this.watcher || !dir || !existsSync(dir)) return;
    try {
      this.watcher = watch(dir, () => {
        if (this.watchDebounce) clearTimeout(this.watchDebounce);
        this.watchDebounce = setTimeout(() => void this.refresh(), WATCH_DEBOUNCE_MS);
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = undefined;
      });
    } catch {
      this.watcher = undefined;
    }
  }

  /**
   * Appends new lines of the trainers' launch logs to the output channel
   * (progress JSON left out, but read for `activity`); true when a run's
   * activity changed.
   */
  private copyTrainerOutput(): boolean {
    let changed = false;
    for (const entry of this.queueState?.entries ?? []) {
      if (entry.launch) changed = this.copyLog(entry.launch.logFile, entry.launch.runId ?? entry.request.name) || changed;
    }
    return changed;
  }

  private copyLog(path: string, label: string): boolean {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return false;
    }
    const from = this.logOffsets.get(path) ?? 0;
    const end = text.lastIndexOf('\n') + 1;
    if (end <= from) return false;
    this.logOffsets.set(path, end);
    const lines = text.slice(from, end).split('\n');
    for (const line of lines) {
      if (line.trim() === '' || line.startsWith('{')) continue;
      this.trainerLog.appendLine(`[${label}] ${line}`);
    }
    return this.probing.feed(lines.filter((line) => line.startsWith('{')));
  }

  /**
   * What a run's trainer does now when its progress says more than its files
   * (`smoothness probe, epoch 2/3` while the per-epoch probe runs); undefined
   * otherwise. Known for the trainers this window's queue started.
   */
  activity(runId: string): string | undefined {
    return this.run(runId)?.status?.status === 'running' ? this.probing.activity(runId) : undefined;
  }

  private entryFinished(entry: QueueEntry, runId: string | undefined): void {
    if (entry.launch) this.copyLog(entry.launch.logFile, runId ?? entry.request.name);
    if (runId === undefined && entry.launch) {
      // The trainer exited before creating a run (bad genotype, bad flags): its log says why.
      let why = '';
      try {
        why = readFileSync(entry.launch.logFile, 'utf8').trim().split('\n').slice(-3).join(' ');
      } catch {
        why = 'no output';
      }
      void vscode.window.showErrorMessage(`Cellscope: training ${entry.request.name} did not start: ${why}`);
    }
    if (entry.launch) this.logOffsets.delete(entry.launch.logFile);
    if (runId !== undefined) this.probing.forget(runId);
    this.entryDone.fire({ entry, runId });
  }

  // ---- what the views read -------------------------------------------------

  runs(): TrackedRun[] {
    return this.tracker?.all() ?? [];
  }

  run(id: string): TrackedRun | undefined {
    return this.tracker?.get(id);
  }

  queueEntries(): readonly QueueEntry[] {
    return this.queueState?.entries ?? [];
  }

  /** The experiment a run belongs to: the action that queued it, else its genotype (a variant's base). */
  experimentOf(run: TrackedRun): string {
    const named = this.queueState?.experiments[run.id];
    if (named) return named;
    // Runs Slurm trained group by the array (or job) that ran them.
    if (run.record?.slurm !== undefined) return slurmGroupName(run.record.slurm);
    const g = run.record?.genotype;
    return g ? (g.variant?.of ?? g.name) : 'Unreadable runs';
  }

  // ---- actions -------------------------------------------------------------

  private requireTrust(): void {
    if (!vscode.workspace.isTrusted) throw new Error('training is disabled in an untrusted workspace (it runs code from the workspace folder); trust the workspace first');
  }

  enqueue(experiment: string, requests: readonly QueueRequest[]): QueueEntry[] {
    this.requireTrust();
    if (!this.queue) throw new Error('open a folder first: runs are stored in the workspace');
    const added = this.queue.enqueue(experiment, requests);
    void this.refresh();
    return added;
  }

  /** Removes a waiting queue entry. */
  dequeue(entryId: string): boolean {
    const ok = this.queue?.remove(entryId) ?? false;
    void this.refresh();
    return ok;
  }

  /**
   * Asks a running trainer to stop (SIGTERM; scancel for a Slurm job); it
   * checkpoints and records `cancelled`. Like training, only in a trusted
   * workspace (signalling a process is acting on what the workspace's files
   * say), and only a process proven to be the run's trainer
   * (src/runs/trainerProcess.ts), never the pid run.json names on its word.
   */
  cancel(runId: string): void {
    if (!vscode.workspace.isTrusted) throw new Error('cancelling runs is disabled in an untrusted workspace (it signals processes its run files name); trust the workspace first');
    const run = this.run(runId);
    if (!run?.record) throw new Error(`no run ${runId}`);
    const status = effectiveStatus(run.record, trainerAlive);
    if (status.status !== 'running') throw new Error(`run ${runId} is not running (${status.status})`);
    if (run.record.slurm !== undefined) {
      const problem = scancelRun(run.record);
      if (problem !== undefined) throw new Error(problem);
      void this.refresh();
      return;
    }
    signalTrainer(run.dir, run.record);
    void this.refresh();
  }

  /** Queues `cellscope resume` for a cancelled or failed run (a run Slurm trained is submitted to Slurm again). */
  async resume(runId: string): Promise<QueueEntry | undefined> {
    const run = this.run(runId);
    if (!run?.record) throw new Error(`no run ${runId}`);
    const status = run.status?.status;
    if (status !== 'cancelled' && status !== 'failed') throw new Error(`run ${runId} is ${status}; only cancelled or failed runs resume`);
    if (run.record.slurm !== undefined) {
      const out = await this.runCli(['resume', run.dir]);
      void vscode.window.showInformationMessage(`Cellscope: ${out.split('\n').filter((l) => l.trim() !== '').pop() ?? `resubmitted ${runId}`}`);
      void this.refresh();
      return undefined;
    }
    if (this.queueEntries().some((e) => e.request.kind === 'resume' && e.request.runId === runId)) throw new Error(`run ${runId} is already queued to resume`);
    const slot = slotOfRecord(run.record.backend);
    const [entry] = this.enqueue(this.experimentOf(run), [{ kind: 'resume', runId, name: run.record.genotype.name, ...slot }]);
    return entry!;
  }

  /** Deletes a run folder (not while it runs). */
  delete(runId: string): void {
    const run = this.run(runId);
    if (!run) throw new Error(`no run ${runId}`);
    if (run.status?.status === 'running') throw new Error(`run ${runId} is running; cancel it first`);
    rmSync(run.dir, { recursive: true, force: true });
    this.queue?.forgetRun(runId);
    void this.refresh();
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.watchDebounce) clearTimeout(this.watchDebounce);
    this.watcher?.close();
    this.changed.dispose();
    this.entryDone.dispose();
    for (const d of this.disposables) d.dispose();
  }
}
