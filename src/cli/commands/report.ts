/**
 * `cellscope report RUNS... --out report.html`: the wide-vs-narrow report of
 * some runs (or of every run under --runs, or of an experiment folder) as one
 * self-contained HTML file: charts and cell diagrams inline, no scripts, no
 * fetches, readable offline.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { renderReport } from '../../render/report.js';
import { loadReportRuns } from '../../runs/reportRuns.js';
import { findRunDir, listRuns, RunStoreError } from '../../runs/runStore.js';
import { flagNumber, flagString, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { RUNS_FLAG, runsDirOf } from './train.js';

export const reportCommand: Command = {
  name: 'report',
  summary: 'write the wide-vs-narrow report of runs as one self-contained HTML file',
  usage: [
    'cellscope report [RUN...] [--out report.html] [--title TEXT] [--loss-threshold X] [--runs DIR]',
    'RUN: a run id (or unique prefix) under --runs (default ./runs), or a run directory; none: every run under --runs.',
    'The report: cells by width, convergence curves, final test error table, epochs-to-loss vs width and depth,',
    'loss contours and gradient-variance maps of the runs that have a landscape (cellscope landscape RUN).',
  ].join('\n'),
  async run(argv, io) {
    const args = parseArgs(argv, {
      out: { type: 'string' },
      title: { type: 'string' },
      'loss-threshold': { type: 'number', min: 0 },
      runs: RUNS_FLAG,
    });
    const runsDir = runsDirOf(args, io.cwd);
    let dirs: string[];
    try {
      dirs =
        args.positional.length > 0
          ? args.positional.map((ref) => findRunDir(ref, runsDir, io.cwd))
          : listRuns(runsDir).flatMap((r) => {
              // One broken run leaves the others reported; it is named on stderr.
              if (r.record === undefined) io.stderr(`cellscope report: skipping ${r.id}: ${r.error ?? 'unreadable'}\n`);
              return r.record !== undefined ? [r.dir] : [];
            });
    } catch (error) {
      if (!(error instanceof RunStoreError)) throw error;
      io.stderr(`cellscope report: ${error.message}\n`);
      return 1;
    }
    if (dirs.length === 0) throw new UsageError(`no runs to report (none under ${runsDir}); name RUNs or --runs DIR`);
    const runs = loadReportRuns(dirs);
    const threshold = flagNumber(args, 'loss-threshold');
    const html = renderReport({
      title: flagString(args, 'title') ?? `Wide vs narrow: ${[...new Set(runs.map((r) => r.record.genotype.variant?.of ?? r.record.genotype.name))].join(', ')}`,
      runs,
      generatedAt: new Date().toISOString(),
      ...(threshold !== undefined ? { lossThreshold: threshold } : {}),
    });
    const out = resolve(io.cwd, flagString(args, 'out') ?? 'report.html');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, html);
    io.stdout(`${out}\n`);
    return 0;
  },
};
