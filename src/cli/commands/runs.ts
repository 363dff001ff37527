/**
 * `cellscope runs`: the training runs under --runs (default ./runs), with the
 * status a dead trainer implies: a run still marked running whose process is
 * gone is listed as failed. run.json is rewritten only with --mark-failed.
 */
import { formatWidth } from '../../genotype/metrics.js';
import type { EffectiveStatus, MetricsLine, RunRecord } from '../../shared/runTypes.js';
import { listRuns, openRun } from '../../runs/runStore.js';
import { flagBoolean, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { printTable } from './metrics.js';
import { RUNS_FLAG, runsDirOf } from './train.js';

/** One entry of `runs --json`: run.json with the effective status, plus where it is and its last epoch. */
export type RunsJsonEntry =
  | (RunRecord & { dir: string; recordedStatus: RunRecord['status']; lastMetrics: MetricsLine | null; problems?: readonly string[] })
  | { id: string; dir: string; error: string };

function percent(x: number | undefined): string {
  return x === undefined || x === null ? '-' : `${(x * 100).toFixed(2)}%`;
}

export const runsCommand: Command = {
  name: 'runs',
  summary: 'list training runs and their status',
  usage: 'cellscope runs [--runs DIR] [--json] [--mark-failed]\n--mark-failed records the failure in run.json of runs whose trainer died.',
  async run(argv, io) {
    const args = parseArgs(argv, { runs: RUNS_FLAG, json: { type: 'boolean' }, 'mark-failed': { type: 'boolean' } });
    if (args.positional.length !== 0) throw new UsageError('runs takes no arguments');
    const runsDir = runsDirOf(args, io.cwd);
    const listing = listRuns(runsDir);
    if (flagBoolean(args, 'mark-failed')) {
      for (const entry of listing) {
        if (entry.effective?.orphaned) openRun(entry.dir).update({ status: 'failed', reason: entry.effective.reason! });
      }
    }
    if (flagBoolean(args, 'json')) {
      const out: RunsJsonEntry[] = listing.map((entry) => {
        if (entry.record === undefined) return { id: entry.id, dir: entry.dir, error: entry.error! };
        const effective: EffectiveStatus = entry.effective!;
        const { reason: _recordedReason, ...rest } = entry.record;
        return {
          ...rest,
          status: effective.status,
          ...(effective.reason !== undefined ? { reason: effective.reason } : {}),
          recordedStatus: entry.record.status,
          dir: entry.dir,
          lastMetrics: entry.lastMetrics ?? null,
          ...(entry.problems !== undefined ? { problems: entry.problems } : {}),
        };
      });
      io.stdout(`${JSON.stringify(out, null, 2)}\n`);
      return 0;
    }
    if (listing.length === 0) {
      io.stdout(`no runs in ${runsDir}\n`);
      return 0;
    }
    const rows = listing.map((entry) => {
      const r = entry.record;
      if (r === undefined) return [entry.id, 'broken', '-', '-', '-', '-', '-', '-'];
      return [
        r.id,
        entry.effective!.status,
        `${r.genotype.name} (${formatWidth(r.genotype.normal.width)}, depth ${r.genotype.normal.depth})`,
        r.config.dataset,
        `${r.epochsCompleted}/${r.config.epochs}`,
        percent(entry.lastMetrics?.testAcc),
        r.params.toLocaleString('en-US'),
        r.backend?.backend ?? '-',
      ];
    });
    printTable(io.stdout, ['run', 'status', 'genotype (normal cell)', 'dataset', 'epochs', 'test acc', 'params', 'backend'], rows);
    for (const entry of listing) {
      const why = entry.error ?? entry.effective?.reason;
      if (why !== undefined && (entry.error !== undefined || entry.effective?.status === 'failed')) io.stdout(`  ${entry.id}: ${why}\n`);
      for (const problem of entry.problems ?? []) io.stdout(`  ${entry.id}: skipped ${problem}\n`);
    }
    return 0;
  },
};
