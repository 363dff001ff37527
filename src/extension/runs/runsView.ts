/**
 * The Runs view (activity bar → Cellscope → Runs): runs grouped by experiment
 * (the action that queued them, the Slurm array or job that ran them, else
 * the genotype), each with its status,
 * epoch/total, last test accuracy, backend and normal-cell width/depth; queued
 * entries under their experiment. Context actions by status (contextValue
 * `cellscope.run.<status>` / `cellscope.queued`): open results, cancel,
 * resume, delete, reveal folder, show log.
 */
import * as vscode from 'vscode';
import { formatWidth } from '../../genotype/metrics.js';
import type { RunStatus } from '../../shared/runTypes.js';
import { slurmJobName } from '../../shared/slurmTypes.js';
import type { QueueEntry } from './queue.js';
import type { TrackedRun } from './reattach.js';
import type { RunsService } from './runsService.js';

export const RUNS_VIEW_ID = 'cellscope.runs';

export type RunsNode =
  | { readonly kind: 'experiment'; readonly name: string; readonly runs: readonly TrackedRun[]; readonly queued: readonly QueueEntry[] }
  | { readonly kind: 'run'; readonly run: TrackedRun }
  | { readonly kind: 'queued'; readonly entry: QueueEntry };

const STATUS_ICONS: Record<RunStatus, [string, string | undefined]> = {
  running: ['sync~spin', 'charts.blue'],
  completed: ['pass', 'charts.green'],
  failed: ['error', 'charts.red'],
  cancelled: ['circle-slash', 'charts.yellow'],
};

/** `running · epoch 3/10 · test 61.2% · wasm · 3.5c d3` */
export function runDescription(run: TrackedRun): string {
  const r = run.record;
  if (!r) return run.error ?? 'unreadable';
  const last = run.metrics[run.metrics.length - 1];
  const parts = [run.status?.status ?? r.status, `epoch ${last?.epoch ?? r.epochsCompleted}/${r.config.epochs}`];
  if (last && typeof last.testAcc === 'number') parts.push(`test ${(last.testAcc * 100).toFixed(1)}%`);
  parts.push(r.backend?.backend ?? r.config.backend);
  parts.push(`${formatWidth(r.genotype.normal.width)} d${r.genotype.normal.depth}`);
  if (r.slurm !== undefined) parts.push(`slurm ${slurmJobName(r.slurm)}${r.slurm.node ? ` on ${r.slurm.node}` : ''}`);
  else if (r.device !== undefined) parts.push(r.device);
  return parts.join(' · ');
}

function runTooltip(run: TrackedRun): vscode.MarkdownString {
  const md = new vscode.MarkdownString(undefined, true);
  const r = run.record;
  if (!r) {
    md.appendText(`${run.id}: ${run.error ?? 'unreadable'}`);
    return md;
  }
  md.appendMarkdown(`**${r.genotype.name}** — run \`${r.id}\`\n\n`);
  md.appendText(`${run.status?.status ?? r.status}${run.status?.reason ? `: ${run.status.reason}` : ''}\n`);
  md.appendText(`${r.config.dataset}, preset ${r.config.preset}, ${r.config.layers} cells, C=${r.config.channels}, batch ${r.config.batchSize}\n`);
  md.appendText(`normal ${formatWidth(r.genotype.normal.width)} depth ${r.genotype.normal.depth}, reduce ${formatWidth(r.genotype.reduce.width)} depth ${r.genotype.reduce.depth}\n`);
  md.appendText(`${r.params.toLocaleString('en-US')} parameters; backend ${r.backend ? `${r.backend.backend} (${r.backend.device})` : r.config.backend}\n`);
  md.appendText(`from ${r.genotype.origin}`);
  return md;
}

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode> {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;

  constructor(private readonly service: RunsService) {}

  refresh(): void {
    this.changed.fire(undefined);
  }

  getChildren(node?: RunsNode): RunsNode[] {
    if (!node) return this.experiments();
    if (node.kind !== 'experiment') return [];
    return [...node.runs.map((run) => ({ kind: 'run', run }) as const), ...node.queued.map((entry) => ({ kind: 'queued', entry }) as const)];
  }

  /** Experiments, most recent first (by their newest run or queue entry). */
  private experiments(): RunsNode[] {
    const groups = new Map<string, { runs: TrackedRun[]; queued: QueueEntry[]; latest: string }>();
    const group = (name: string) => {
      let g = groups.get(name);
      if (!g) groups.set(name, (g = { runs: [], queued: [], latest: '' }));
      return g;
    };
    const launchedRuns = new Set<string>();
    for (const run of this.service.runs()) {
      const g = group(this.service.experimentOf(run));
      g.runs.push(run);
      if (run.id > g.latest) g.latest = run.id;
      launchedRuns.add(run.id);
    }
    for (const entry of this.service.queueEntries()) {
      // A launched entry whose run folder exists is shown as that run.
      const runId = entry.launch?.runId;
      if (runId !== undefined && launchedRuns.has(runId)) continue;
      const g = group(entry.experiment);
      g.queued.push(entry);
      const key = `~${entry.queuedAt}`;
      if (key > g.latest) g.latest = key;
    }
    return [...groups.entries()]
      .sort((a, b) => (a[1].latest < b[1].latest ? 1 : a[1].latest > b[1].latest ? -1 : 0))
      .map(([name, g]) => ({ kind: 'experiment', name, runs: g.runs, queued: g.queued }));
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    switch (node.kind) {
      case 'experiment': {
        const item = new vscode.TreeItem(node.name, vscode.TreeItemCollapsibleState.Expanded);
        item.id = `experiment:${node.name}`;
        const running = node.runs.filter((r) => r.status?.status === 'running').length;
        const parts = [`${node.runs.length} run${node.runs.length === 1 ? '' : 's'}`];
        if (running > 0) parts.push(`${running} running`);
        if (node.queued.length > 0) parts.push(`${node.queued.length} queued`);
        item.description = parts.join(' · ');
        item.contextValue = 'cellscope.experiment';
        item.iconPath = new vscode.ThemeIcon('beaker');
        return item;
      }
      case 'run': {
        const { run } = node;
        const item = new vscode.TreeItem(run.record?.genotype.name ?? run.id, vscode.TreeItemCollapsibleState.None);
        item.id = `run:${run.id}`;
        item.description = runDescription(run);
        item.tooltip = runTooltip(run);
        const status = run.status?.status;
        item.contextValue = status ? `cellscope.run.${status}` : 'cellscope.run.unreadable';
        const [icon, colour] = status ? STATUS_ICONS[status] : ['warning', 'charts.orange'];
        item.iconPath = new vscode.ThemeIcon(icon, colour ? new vscode.ThemeColor(colour) : undefined);
        item.command = { command: 'cellscope.runs.openResults', title: 'Open Results', arguments: [node] };
        return item;
      }
      case 'queued': {
        const { entry } = node;
        const item = new vscode.TreeItem(entry.request.name, vscode.TreeItemCollapsibleState.None);
        item.id = `queued:${entry.id}`;
        const what = entry.request.kind === 'resume' ? `resume ${entry.request.runId}` : entry.request.args.join(' ');
        item.description = `${entry.launch ? 'starting' : 'queued'} · ${entry.request.device}`;
        item.tooltip = `${entry.launch ? 'Starting' : 'Waiting for a free slot on'} ${entry.request.device}: ${what}`;
        item.contextValue = entry.launch ? 'cellscope.starting' : 'cellscope.queued';
        item.iconPath = new vscode.ThemeIcon(entry.launch ? 'loading~spin' : 'clock');
        return item;
      }
    }
  }
}
