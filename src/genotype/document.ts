/**
 * A genotype file as every feature sees it: parsed, validated, and with each
 * name resolved to the genotype it stands for (following alias chains into the
 * file or into the built-in library). The CLI's FILE#NAME, the language server
 * (hover, diagrams, code lenses) and the trainer all start from `analyze`.
 */
import type { AliasDef, Diagnostic, GenotypeDef, GenotypeFile, Span } from './ast.js';
import { builtin, type LibraryEntry } from './library.js';
import type { Genotype } from './model.js';
import type { NamedDef } from './names.js';
import { genotypeOf, parse } from './parser.js';
import { checkFile, type GenotypeCheck, type ValidationOptions } from './validate.js';

export interface ResolvedGenotype {
  readonly name: string;
  /** The definition in the file; for a built-in, a stand-in alias with empty spans at offset 0. */
  readonly def: GenotypeDef | AliasDef;
  /**
   * The genotype, or undefined when broken: the definition (or, for an alias,
   * the alias itself or the genotype it leads to) has a syntax or semantic
   * error. Warnings (dead nodes, `none` edges) leave it defined, so a defined
   * genotype is always safe to measure, draw and train.
   */
  readonly genotype?: Genotype;
  /** For aliases that resolve: the final target's name (a built-in's canonical name). */
  readonly aliasOf?: string;
  /** Set when the name resolves to the built-in library (directly or through aliases). */
  readonly builtin?: LibraryEntry;
}

export interface AnalyzedDocument {
  readonly file: GenotypeFile;
  /** Every genotype and alias definition, in document order (later duplicates included). */
  readonly genotypes: ResolvedGenotype[];
  /** Name → resolution of its first definition. */
  readonly byName: ReadonlyMap<string, ResolvedGenotype>;
  readonly knownOps: ReadonlySet<string>;
  /** Syntax and semantic diagnostics, in document order. */
  readonly diagnostics: Diagnostic[];
}

/**
 * Definitions containing a syntax error. Definitions come in document order,
 * so each diagnostic finds its definition by binary search: no scan of all
 * diagnostics per definition.
 */
function defsWithSyntaxErrors(defs: readonly NamedDef[], diagnostics: readonly Diagnostic[]): Set<NamedDef> {
  const sorted = [...defs].sort((a, b) => a.span.start - b.span.start);
  const broken = new Set<NamedDef>();
  for (const diagnostic of diagnostics) {
    if (diagnostic.severity !== 'error') continue;
    const at = diagnostic.span.start;
    let lo = 0;
    let hi = sorted.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.span.start <= at) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    const def = found >= 0 ? sorted[found]! : undefined;
    if (def && (at < def.span.end || at === def.span.start)) broken.add(def);
  }
  return broken;
}

/** parse + resolve aliases (chains, cycles reported) + validate. */
export function analyze(text: string, options?: ValidationOptions): AnalyzedDocument {
  return analyzeParsed(parse(text), options).doc;
}

/** What analysis learnt about one genotype definition on its own: kept by incremental analysis while the definition is unchanged. */
export interface DefinitionResult {
  readonly check: GenotypeCheck;
  /** genotypeOf(def.call), whether or not the definition turns out broken. */
  readonly model: Genotype | undefined;
}

/**
 * `analyze` of a parsed file. `reuse` may answer a genotype definition's
 * result from an earlier analysis (valid while the definition's text and the
 * known operations are unchanged; incremental.ts keeps them).
 */
export function analyzeParsed(
  file: GenotypeFile,
  options?: ValidationOptions,
  reuse?: (def: GenotypeDef) => DefinitionResult | undefined,
): { readonly doc: AnalyzedDocument; readonly results: ReadonlyMap<GenotypeDef, DefinitionResult> } {
  const results = new Map<GenotypeDef, DefinitionResult>();
  const check = checkFile(
    file,
    options,
    reuse &&
      ((def) => {
        const result = reuse(def);
        if (result) results.set(def, result);
        return result?.check;
      }),
  );
  const broken = defsWithSyntaxErrors(check.names.defs, file.diagnostics);
  for (const def of check.defsWithErrors) broken.add(def);

  const own = new Map<GenotypeDef, Genotype | undefined>();
  for (const def of check.names.defs) {
    if (def.kind !== 'genotype') continue;
    let result = results.get(def);
    if (!result) results.set(def, (result = { check: check.genotypeChecks.get(def)!, model: genotypeOf(def.call) }));
    own.set(def, broken.has(def) ? undefined : result.model);
  }

  const genotypes: ResolvedGenotype[] = check.names.defs.map((def): ResolvedGenotype => {
    const name = def.name.text;
    if (def.kind === 'genotype') return withGenotype({ name, def }, own.get(def));
    const resolution = check.aliases.get(def);
    if (resolution?.kind === 'genotype') {
      const target = resolution.def;
      return withGenotype({ name, def, aliasOf: target.name.text }, broken.has(def) ? undefined : own.get(target));
    }
    if (resolution?.kind === 'builtin') {
      const entry = resolution.entry;
      return withGenotype({ name, def, aliasOf: entry.name, builtin: entry }, broken.has(def) ? undefined : entry.genotype);
    }
    return { name, def };
  });

  const byName = new Map<string, ResolvedGenotype>();
  for (const resolved of genotypes) if (check.names.first.get(resolved.name) === resolved.def) byName.set(resolved.name, resolved);

  const diagnostics = [...file.diagnostics, ...check.diagnostics].sort((a, b) => a.span.start - b.span.start);
  return { doc: { file, genotypes, byName, knownOps: check.knownOps, diagnostics }, results };
}

/** Leaves `genotype` out, rather than present and undefined, when there is none (written out: object spread is slow here, once per definition). */
function withGenotype(base: ResolvedGenotype, genotype: Genotype | undefined): ResolvedGenotype {
  if (!genotype) return base;
  if (base.builtin) return { name: base.name, def: base.def, aliasOf: base.aliasOf, builtin: base.builtin, genotype };
  if (base.aliasOf !== undefined) return { name: base.name, def: base.def, aliasOf: base.aliasOf, genotype };
  return { name: base.name, def: base.def, genotype };
}

const NOWHERE: Span = { start: 0, end: 0 };
const builtinResolutions = new Map<LibraryEntry, ResolvedGenotype>();

function builtinResolution(entry: LibraryEntry): ResolvedGenotype {
  let resolved = builtinResolutions.get(entry);
  if (!resolved) {
    const def: AliasDef = { kind: 'alias', span: NOWHERE, name: { text: entry.name, span: NOWHERE }, target: { text: entry.name, span: NOWHERE } };
    resolved = { name: entry.name, def, genotype: entry.genotype, aliasOf: entry.name, builtin: entry };
    builtinResolutions.set(entry, resolved);
  }
  return resolved;
}

/**
 * The genotype named `name` in the document, or else a built-in (by name or
 * alias, case-insensitively, reported under its canonical name); for the CLI's
 * FILE#NAME and the language server.
 */
export function findGenotype(doc: AnalyzedDocument, name: string): ResolvedGenotype | undefined {
  const own = doc.byName.get(name);
  if (own) return own;
  const entry = builtin(name);
  return entry ? builtinResolution(entry) : undefined;
}
