/**
 * Where and what Sample Variants inserts: pure (no vscode import) so that it is
 * unit-tested on plain text. Each variant is written by the shared
 * genotype/variantText.ts (comment line + printed definition, the same text the
 * CLI prints) and goes right below the definition it was sampled from.
 */
import type { AnalyzedDocument, ResolvedGenotype } from '../genotype/document.js';
import { intermediateCount, type Cell } from '../genotype/model.js';
import { achievableConnectionShapes, type SampledVariant, type VariantKind } from '../genotype/samplers.js';
import { variantName, variantText } from '../genotype/variantText.js';

export interface VariantInsertion {
  /** UTF-16 offset of the insertion: the end of the definition's last line. */
  readonly offset: number;
  /** The text to insert there (starts with a line break; empty when nothing is new). */
  readonly text: string;
  /** Names of the inserted definitions, in order. */
  readonly names: readonly string[];
  /** Names left out because the document already defines them (sampling twice does not duplicate). */
  readonly skipped: readonly string[];
}

/**
 * The edit that puts `variants` of `source` (sampled with `kind`) below the
 * source's definition, each as a blank line, the comment line and the
 * definition. A source that is not defined in the document (a built-in named
 * from a code lens) gets its variants at the end of the document.
 */
export function variantInsertion(
  doc: AnalyzedDocument,
  source: ResolvedGenotype,
  kind: VariantKind,
  variants: readonly SampledVariant[],
): VariantInsertion {
  const text = doc.file.text;
  const inFile = doc.genotypes.some((g) => g.def === source.def);
  // Not in the file: after its last non-blank line, so trailing newlines stay trailing.
  let offset = text.trimEnd().length;
  if (inFile) {
    const lineBreak = text.slice(source.def.span.end).search(/\r?\n|\r/);
    offset = lineBreak < 0 ? text.length : source.def.span.end + lineBreak;
  }
  const eol = /\r\n/.test(text) ? '\r\n' : '\n';

  const names: string[] = [];
  const skipped: string[] = [];
  const blocks: string[] = [];
  for (const { seed, genotype } of variants) {
    const name = variantName(source.name, kind, seed);
    if (doc.byName.has(name) || names.includes(name)) {
      skipped.push(name);
      continue;
    }
    names.push(name);
    blocks.push(variantText(source.name, kind, seed, genotype).trimEnd().replace(/\r?\n/g, eol));
  }
  const separator = offset === 0 ? '' : eol + eol;
  const inserted = blocks.map((block, i) => `${i === 0 ? separator : eol + eol}${block}`).join('');
  return { offset, text: offset === 0 && inserted ? inserted + eol : inserted, names, skipped };
}

/**
 * The normal-cell widths (in c) that random-connection variants of `cell` can
 * have, for the width filter. When the cell has too many connection patterns to
 * enumerate, every half-c step from 1c (the first node always reads both
 * inputs) to Mc (every node reads only inputs) is offered.
 */
export function connectionWidthChoices(cell: Cell): number[] {
  const shapes = achievableConnectionShapes(cell);
  if (shapes) return [...new Set(shapes.map((s) => s.width))].sort((a, b) => a - b);
  const widths: number[] = [];
  for (let w = 1; w <= intermediateCount(cell); w += 0.5) widths.push(w);
  return widths;
}

/** The file's definition whose text contains `offset` (the genotype under the cursor). */
export function genotypeAt(doc: AnalyzedDocument, offset: number): ResolvedGenotype | undefined {
  return doc.genotypes.find((g) => g.def.span.start <= offset && offset <= g.def.span.end);
}
