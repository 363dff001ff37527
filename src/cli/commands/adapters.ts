/**
 * `cellscope adapters [--json]`: the GPU adapters WebGPU (Dawn) finds here,
 * i.e. what `--backend webgpu` can train on. The extension's backend pick
 * runs `cellscope adapters --json` in a child process and caches it (the
 * JSON is src/shared/adapters.ts's AdaptersReport), so that a Mac or AMD
 * user sees their GPU offered. The trainer takes the adapter from
 * CELLSCOPE_WEBGPU_ADAPTER (an index here or part of a name). Always exits 0: no adapter, or no Dawn, is an
 * ordinary answer, explained in `problems`.
 */
import { adapterLabel, type AdaptersReport } from '../../shared/adapters.js';
import { probeAdapters } from '../../train/webgpu/probe.js';
import { flagBoolean, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { printTable } from './metrics.js';

function mib(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MiB`;
}

/** The human-readable listing. */
export function formatAdapters(report: AdaptersReport, out: (text: string) => void): void {
  if (report.adapters.length > 0) {
    printTable(
      out,
      ['#', 'adapter', 'api', 'kind', 'vendor', 'architecture', 'largest tensor'],
      report.adapters.map((a) => [String(a.index), a.name, a.backend, a.kind, a.vendor || '-', a.architecture || '-', mib(a.maxStorageBufferBindingSize)]),
    );
    const hardware = report.adapters.find((a) => a.kind === 'hardware');
    out(
      hardware !== undefined
        ? `\n--backend auto trains on ${adapterLabel(hardware)} unless TensorFlow has a CUDA device; CELLSCOPE_WEBGPU_ADAPTER=<# or name> picks another.\n`
        : '\nOnly software adapters: --backend auto will not use them; --backend webgpu does (slower than wasm).\n',
    );
  } else {
    out('No WebGPU adapter found.\n');
  }
  for (const p of report.problems) out(`note: ${p}\n`);
}

export const adaptersCommand: Command = {
  name: 'adapters',
  summary: 'list the GPU adapters WebGPU finds (what --backend webgpu can train on)',
  usage: 'cellscope adapters [--json]',
  async run(argv, io) {
    const args = parseArgs(argv, { json: { type: 'boolean' } });
    if (args.positional.length > 0) throw new UsageError('adapters takes no arguments');
    const report = await probeAdapters();
    if (flagBoolean(args, 'json')) io.stdout(`${JSON.stringify(report, null, 2)}\n`);
    else formatAdapters(report, io.stdout);
    return 0;
  },
};
