/**
 * Training from the editor, wired together: the runs service (queue + run
 * folders), the Runs view and its actions, the status bar, result panels and
 * the Train commands. `registerTraining` is called from activate().
 */
import * as vscode from 'vscode';
import { RESULTS_PANEL_VIEW_TYPE } from '../../shared/protocol.js';
import { ResultsPanels } from './resultsPanel.js';
import { RunsService } from './runsService.js';
import { RUNS_VIEW_ID, RunsTreeProvider, type RunsNode } from './runsView.js';
import { registerTrainingStatusBar } from './statusBar.js';
import { registerTrainCommands } from './trainCommands.js';

function isNode(value: unknown): value is RunsNode {
  return typeof value === 'object' && value !== null && 'kind' in value;
}

/** The runs a view command applies to: the clicked node, or the selection when it includes it. */
function runIdsOf(node: unknown, selection: unknown): string[] {
  const nodes = Array.isArray(selection) && selection.some((n) => n === node) ? selection.filter(isNode) : isNode(node) ? [node] : [];
  const ids: string[] = [];
  for (const n of nodes) {
    if (n.kind === 'run') ids.push(n.run.id);
    else if (n.kind === 'experiment') ids.push(...n.runs.map((r) => r.id));
  }
  return [...new Set(ids)];
}

function report(error: unknown): void {
  void vscode.window.showErrorMessage(`Cellscope: ${error instanceof Error ? error.message : String(error)}`);
}

export function registerTraining(context: vscode.ExtensionContext, output: vscode.LogOutputChannel): RunsService {
  const trainerLog = vscode.window.createOutputChannel('Cellscope Trainer');
  const service = new RunsService(context.extensionUri, trainerLog);
  const tree = new RunsTreeProvider(service);
  const view = vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });
  const panels = new ResultsPanels(context.extensionUri, service);

  const onRun = (name: string, action: (runId: string) => void | Promise<void>) => async (node?: unknown, selection?: unknown) => {
    const ids = runIdsOf(node, selection);
    output.info(`${name}: ${ids.length > 0 ? ids.join(', ') : `no run (argument ${node === undefined ? 'undefined' : isNode(node) ? node.kind : typeof node})`}`);
    for (const id of ids) {
      try {
        await action(id);
      } catch (error) {
        report(error);
      }
    }
  };

  context.subscriptions.push(
    trainerLog,
    service,
    view,
    panels,
    service.onDidChange(() => tree.refresh()),
    registerTrainingStatusBar(service),
    registerTrainCommands(service, context.workspaceState),
    vscode.window.registerWebviewPanelSerializer(RESULTS_PANEL_VIEW_TYPE, {
      deserializeWebviewPanel: async (panel, state) => panels.restore(panel, state),
    }),
    vscode.commands.registerCommand('cellscope.runs.openResults', (node?: unknown, selection?: unknown) => {
      const ids = runIdsOf(node, selection ?? view.selection);
      if (ids.length > 0) panels.open(ids);
    }),
    vscode.commands.registerCommand('cellscope.runs.cancel', onRun('cancel', (id) => service.cancel(id))),
    vscode.commands.registerCommand('cellscope.runs.resume', onRun('resume', async (id) => void (await service.resume(id)))),
    vscode.commands.registerCommand(
      'cellscope.runs.delete',
      async (node?: unknown, selection?: unknown) => {
        const ids = runIdsOf(node, selection);
        if (ids.length === 0) return;
        const what = ids.length === 1 ? `run ${ids[0]}` : `${ids.length} runs`;
        const ok = await vscode.window.showWarningMessage(`Delete ${what} and all its files (metrics, checkpoint, log)?`, { modal: true }, 'Delete');
        if (ok !== 'Delete') return;
        for (const id of ids) {
          try {
            service.delete(id);
          } catch (error) {
            report(error);
          }
        }
      },
    ),
    vscode.commands.registerCommand(
      'cellscope.runs.revealFolder',
      onRun('reveal folder', async (id) => {
        const run = service.run(id);
        if (run) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(run.dir));
      }),
    ),
    vscode.commands.registerCommand(
      'cellscope.runs.showLog',
      onRun('show log', async (id) => {
        const run = service.run(id);
        if (run) await vscode.window.showTextDocument(vscode.Uri.file(`${run.dir}/log.txt`), { preview: true, preserveFocus: false });
      }),
    ),
    vscode.commands.registerCommand('cellscope.runs.removeQueued', (node?: unknown) => {
      if (isNode(node) && node.kind === 'queued') service.dequeue(node.entry.id);
    }),
    vscode.commands.registerCommand('cellscope.runs.refresh', () => service.refresh()),
    vscode.commands.registerCommand('cellscope.runs.showTrainerOutput', () => trainerLog.show(true)),
  );
  return service;
}
