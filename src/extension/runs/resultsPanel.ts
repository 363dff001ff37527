/**
 * Result panels: one run, or a selection of runs overlaid, drawn by the
 * webview (src/webview/resultsPanel.ts, Chart.js bundled, no remote content)
 * from the chart shaping in src/shared/chartData.ts. The panel follows its
 * runs through the RunsService: new epochs are sent as `append` messages (the
 * charts grow, nothing is redrawn), a rewritten metrics file or a deleted run
 * as a fresh `render`. Exports: the table as CSV, each chart as PNG. Panels
 * come back after a window reload (WebviewPanelSerializer with the run ids).
 *
 * Below the epoch charts, the probes: λ_max and trace against width beside
 * the paper's Section 4.3 claim, λ_max per epoch, and the 1D loss and
 * accuracy slices, from each run's hessian.json, hessian-epochs.jsonl and
 * landscape.json (read through src/runs/reportRuns.ts, so a broken file is
 * named, never trusted). Those files are written by other processes
 * (`cellscope hessian`, `landscape`, the trainer), so the panel looks at
 * their size and time every few seconds while visible and sends a run's
 * probes again when they changed.
 */
import * as vscode from 'vscode';
import { panelHtml } from '../webviewHtml.js';
import { probeFilesStamp, readRunProbes } from '../../runs/reportRuns.js';
import { rowsToCsv, sortRows, tableRow, type ChartRun, type ChartRunInfo } from '../../shared/chartData.js';
import {
  DEFAULT_RESULTS_STATE,
  parseResultsPanelMessage,
  parseResultsPanelState,
  RESULTS_PANEL_VIEW_TYPE,
  type ResultsPanelFromWebview,
  type ResultsPanelState,
  type ResultsPanelToWebview,
} from '../../shared/protocol.js';
import type { TrackedRun } from './reattach.js';
import type { RunsChangeEvent, RunsService } from './runsService.js';

/** The chart/table digest of a tracked run. */
export function chartInfo(run: TrackedRun): ChartRunInfo | undefined {
  const r = run.record;
  if (!r) return undefined;
  const status = run.status ?? { status: r.status, ...(r.reason !== undefined ? { reason: r.reason } : {}), orphaned: false };
  return {
    id: r.id,
    genotype: r.genotype.name,
    width: r.genotype.normal.width,
    depth: r.genotype.normal.depth,
    params: r.params,
    status: status.status,
    ...(status.reason !== undefined ? { reason: status.reason } : {}),
    epochs: r.config.epochs,
    dataset: r.config.dataset,
    backend: r.backend?.backend ?? '-',
  };
}


/** How often a visible panel looks whether a run's probe files changed (a few stats per run). */
const PROBE_POLL_MS = 3000;

class ResultsPanel {
  private state: ResultsPanelState;
  private ready = false;
  /** The probe files' stamp per run as last sent. */
  private readonly probeStamps = new Map<string, string>();
  private probeTimer: ReturnType<typeof setInterval> | undefined;
  private readonly disposables: vscode.Disposable[] = [];
  private disposed = false;

  constructor(
    readonly panel: vscode.WebviewPanel,
    private readonly extensionUri: vscode.Uri,
    private readonly service: RunsService,
    state: ResultsPanelState,
    private readonly onDispose: (p: ResultsPanel) => void,
  ) {
    this.state = state;
    panel.webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'media'), vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
    };
    panel.iconPath = vscode.Uri.joinPath(extensionUri, 'media', 'runs.svg');
    panel.title = this.title();
    panel.webview.html = this.html();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((raw: unknown) => {
        const message = parseResultsPanelMessage(raw);
        if (message) void this.handle(message);
      }),
      service.onDidChange((e) => this.runsChanged(e)),
      panel.onDidDispose(() => this.dispose()),
    );
    this.probeTimer = setInterval(() => {
      if (this.ready && this.panel.visible) this.sendChangedProbes();
    }, PROBE_POLL_MS);
  }

  get runIds(): readonly string[] {
    return this.state.runIds;
  }

  private title(): string {
    const ids = this.state.runIds;
    if (ids.length === 1) {
      const run = this.service.run(ids[0]!);
      return `Results: ${run?.record?.genotype.name ?? ids[0]}`;
    }
    return `Results: ${ids.length} runs`;
  }

  private chartRuns(): ChartRun[] {
    const out: ChartRun[] = [];
    for (const id of this.state.runIds) {
      const run = this.service.run(id);
      const info = run && chartInfo(run);
      if (run && info) {
        this.probeStamps.set(id, probeFilesStamp(run.dir));
        out.push({ info, metrics: run.metrics, probes: readRunProbes(run.dir) });
      }
    }
    return out;
  }

  /** Sends the probes of every run whose probe files changed since they were last sent. */
  private sendChangedProbes(): void {
    for (const id of this.state.runIds) {
      const run = this.service.run(id);
      if (!run?.record) continue;
      const stamp = probeFilesStamp(run.dir);
      if (this.probeStamps.get(id) === stamp) continue;
      this.probeStamps.set(id, stamp);
      void this.post({ type: 'probes', runId: id, probes: readRunProbes(run.dir) });
    }
  }

  private async render(): Promise<void> {
    if (!this.ready) return;
    await this.post({ type: 'render', runs: this.chartRuns(), state: this.state });
  }

  private runsChanged(event: RunsChangeEvent): void {
    if (!this.ready) return;
    const mine = event.runs.filter((c) => this.state.runIds.includes(c.id));
    if (mine.length === 0) return;
    if (mine.some((c) => c.reset || c.removed || c.added)) {
      void this.render();
      return;
    }
    for (const change of mine) {
      const run = this.service.run(change.id);
      const info = run && chartInfo(run);
      if (info) void this.post({ type: 'append', info, metrics: change.newMetrics });
    }
    // A new epoch may come with a per-epoch Hessian line.
    this.sendChangedProbes();
  }

  private post(message: ResultsPanelToWebview): Thenable<boolean> {
    return this.disposed ? Promise.resolve(false) : this.panel.webview.postMessage(message);
  }

  private async handle(message: ResultsPanelFromWebview): Promise<void> {
    switch (message.type) {
      case 'ready':
        this.ready = true;
        await this.render();
        return;
      case 'setView':
        this.state = { ...this.state, sort: message.sort, lossThreshold: message.lossThreshold };
        return;
      case 'exportCsv': {
        const rows = sortRows(
          this.chartRuns().map((r) => tableRow(r, message.lossThreshold)),
          message.sort.column,
          message.sort.direction,
        );
        const target = await this.saveTarget('results.csv', { 'CSV table': ['csv'] });
        if (target) await this.write(target, new TextEncoder().encode(rowsToCsv(rows, message.lossThreshold)));
        return;
      }
      case 'exportPng': {
        const target = await this.saveTarget(`${message.chart}.png`, { 'PNG image': ['png'] });
        if (target) await this.write(target, Buffer.from(message.pngBase64, 'base64'));
        return;
      }
    }
  }

  private async saveTarget(fileName: string, filters: Record<string, string[]>): Promise<vscode.Uri | undefined> {
    const first = this.state.runIds.length === 1 ? this.service.run(this.state.runIds[0]!) : undefined;
    const folder = first ? vscode.Uri.file(first.dir) : this.service.workspaceFolder;
    return vscode.window.showSaveDialog({ ...(folder ? { defaultUri: vscode.Uri.joinPath(folder, fileName) } : {}), filters });
  }

  private async write(target: vscode.Uri, bytes: Uint8Array): Promise<void> {
    try {
      await vscode.workspace.fs.writeFile(target, bytes);
      await this.post({ type: 'status', message: `Saved ${vscode.workspace.asRelativePath(target)}` });
    } catch (error) {
      void vscode.window.showErrorMessage(`Could not save ${target.fsPath}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private html(): string {
    return panelHtml(this.panel.webview, this.extensionUri, {
      script: 'resultsPanel.js',
      style: 'resultsPanel.css',
      title: 'Cellscope results',
      body: `  <div id="toolbar">
    <span id="summary"></span>
    <span id="status" role="status" aria-live="polite"></span>
  </div>
  <main>
    <section id="charts" aria-label="Training curves"></section>
    <section id="probes" aria-label="Smoothness and 1D slices"></section>
    <section id="table-section" aria-label="Runs">
      <div class="table-tools">
        <label>Epochs to test loss ≤ <input id="threshold" type="number" min="0" step="0.05"></label>
        <button type="button" id="export-csv">Export CSV</button>
      </div>
      <table id="runs-table"><thead></thead><tbody></tbody></table>
    </section>
  </main>`,
    });
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.probeTimer !== undefined) clearInterval(this.probeTimer);
    for (const d of this.disposables) d.dispose();
    this.onDispose(this);
    this.panel.dispose();
  }
}

export class ResultsPanels implements vscode.Disposable {
  private readonly panels = new Set<ResultsPanel>();

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly service: RunsService,
  ) {}

  private create(panel: vscode.WebviewPanel, state: ResultsPanelState): ResultsPanel {
    const p = new ResultsPanel(panel, this.extensionUri, this.service, state, (x) => this.panels.delete(x));
    this.panels.add(p);
    return p;
  }

  /** Shows `runIds` (one run, or several overlaid), reusing a panel that shows exactly them. */
  open(runIds: readonly string[]): void {
    const key = [...runIds].sort().join('\n');
    for (const p of this.panels) {
      if ([...p.runIds].sort().join('\n') === key) {
        p.panel.reveal(undefined, false);
        return;
      }
    }
    const panel = vscode.window.createWebviewPanel(RESULTS_PANEL_VIEW_TYPE, 'Results', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: false });
    this.create(panel, { ...DEFAULT_RESULTS_STATE, runIds: [...runIds] });
  }

  restore(panel: vscode.WebviewPanel, raw: unknown): void {
    const state = parseResultsPanelState(raw);
    if (!state) {
      panel.dispose();
      return;
    }
    this.create(panel, state);
  }

  dispose(): void {
    for (const p of [...this.panels]) p.dispose();
  }
}
