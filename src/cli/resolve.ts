/**
 * Turns a genotype reference from the command line into genotypes: reads the
 * file, analyses it, picks the name or falls back to the built-in library, and
 * applies a `~kind:seed` variant spec. Errors name the file and what is wrong.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { analyze, findGenotype, type AnalyzedDocument } from '../genotype/document.js';
import { builtin, builtinNames } from '../genotype/library.js';
import type { Genotype } from '../genotype/model.js';
import { parseGenotypeRef, RefError } from '../genotype/ref.js';
import { sampleVariant } from '../genotype/samplers.js';
import { nearestName } from '../genotype/suggest.js';
import { LineIndex } from '../genotype/ast.js';

export interface LoadedGenotype {
  readonly name: string;
  readonly genotype: Genotype;
  /** Where it came from: a file path or 'built-in'. */
  readonly origin: string;
  /** The text that defines it (as printed by the core when it is a variant or built-in). */
  readonly variant?: { readonly kind: string; readonly seed: number; readonly of: string };
}

export class ResolveError extends Error {}

function isFileAt(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** A bare word is a file when it exists, has a genotype/Python extension or a path separator; else a built-in name. */
function looksLikeFile(s: string, cwd: string): boolean {
  return existsSync(resolvePath(cwd, s)) || /\.(genotype|py)$/.test(s) || /[\\/]/.test(s);
}

export function readDocument(file: string, cwd: string): AnalyzedDocument {
  const path = resolvePath(cwd, file);
  if (!existsSync(path)) throw new ResolveError(`${file}: no such file`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ResolveError(`${file}: cannot read (${(error as Error).message})`);
  }
  return analyze(text);
}

/** Every genotype a reference names (a bare FILE names all of its genotypes). */
export function loadGenotypes(refText: string, cwd: string): LoadedGenotype[] {
  let ref;
  try {
    ref = parseGenotypeRef(refText, (s) => looksLikeFile(s, cwd), (s) => isFileAt(resolvePath(cwd, s)));
  } catch (error) {
    if (error instanceof RefError) throw new ResolveError(error.message);
    throw error;
  }
  let base: LoadedGenotype[];
  if (ref.file !== undefined) {
    const doc = readDocument(ref.file, cwd);
    const index = new LineIndex(doc.file.text);
    const where = (offset: number) => {
      const p = index.positionAt(offset);
      return `${ref.file}:${p.line + 1}:${p.character + 1}`;
    };
    const wanted = ref.name !== undefined ? [findGenotype(doc, ref.name)] : doc.genotypes;
    if (ref.name !== undefined && wanted[0] === undefined) {
      const hint = nearestName(ref.name, [...doc.byName.keys(), ...builtinNames()]);
      throw new ResolveError(`${ref.file}: no genotype named '${ref.name}'${hint ? ` (did you mean '${hint}'?)` : ''}`);
    }
    if (wanted.length === 0) throw new ResolveError(`${ref.file}: no genotypes in this file`);
    base = wanted.map((g) => {
      if (!g!.genotype) {
        const firstError = doc.diagnostics.find((d) => d.severity === 'error' && d.span.start >= g!.def.span.start && d.span.end <= g!.def.span.end);
        const detail = firstError ? `${where(firstError.span.start)}: ${firstError.message}` : `${where(g!.def.span.start)}: incomplete genotype`;
        throw new ResolveError(`genotype '${g!.name}' is not valid: ${detail}`);
      }
      return { name: g!.name, genotype: g!.genotype, origin: ref.file! };
    });
  } else {
    const entry = builtin(ref.name!);
    if (!entry) {
      const hint = nearestName(ref.name!, builtinNames());
      throw new ResolveError(`'${ref.name}' is neither a file nor a built-in genotype${hint ? ` (did you mean '${hint}'?)` : ''}; see 'cellscope library'`);
    }
    base = [{ name: entry.name, genotype: entry.genotype, origin: 'built-in' }];
  }
  const variant = ref.variant;
  if (!variant) return base;
  return base.map((g) => ({
    name: `${g.name}_${variant.kind}_s${variant.seed}`,
    genotype: sampleVariant(g.genotype, variant.kind, variant.seed),
    origin: g.origin,
    variant: { kind: variant.kind, seed: variant.seed, of: g.name },
  }));
}

/** Exactly one genotype, for commands that take one. */
export function loadGenotype(refText: string, cwd: string): LoadedGenotype {
  const all = loadGenotypes(refText, cwd);
  if (all.length !== 1) {
    throw new ResolveError(`'${refText}' names ${all.length} genotypes (${all.map((g) => g.name).join(', ')}); pick one with FILE#NAME`);
  }
  return all[0]!;
}
