import { cellMetrics, CIFAR_EVALUATION, formatCount, formatWidth, networkCost, type NetworkSize } from '../../genotype/metrics.js';
import { flagBoolean, flagNumber, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { loadGenotypes } from '../resolve.js';

/** The documented `metrics --json` record (README, "Command line"). */
export interface MetricsRecord {
  name: string;
  normal: { width: number; depth: number; deadNodes: number[] };
  reduce: { width: number; depth: number; deadNodes: number[] };
  params: number;
  paramsWithAuxiliary: number;
  macs: number;
}

export const metricsCommand: Command = {
  name: 'metrics',
  summary: 'width, depth, parameters and multiply-accumulates of genotypes',
  usage: 'cellscope metrics FILE[#NAME]|NAME [--channels C] [--layers L] [--classes K] [--input-size 32|64] [--json]',
  async run(argv, io) {
    const args = parseArgs(argv, {
      channels: { type: 'int', min: 1, max: 4096 },
      layers: { type: 'int', min: 1, max: 1000 },
      classes: { type: 'int', min: 1, max: 100000 },
      'input-size': { type: 'int', min: 8, max: 1024 },
      json: { type: 'boolean' },
    });
    if (args.positional.length !== 1) throw new UsageError('metrics needs exactly one FILE[#NAME] or built-in NAME');
    const size: NetworkSize = {
      channels: flagNumber(args, 'channels') ?? CIFAR_EVALUATION.channels,
      layers: flagNumber(args, 'layers') ?? CIFAR_EVALUATION.layers,
      classes: flagNumber(args, 'classes') ?? CIFAR_EVALUATION.classes,
      inputSize: flagNumber(args, 'input-size') ?? 32,
    };
    const records: MetricsRecord[] = loadGenotypes(args.positional[0]!, io.cwd).map((g) => {
      const normal = cellMetrics(g.genotype.normal);
      const reduce = cellMetrics(g.genotype.reduce);
      const cost = networkCost(g.genotype, size);
      return {
        name: g.name,
        normal: { width: normal.width, depth: normal.depth, deadNodes: normal.deadNodes },
        reduce: { width: reduce.width, depth: reduce.depth, deadNodes: reduce.deadNodes },
        params: cost.params,
        paramsWithAuxiliary: cost.paramsWithAuxiliary,
        macs: cost.macs,
      };
    });
    if (flagBoolean(args, 'json')) {
      io.stdout(`${JSON.stringify(records, null, 2)}\n`);
      return 0;
    }
    io.stdout(`# C=${size.channels}, ${size.layers} cells, ${size.classes} classes, ${size.inputSize}×${size.inputSize}\n`);
    const rows = records.map((r) => [
      r.name,
      `${formatWidth(r.normal.width)} / ${r.normal.depth}${r.normal.deadNodes.length ? ` (dead ${r.normal.deadNodes.join(',')})` : ''}`,
      `${formatWidth(r.reduce.width)} / ${r.reduce.depth}${r.reduce.deadNodes.length ? ` (dead ${r.reduce.deadNodes.join(',')})` : ''}`,
      `${r.params.toLocaleString('en-US')} (${formatCount(r.params)})`,
      formatCount(r.paramsWithAuxiliary),
      formatCount(r.macs),
    ]);
    printTable(io.stdout, ['genotype', 'normal width/depth', 'reduce width/depth', 'params', 'params+aux', 'MACs'], rows);
    return 0;
  },
};

export function printTable(out: (t: string) => void, header: string[], rows: string[][]): void {
  // Columns count code points, not UTF-16 units: a name such as 𝔘_δ2 takes four columns, not five.
  const columns = (text: string) => [...text].length;
  const widths = header.map((h, i) => Math.max(columns(h), ...rows.map((r) => columns(r[i]!))));
  const line = (cells: string[]) => cells.map((c, i) => c + ' '.repeat(widths[i]! - columns(c))).join('  ').trimEnd();
  out(`${line(header)}\n`);
  for (const r of rows) out(`${line(r)}\n`);
}
