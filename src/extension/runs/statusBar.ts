/**
 * Training at a glance: a status bar item counting running and queued runs
 * (click: the Runs view), and for each training action a cancellable progress
 * notification that follows its runs until they have all finished; cancelling
 * it cancels them (running ones are signalled, waiting ones leave the queue).
 */
import * as vscode from 'vscode';
import type { QueueEntry } from './queue.js';
import type { RunsService } from './runsService.js';
import { RUNS_VIEW_ID } from './runsView.js';

export function registerTrainingStatusBar(service: RunsService): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('cellscope.training', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Cellscope Training';
  item.command = `${RUNS_VIEW_ID}.focus`;
  const update = () => {
    const running = service.runs().filter((r) => r.status?.status === 'running');
    const queued = service.queueEntries().filter((e) => !e.launch).length;
    if (running.length === 0 && queued === 0) {
      item.hide();
      return;
    }
    const parts: string[] = [];
    if (running.length > 0) parts.push(`${running.length} running`);
    if (queued > 0) parts.push(`${queued} queued`);
    item.text = `$(beaker) ${parts.join(' · ')}`;
    const lines = running.map((r) => {
      const last = r.metrics[r.metrics.length - 1];
      return `${r.record?.genotype.name ?? r.id}: ${service.activity(r.id) ?? `epoch ${last?.epoch ?? 0}/${r.record?.config.epochs ?? '?'}`}`;
    });
    item.tooltip = ['Cellscope training', ...lines, queued > 0 ? `${queued} waiting in the queue` : ''].filter(Boolean).join('\n');
    item.show();
  };
  update();
  const sub = service.onDidChange(update);
  return vscode.Disposable.from(item, sub);
}

/**
 * Shows one notification for the runs of `entries` (just queued): how many
 * have finished, the current epoch of the running ones; resolves when every
 * entry's trainer has exited.
 */
export function followInNotification(service: RunsService, title: string, entries: readonly QueueEntry[]): void {
  const pending = new Set(entries.map((e) => e.id));
  const runIds = new Map<string, string>();
  const total = entries.length;
  void vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `Cellscope: ${title}`, cancellable: true },
    (progress, token) =>
      new Promise<void>((resolve) => {
        const subs: vscode.Disposable[] = [];
        const finish = () => {
          for (const s of subs) s.dispose();
          resolve();
        };
        const report = () => {
          for (const e of service.queueEntries()) if (pending.has(e.id) && e.launch?.runId) runIds.set(e.id, e.launch.runId);
          const done = total - pending.size;
          const epochs: string[] = [];
          for (const id of pending) {
            const runId = runIds.get(id);
            const run = runId ? service.run(runId) : undefined;
            if (run?.status?.status === 'running') {
              // The smoothness probe between epochs (--hessian-every) writes nothing until it ends: say so rather than freeze.
              epochs.push(`${run.record?.genotype.name}: ${service.activity(run.id) ?? `epoch ${run.metrics.length}/${run.record?.config.epochs ?? '?'}`}`);
            }
          }
          progress.report({ message: `${done}/${total} finished${epochs.length ? ` — ${epochs.join(', ')}` : ''}` });
          if (pending.size === 0) finish();
        };
        subs.push(
          service.onDidChange(report),
          service.onDidFinishEntry(({ entry, runId }) => {
            if (!pending.has(entry.id)) return;
            if (runId) runIds.set(entry.id, runId);
            pending.delete(entry.id);
            progress.report({ increment: 100 / total });
            report();
          }),
          token.onCancellationRequested(() => {
            for (const id of pending) {
              const runId = runIds.get(id);
              try {
                if (runId && service.run(runId)?.status?.status === 'running') service.cancel(runId);
                else service.dequeue(id);
              } catch {
                // already finished in the meantime
              }
            }
            finish();
          }),
        );
        report();
      }),
  );
}
