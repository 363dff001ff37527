/**
 * How sampled variants are written down: a stable name and a comment line
 * saying what they are, so a variant pasted into a file stays reproducible.
 * Used by `cellscope variants` and by the editor's Sample Variants command.
 */
import { cellDepth, cellWidth, formatWidth } from './metrics.js';
import type { Genotype } from './model.js';
import { printGenotype } from './printer.js';
import type { VariantKind } from './samplers.js';

const KIND_WORDS: Record<VariantKind, string> = {
  connections: 'random-connection',
  ops: 'random-operation',
  adapt: 'adapted (widest, shallowest)',
};

export function variantName(base: string, kind: VariantKind, seed: number): string {
  return kind === 'adapt' ? `${base}_adapt` : `${base}_${kind}_s${seed}`;
}

/** `normal 3c depth 4, reduce 2.5c depth 3` */
export function describeShape(genotype: Genotype): string {
  return (['normal', 'reduce'] as const)
    .map((k) => `${k} ${formatWidth(cellWidth(genotype[k]))} depth ${cellDepth(genotype[k])}`)
    .join(', ');
}

export function variantComment(base: string, kind: VariantKind, seed: number, genotype: Genotype): string {
  const seedText = kind === 'adapt' ? '' : `, seed ${seed}`;
  return `# ${KIND_WORDS[kind]} variant of ${base}${seedText}: ${describeShape(genotype)}`;
}

/** The comment line and the definition of one variant, as text for a file. */
export function variantText(base: string, kind: VariantKind, seed: number, genotype: Genotype): string {
  return `${variantComment(base, kind, seed, genotype)}\n${printGenotype(variantName(base, kind, seed), genotype)}\n`;
}
