import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LineIndex } from '../../genotype/ast.js';
import { analyze } from '../../genotype/document.js';
import { flagBoolean, flagList, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';

/** Folders a recursive check never enters, besides hidden ones (.git, .venv…): dependencies and caches. */
const SKIPPED_FOLDERS = new Set(['node_modules', '__pycache__']);

/**
 * The .genotype files under a folder, sorted, as paths that start with the
 * folder as the user gave it. Symbolic links to folders are not followed (a link
 * back up would never end). Only .genotype files: a folder of a Python
 * project holds many .py files that are not genotypes; name a genotypes.py
 * on the command line to check it.
 */
function genotypeFilesUnder(folder: string, shownAs: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, shown: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.isDirectory()) {
        if (!entry.name.startsWith('.') && !SKIPPED_FOLDERS.has(entry.name)) walk(join(dir, entry.name), join(shown, entry.name));
      } else if (entry.isFile() && entry.name.endsWith('.genotype')) out.push(join(shown, entry.name));
    }
  };
  walk(folder, shownAs);
  return out;
}

/** `cellscope check FILE…`: the editor's diagnostics, one line each, for CI and scripts. A FOLDER is checked for its .genotype files, recursively. */
export const checkCommand: Command = {
  name: 'check',
  summary: 'validate genotype files (file:line:col: severity code message; exit 1 on errors)',
  usage: 'cellscope check FILE|FOLDER... [--json] [--extra-ops op1,op2]\nA FOLDER means every .genotype file under it.',
  async run(argv, io) {
    const args = parseArgs(argv, { json: { type: 'boolean' }, 'extra-ops': { type: 'list' } });
    if (args.positional.length === 0) throw new UsageError('check needs at least one FILE');
    const extraOps = flagList(args, 'extra-ops') ?? [];
    const all: object[] = [];
    let errors = 0;
    const files: string[] = [];
    for (const given of args.positional) {
      const path = resolve(io.cwd, given);
      let isFolder: boolean;
      try {
        isFolder = statSync(path).isDirectory();
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        io.stderr(`${given}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? (error as Error).message})`}\n`);
        errors++;
        continue;
      }
      if (!isFolder) {
        files.push(given);
        continue;
      }
      let found: string[];
      try {
        found = genotypeFilesUnder(path, given);
      } catch (error) {
        io.stderr(`${given}: cannot list the folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})\n`);
        errors++;
        continue;
      }
      // A folder with nothing to check is a mistake in the command (a wrong path in CI would otherwise pass).
      if (found.length === 0) {
        io.stderr(`${given}: a folder with no .genotype files in it\n`);
        errors++;
      }
      files.push(...found);
    }
    for (const file of files) {
      const path = resolve(io.cwd, file);
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        io.stderr(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})\n`);
        errors++;
        continue;
      }
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
