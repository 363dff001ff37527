import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineIndex } from '../../genotype/ast.js';
import { analyze } from '../../genotype/document.js';
import { flagBoolean, flagList, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';

/** `cellscope check FILE…`: the editor's diagnostics, one line each, for CI and scripts. */
export const checkCommand: Command = {
  name: 'check',
  summary: 'validate genotype files (file:line:col: severity code message; exit 1 on errors)',
  usage: 'cellscope check FILE... [--json] [--extra-ops op1,op2]',
  async run(argv, io) {
    const args = parseArgs(argv, { json: { type: 'boolean' }, 'extra-ops': { type: 'list' } });
    if (args.positional.length === 0) throw new UsageError('check needs at least one FILE');
    const extraOps = flagList(args, 'extra-ops') ?? [];
    const all: object[] = [];
    let errors = 0;
    for (const file of args.positional) {
      const path = resolve(io.cwd, file);
      if (!existsSync(path)) {
        io.stderr(`${file}: no such file\n`);
        errors++;
        continue;
      }
      const text = readFileSync(path, 'utf8');
      const doc = analyze(text, { extraOps });
      const index = new LineIndex(text);
      const sorted = [...doc.diagnostics].sort((a, b) => a.span.start - b.span.start || a.span.end - b.span.end);
      for (const d of sorted) {
        const start = index.positionAt(d.span.start);
        const end = index.positionAt(d.span.end);
        if (d.severity === 'error') errors++;
        if (flagBoolean(args, 'json')) {
          all.push({
            file,
            line: start.line + 1,
            column: start.character + 1,
            endLine: end.line + 1,
            endColumn: end.character + 1,
            severity: d.severity,
            code: d.code,
            message: d.message,
          });
        } else {
          io.stdout(`${file}:${start.line + 1}:${start.character + 1}: ${d.severity} ${d.code} ${d.message}\n`);
        }
      }
    }
    if (flagBoolean(args, 'json')) io.stdout(`${JSON.stringify(all, null, 2)}\n`);
    return errors > 0 ? 1 : 0;
  },
};
