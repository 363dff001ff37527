/**
 * `cellscope diagram`: draws genotypes as SVG with the same renderer as the
 * cell panel (src/render/cellSvg.ts). One genotype to a file (or stdout), or
 * every built-in to a folder with an index.html gallery for reading in a
 * browser. PNG is left to the panel's export: rasterising here would need a
 * browser or a native canvas.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LIBRARY, type LibraryEntry } from '../../genotype/library.js';
import { cellDepth, cellWidth, formatWidth } from '../../genotype/metrics.js';
import { renderGenotypeSvg } from '../../render/cellSvg.js';
import { escapeXml } from '../../render/svg.js';
import { flagBoolean, flagString, parseArgs, UsageError } from '../args.js';
import type { CliIO, Command } from '../command.js';
import { loadGenotype, ResolveError } from '../resolve.js';

const USAGE = [
  'cellscope diagram FILE#NAME|FILE|NAME [--out cell.svg] [--compare FILE#NAME|NAME]',
  'cellscope diagram --all-builtins --out DIR',
  '',
  'Draws the normal and reduction cells side by side as SVG (stdout without --out).',
  '--compare marks what differs from a second genotype (e.g. the original of a variant).',
  '--all-builtins writes one SVG per built-in genotype and an index.html gallery into DIR.',
].join('\n');

/** File name of a built-in's drawing in the gallery (names are identifiers, but be safe). */
export function galleryFileName(name: string): string {
  return `${name.replace(/[^A-Za-z0-9_.-]/g, '_')}.svg`;
}

function cellSummary(entry: LibraryEntry, kind: 'normal' | 'reduce'): string {
  const cell = entry.genotype[kind];
  return `${formatWidth(cellWidth(cell))}, depth ${cellDepth(cell)}`;
}

/** The gallery page: every built-in with its paper, source and drawing. Static, no scripts, no remote content. */
export function galleryHtml(entries: readonly LibraryEntry[]): string {
  const sections = entries.map((entry) => {
    const file = galleryFileName(entry.name);
    const aliases = entry.aliases?.length ? ` <span class="aliases">(also ${escapeXml(entry.aliases.join(', '))})</span>` : '';
    const note = entry.note ? `\n    <p class="note">${escapeXml(entry.note)}</p>` : '';
    return `  <section id="${escapeXml(entry.name)}">
    <h2>${escapeXml(entry.name)}${aliases}</h2>
    <p>${escapeXml(entry.paper)}<br>Source: ${escapeXml(entry.source)}</p>
    <p>Normal cell: ${escapeXml(cellSummary(entry, 'normal'))}. Reduction cell: ${escapeXml(cellSummary(entry, 'reduce'))}.</p>${note}
    <a href="${escapeXml(file)}"><img src="${escapeXml(file)}" alt="${escapeXml(`${entry.name}: normal and reduction cells`)}"></a>
  </section>`;
  });
  const toc = entries.map((e) => `<a href="#${escapeXml(e.name)}">${escapeXml(e.name)}</a>`).join(' · ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src 'self'; style-src 'unsafe-inline'">
  <title>Cellscope: built-in genotypes</title>
  <style>
    body { font-family: system-ui, sans-serif; margin: 2rem; color: #1f1f1f; background: #fafafa; }
    section { margin: 2rem 0; padding-top: 1rem; border-top: 1px solid #ddd; }
    img { max-width: 100%; height: auto; background: #fff; border: 1px solid #e5e5e5; }
    .aliases, .note { color: #6b6b6b; font-weight: normal; }
  </style>
</head>
<body>
  <h1>Built-in genotypes</h1>
  <p>Normal and reduction cells of every built-in genotype, drawn by <code>cellscope diagram</code>. Only concat nodes feed c<sub>k</sub>; dead nodes are faded; the longest path (the cell's depth) is highlighted; width and depth follow Shu, Wang &amp; Cai (ICLR 2020).</p>
  <p>${toc}</p>
${sections.join('\n')}
</body>
</html>
`;
}

function writeFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text);
}

function writeGallery(dir: string, io: CliIO): number {
  mkdirSync(dir, { recursive: true });
  for (const entry of LIBRARY) {
    writeFileSync(join(dir, galleryFileName(entry.name)), renderGenotypeSvg(entry.genotype, { title: entry.name }));
  }
  writeFileSync(join(dir, 'index.html'), galleryHtml(LIBRARY));
  io.stdout(`wrote ${LIBRARY.length} diagrams and index.html to ${dir}\n`);
  return 0;
}

export const diagramCommand: Command = {
  name: 'diagram',
  summary: 'draw genotype cells as SVG (one genotype, or a gallery of the built-ins)',
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, {
      out: { type: 'string' },
      compare: { type: 'string' },
      'all-builtins': { type: 'boolean' },
    });
    const out = flagString(args, 'out');
    if (flagBoolean(args, 'all-builtins')) {
      if (args.positional.length > 0) throw new UsageError('--all-builtins takes no genotype');
      if (flagString(args, 'compare') !== undefined) throw new UsageError('--all-builtins cannot be combined with --compare');
      if (out === undefined) throw new UsageError('--all-builtins needs --out DIR');
      return writeGallery(resolve(io.cwd, out), io);
    }
    if (args.positional.length !== 1) throw new UsageError('diagram needs exactly one FILE#NAME, FILE or built-in NAME (or --all-builtins)');
    try {
      const loaded = loadGenotype(args.positional[0]!, io.cwd);
      const compareRef = flagString(args, 'compare');
      const other = compareRef !== undefined ? loadGenotype(compareRef, io.cwd) : undefined;
      const svg = renderGenotypeSvg(loaded.genotype, {
        title: loaded.name,
        ...(other ? { compareWith: other.genotype, compareName: other.name } : {}),
      });
      if (out === undefined) {
        io.stdout(`${svg}\n`);
      } else {
        writeFile(resolve(io.cwd, out), svg);
        io.stdout(`wrote ${out}\n`);
      }
      return 0;
    } catch (error) {
      if (error instanceof ResolveError) {
        io.stderr(`cellscope diagram: ${error.message}\n`);
        return 1;
      }
      throw error;
    }
  },
};
