/**
 * The names a genotype file defines and where each alias leads. Validation
 * (duplicate, unknown and cyclic names) and the analysed document (which
 * genotype `DARTS = DARTS_V2` means) both read this one resolution, so the two
 * can never disagree. Everything here is linear in the number of statements:
 * each alias is walked once and its result memoised for every alias on the way.
 */
import type { AliasDef, GenotypeDef, GenotypeFile } from './ast.js';
import { builtin, type LibraryEntry } from './library.js';

export type NamedDef = GenotypeDef | AliasDef;

export interface NameTable {
  /** Name → its first definition (later ones are duplicates and are not used). */
  readonly first: ReadonlyMap<string, NamedDef>;
  /** Every later definition of an already defined name, with the one it repeats. */
  readonly duplicates: ReadonlyArray<{ readonly def: NamedDef; readonly first: NamedDef }>;
  /** Genotype and alias definitions in document order (duplicates included). */
  readonly defs: readonly NamedDef[];
}

export function nameTable(file: GenotypeFile): NameTable {
  const first = new Map<string, NamedDef>();
  const duplicates: Array<{ def: NamedDef; first: NamedDef }> = [];
  const defs: NamedDef[] = [];
  for (const statement of file.statements) {
    if (statement.kind !== 'genotype' && statement.kind !== 'alias') continue;
    defs.push(statement);
    const earlier = first.get(statement.name.text);
    if (earlier) duplicates.push({ def: statement, first: earlier });
    else first.set(statement.name.text, statement);
  }
  return { first, duplicates, defs };
}

/** Where an alias ends up after following every alias on the way. */
export type AliasResolution =
  | { readonly kind: 'genotype'; readonly def: GenotypeDef }
  | { readonly kind: 'builtin'; readonly entry: LibraryEntry }
  /** `at` is the alias whose own target names nothing. */
  | { readonly kind: 'unknown'; readonly at: AliasDef }
  /** The aliases forming the loop, in walking order; an alias leading into the loop is not in it. */
  | { readonly kind: 'cycle'; readonly cycle: readonly AliasDef[] };

/**
 * Resolve every alias of the file. A name the file defines wins over a
 * built-in of the same name; otherwise built-in names and their aliases
 * (case-insensitive, as in the library) are valid targets.
 */
export function resolveAliases(table: NameTable): Map<AliasDef, AliasResolution> {
  const results = new Map<AliasDef, AliasResolution>();
  for (const def of table.defs) {
    if (def.kind !== 'alias' || results.has(def)) continue;
    const path: AliasDef[] = [];
    const position = new Map<AliasDef, number>();
    let current = def;
    let result: AliasResolution;
    for (;;) {
      const known = results.get(current);
      if (known) {
        result = known;
        break;
      }
      const seenAt = position.get(current);
      if (seenAt !== undefined) {
        result = { kind: 'cycle', cycle: path.slice(seenAt) };
        break;
      }
      position.set(current, path.length);
      path.push(current);
      const target = table.first.get(current.target.text);
      if (target?.kind === 'genotype') {
        result = { kind: 'genotype', def: target };
        break;
      }
      if (target?.kind === 'alias') {
        current = target;
        continue;
      }
      const entry = builtin(current.target.text);
      result = entry ? { kind: 'builtin', entry } : { kind: 'unknown', at: current };
      break;
    }
    for (const alias of path) results.set(alias, result);
  }
  return results;
}
