import { cellMetrics, formatWidth } from '../../genotype/metrics.js';
import { LIBRARY } from '../../genotype/library.js';
import { printGenotype } from '../../genotype/printer.js';
import { flagBoolean, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { printTable } from './metrics.js';

export const libraryCommand: Command = {
  name: 'library',
  summary: 'list the built-in genotypes (or print them with --print)',
  usage: 'cellscope library [--print] [--json]',
  async run(argv, io) {
    const args = parseArgs(argv, { print: { type: 'boolean' }, json: { type: 'boolean' } });
    if (args.positional.length > 0) throw new UsageError('library takes no arguments');
    if (flagBoolean(args, 'json')) {
      io.stdout(`${JSON.stringify(LIBRARY.map((e) => ({ name: e.name, aliases: e.aliases ?? [], paper: e.paper, source: e.source })), null, 2)}\n`);
    } else if (flagBoolean(args, 'print')) {
      io.stdout(LIBRARY.map((e) => `# ${e.paper}\n# source: ${e.source}\n${printGenotype(e.name, e.genotype)}\n`).join('\n'));
    } else {
      const rows = LIBRARY.map((e) => {
        const n = cellMetrics(e.genotype.normal);
        return [e.name + (e.aliases?.length ? ` (${e.aliases.join(', ')})` : ''), `${formatWidth(n.width)} / ${n.depth}`, e.paper];
      });
      printTable(io.stdout, ['name', 'normal width/depth', 'paper'], rows);
    }
    return 0;
  },
};
