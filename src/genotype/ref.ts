/**
 * References to genotypes as users type them on the command line and in
 * settings: `FILE#NAME`, `FILE` (every genotype in it), a built-in `NAME`, and
 * a variant spec `REF~kind:seed` (e.g. `DARTS_V2~connections:3`, the authors'
 * third random-connection variant). Pure: reading the file is the caller's job.
 */
import { isIdentifier } from './identifier.js';
import type { VariantKind } from './samplers.js';

export interface GenotypeRef {
  /** File path, when the reference names one. */
  readonly file?: string;
  /** Genotype name (in the file, or a built-in). */
  readonly name?: string;
  readonly variant?: { readonly kind: VariantKind; readonly seed: number };
}

const VARIANT_KINDS: readonly VariantKind[] = ['connections', 'ops', 'adapt'];

export class RefError extends Error {}

/** Whether the text after the last `~` is a variant spec (`kind` or `kind:seed`) rather than part of a path (`~/cells`, `backup~1.genotype`). */
function isVariantSpec(spec: string): boolean {
  return /^[A-Za-z_]+(:|$)/.test(spec);
}

/**
 * Splits a reference. `looksLikeFile` decides whether a bare word is a path
 * (the CLI passes "exists on disk or ends in .genotype/.py or holds a
 * separator"); `exists` whether a path is there, so that a file whose own
 * name holds `#` or `~` (`runs#3.genotype`, `cells~old/g.genotype`) is read
 * as that file. `FILE#NAME` splits at the last `#`, which a name (a Python
 * identifier) cannot hold.
 */
export function parseGenotypeRef(text: string, looksLikeFile: (s: string) => boolean, exists: (s: string) => boolean = () => false): GenotypeRef {
  let base = text.trim();
  if (base.length > 0 && exists(base)) return { file: base };
  let variant: GenotypeRef['variant'];
  const tilde = base.lastIndexOf('~');
  if (tilde >= 0 && isVariantSpec(base.slice(tilde + 1))) {
    const spec = base.slice(tilde + 1);
    base = base.slice(0, tilde);
    const [kind, seedText] = spec.split(':');
    if (!VARIANT_KINDS.includes(kind as VariantKind)) {
      throw new RefError(`unknown variant kind '${kind}' in '${text}' (expected ${VARIANT_KINDS.join(', ')})`);
    }
    const seed = kind === 'adapt' && seedText === undefined ? 0 : Number(seedText);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
      throw new RefError(`variant seed in '${text}' must be an integer from 0 to 4294967295`);
    }
    variant = { kind: kind as VariantKind, seed };
  }
  if (base.length === 0) throw new RefError(`empty genotype reference '${text}'`);
  if (exists(base)) return { file: base, variant };
  const hash = base.lastIndexOf('#');
  if (hash >= 0) {
    const file = base.slice(0, hash);
    const name = base.slice(hash + 1);
    if (file && isIdentifier(name)) return { file, name, variant };
    if (file && name && exists(file)) throw new RefError(`'${name}' in '${text}' is not a genotype name (names are Python identifiers)`);
    if (looksLikeFile(base)) return { file: base, variant };
    throw new RefError(`'${text}' should be FILE#NAME`);
  }
  return looksLikeFile(base) ? { file: base, variant } : { name: base, variant };
}
