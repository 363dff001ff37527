import { authorsAdaptedFor } from '../../genotype/library.js';
import { cellDepth, cellWidth } from '../../genotype/metrics.js';
import { findVariants, sampleVariant, SamplingError, type VariantKind, type SampledVariant } from '../../genotype/samplers.js';
import { variantName, variantText } from '../../genotype/variantText.js';
import { flagBoolean, flagNumber, flagString, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';
import { loadGenotype } from '../resolve.js';

/** The documented `variants --json` record. */
export interface VariantRecord {
  name: string;
  kind: VariantKind;
  seed: number;
  normal: [string, number][];
  normalConcat: number[];
  reduce: [string, number][];
  reduceConcat: number[];
}

export const variantsCommand: Command = {
  name: 'variants',
  summary: "sample the paper's variants (random connections, random operations, adapted)",
  usage:
    'cellscope variants FILE#NAME|NAME --kind connections|ops|adapt [--seed S] [--count N] [--normal-width W] [--normal-depth D] [--json]',
  async run(argv, io) {
    const args = parseArgs(argv, {
      kind: { type: 'string', choices: ['connections', 'ops', 'adapt'] },
      seed: { type: 'int', min: 0, max: 0xffffffff },
      count: { type: 'int', min: 1, max: 10000 },
      'normal-width': { type: 'number', min: 0 },
      'normal-depth': { type: 'int', min: 1 },
      json: { type: 'boolean' },
    });
    if (args.positional.length !== 1) throw new UsageError('variants needs exactly one FILE#NAME or built-in NAME');
    const kind = flagString(args, 'kind') as VariantKind | undefined;
    if (!kind) throw new UsageError('variants needs --kind connections|ops|adapt');
    const base = loadGenotype(args.positional[0]!, io.cwd);
    const seed = flagNumber(args, 'seed') ?? 1;
    const count = flagNumber(args, 'count') ?? 1;
    const normalWidth = flagNumber(args, 'normal-width');
    const normalDepth = flagNumber(args, 'normal-depth');
    let variants: SampledVariant[];
    if (kind === 'adapt') {
      // The adapted cell is one fixed genotype: seeds and counts do not apply.
      const authors = authorsAdaptedFor(base.genotype);
      if (authors !== undefined) io.stderr(`note: the authors adapted ${base.name} by hand as ${authors.name} (cellscope library --print); this is Cellscope's re-pointing rule\n`);
      const genotype = sampleVariant(base.genotype, 'adapt', 0);
      const fits =
        (normalWidth === undefined || cellWidth(genotype.normal) === normalWidth) &&
        (normalDepth === undefined || cellDepth(genotype.normal) === normalDepth);
      if (!fits) {
        io.stderr(`cellscope variants: the adapted cell of ${base.name} does not have the requested normal width/depth\n`);
        return 1;
      }
      variants = [{ seed: 0, genotype }];
    } else if (normalWidth !== undefined || normalDepth !== undefined) {
      try {
        variants = findVariants(base.genotype, kind, { normalWidth, normalDepth }, { count, start: seed });
      } catch (error) {
        if (error instanceof SamplingError) {
          io.stderr(`cellscope variants: ${error.message}\n`);
          return 1;
        }
        throw error;
      }
    } else {
      variants = Array.from({ length: count }, (_, i) => ({ seed: seed + i, genotype: sampleVariant(base.genotype, kind, seed + i) }));
    }
    if (flagBoolean(args, 'json')) {
      const records: VariantRecord[] = variants.map((v) => ({
        name: variantName(base.name, kind, v.seed),
        kind,
        seed: v.seed,
        normal: v.genotype.normal.edges.map((e) => [e.op, e.input]),
        normalConcat: [...v.genotype.normal.concat],
        reduce: v.genotype.reduce.edges.map((e) => [e.op, e.input]),
        reduceConcat: [...v.genotype.reduce.concat],
      }));
      io.stdout(`${JSON.stringify(records, null, 2)}\n`);
      return 0;
    }
    io.stdout(variants.map((v) => variantText(base.name, kind, v.seed, v.genotype)).join('\n'));
    return 0;
  },
};
