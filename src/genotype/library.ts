/**
 * The built-in library: the published genotypes of ../shared/reference
 * genotypes.md, each with its paper and the repository it was taken from.
 * Every feature (hover, diagrams, samplers, the trainer, the CLI) can name them.
 */
import type { Cell, Genotype } from './model.js';

export interface LibraryEntry {
  readonly name: string;
  readonly paper: string;
  readonly source: string;
  readonly genotype: Genotype;
  /** Other names the entry is known by (e.g. `DARTS` for DARTS_V2). */
  readonly aliases?: readonly string[];
  readonly note?: string;
}

/** Compact cell notation: alternating op, input; concat list. */
function cell(pairs: ReadonlyArray<string | number>, concat: readonly number[], concatStyle: 'list' | 'range' = 'list'): Cell {
  const edges = [];
  for (let i = 0; i < pairs.length; i += 2) edges.push({ op: pairs[i] as string, input: pairs[i + 1] as number });
  return { edges, concat: [...concat], concatStyle };
}

const AUTHORS = 'shuyao95/Understanding-NAS genotypes.py';

export const LIBRARY: readonly LibraryEntry[] = [
  {
    name: 'NASNet',
    paper: 'Zoph et al., Learning Transferable Architectures for Scalable Image Recognition, CVPR 2018 (NASNet-A)',
    source: AUTHORS,
    genotype: {
      normal: cell(['sep_conv_5x5', 1, 'sep_conv_3x3', 0, 'sep_conv_5x5', 0, 'sep_conv_3x3', 0, 'avg_pool_3x3', 1, 'skip_connect', 0, 'avg_pool_3x3', 0, 'avg_pool_3x3', 0, 'sep_conv_3x3', 1, 'skip_connect', 1], [2, 3, 4, 5, 6]),
      reduce: cell(['sep_conv_5x5', 1, 'sep_conv_7x7', 0, 'max_pool_3x3', 1, 'sep_conv_7x7', 0, 'avg_pool_3x3', 1, 'sep_conv_5x5', 0, 'skip_connect', 3, 'avg_pool_3x3', 2, 'sep_conv_3x3', 2, 'max_pool_3x3', 1], [4, 5, 6]),
    },
  },
  {
    name: 'AmoebaNet',
    paper: 'Real et al., Regularized Evolution for Image Classifier Architecture Search, AAAI 2019 (AmoebaNet-A)',
    source: AUTHORS,
    genotype: {
      normal: cell(['avg_pool_3x3', 0, 'max_pool_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_5x5', 2, 'sep_conv_3x3', 0, 'avg_pool_3x3', 3, 'sep_conv_3x3', 1, 'skip_connect', 1, 'skip_connect', 0, 'avg_pool_3x3', 1], [4, 5, 6]),
      reduce: cell(['avg_pool_3x3', 0, 'sep_conv_3x3', 1, 'max_pool_3x3', 0, 'sep_conv_7x7', 2, 'sep_conv_7x7', 0, 'avg_pool_3x3', 1, 'max_pool_3x3', 0, 'max_pool_3x3', 1, 'conv_7x1_1x7', 0, 'sep_conv_3x3', 5], [3, 4, 6]),
    },
  },
  {
    name: 'ENAS',
    paper: 'Pham et al., Efficient Neural Architecture Search via Parameter Sharing, ICML 2018',
    source: AUTHORS,
    note: 'DARTS form as used by the paper\'s authors; other repositories disagree on the reduction cell.',
    genotype: {
      normal: cell(['sep_conv_3x3', 1, 'skip_connect', 1, 'sep_conv_5x5', 1, 'skip_connect', 0, 'avg_pool_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'avg_pool_3x3', 1, 'sep_conv_5x5', 1, 'avg_pool_3x3', 0], [2, 3, 4, 5, 6]),
      reduce: cell(['sep_conv_5x5', 0, 'avg_pool_3x3', 1, 'sep_conv_3x3', 1, 'avg_pool_3x3', 1, 'sep_conv_3x3', 1, 'avg_pool_3x3', 1, 'sep_conv_5x5', 4, 'avg_pool_3x3', 1, 'sep_conv_3x3', 5, 'sep_conv_5x5', 0], [2, 3, 6]),
    },
  },
  {
    name: 'DARTS_V1',
    paper: 'Liu et al., DARTS: Differentiable Architecture Search, ICLR 2019 (first order)',
    source: 'quark0/darts cnn/genotypes.py',
    genotype: {
      normal: cell(['sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'skip_connect', 0, 'sep_conv_3x3', 1, 'skip_connect', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'skip_connect', 2], [2, 3, 4, 5]),
      reduce: cell(['max_pool_3x3', 0, 'max_pool_3x3', 1, 'skip_connect', 2, 'max_pool_3x3', 0, 'max_pool_3x3', 0, 'skip_connect', 2, 'skip_connect', 2, 'avg_pool_3x3', 0], [2, 3, 4, 5]),
    },
  },
  {
    name: 'DARTS_V2',
    aliases: ['DARTS'],
    paper: 'Liu et al., DARTS: Differentiable Architecture Search, ICLR 2019 (second order; "DARTS" in the paper)',
    source: 'quark0/darts cnn/genotypes.py',
    genotype: {
      normal: cell(['sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 1, 'skip_connect', 0, 'skip_connect', 0, 'dil_conv_3x3', 2], [2, 3, 4, 5]),
      reduce: cell(['max_pool_3x3', 0, 'max_pool_3x3', 1, 'skip_connect', 2, 'max_pool_3x3', 1, 'max_pool_3x3', 0, 'skip_connect', 2, 'skip_connect', 2, 'max_pool_3x3', 1], [2, 3, 4, 5]),
    },
  },
  {
    name: 'SNAS_MILD',
    aliases: ['SNAS'],
    paper: 'Xie et al., SNAS: Stochastic Neural Architecture Search, ICLR 2019 (mild constraint)',
    source: AUTHORS,
    genotype: {
      normal: cell(['sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'skip_connect', 0, 'dil_conv_3x3', 1, 'skip_connect', 0, 'skip_connect', 1, 'skip_connect', 0, 'sep_conv_3x3', 1], [2, 3, 4, 5]),
      reduce: cell(['max_pool_3x3', 0, 'max_pool_3x3', 1, 'skip_connect', 2, 'max_pool_3x3', 1, 'max_pool_3x3', 1, 'skip_connect', 2, 'dil_conv_5x5', 2, 'max_pool_3x3', 0], [2, 3, 4, 5]),
    },
  },
  {
    name: 'PC_DARTS',
    paper: 'Xu et al., PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture Search, ICLR 2020 (CIFAR)',
    source: 'yuhuixu1993/PC-DARTS genotypes.py',
    genotype: {
      normal: cell(['sep_conv_3x3', 1, 'skip_connect', 0, 'sep_conv_3x3', 0, 'dil_conv_3x3', 1, 'sep_conv_5x5', 0, 'sep_conv_3x3', 1, 'avg_pool_3x3', 0, 'dil_conv_3x3', 1], [2, 3, 4, 5], 'range'),
      reduce: cell(['sep_conv_5x5', 1, 'max_pool_3x3', 0, 'sep_conv_5x5', 1, 'sep_conv_5x5', 2, 'sep_conv_3x3', 0, 'sep_conv_3x3', 3, 'sep_conv_3x3', 1, 'sep_conv_3x3', 2], [2, 3, 4, 5], 'range'),
    },
  },
  {
    name: 'P_DARTS',
    paper: 'Chen et al., Progressive Differentiable Architecture Search, ICCV 2019',
    source: 'chenxin061/pdarts genotypes.py',
    genotype: {
      normal: cell(['skip_connect', 0, 'dil_conv_3x3', 1, 'skip_connect', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 1, 'sep_conv_3x3', 3, 'sep_conv_3x3', 0, 'dil_conv_5x5', 4], [2, 3, 4, 5], 'range'),
      reduce: cell(['avg_pool_3x3', 0, 'sep_conv_5x5', 1, 'sep_conv_3x3', 0, 'dil_conv_5x5', 2, 'max_pool_3x3', 0, 'dil_conv_3x3', 1, 'dil_conv_3x3', 1, 'dil_conv_5x5', 3], [2, 3, 4, 5], 'range'),
    },
  },
  (() => {
    const both = cell(['sep_conv_5x5', 0, 'max_pool_3x3', 0, 'sep_conv_7x7', 1, 'max_pool_3x3', 1, 'sep_conv_5x5', 1, 'sep_conv_3x3', 1, 'sep_conv_3x3', 4, 'max_pool_3x3', 1, 'sep_conv_3x3', 0, 'skip_connect', 1], [2, 3, 4, 5, 6]);
    return {
      name: 'PNASNet',
      paper: 'Liu et al., Progressive Neural Architecture Search, ECCV 2018',
      source: 'quark0/darts / PNAS genotypes (same cell for normal and reduce)',
      genotype: { normal: both, reduce: both },
    };
  })(),
];

const byName = new Map<string, LibraryEntry>();
for (const entry of LIBRARY) {
  byName.set(entry.name.toLowerCase(), entry);
  for (const alias of entry.aliases ?? []) byName.set(alias.toLowerCase(), entry);
}

/** A built-in by name or alias, case-insensitive. */
export function builtin(name: string): LibraryEntry | undefined {
  return byName.get(name.toLowerCase());
}

export function builtinNames(): string[] {
  return LIBRARY.map((e) => e.name);
}
