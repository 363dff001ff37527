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
  /** For an authors' adapted cell: the built-in it adapts (the 'adapted cell' action offers it). */
  readonly adaptedOf?: string;
}

/** Compact cell notation: alternating op, input; concat list. */
function cell(pairs: ReadonlyArray<string | number>, concat: readonly number[], concatStyle: 'list' | 'range' = 'list'): Cell {
  const edges = [];
  for (let i = 0; i < pairs.length; i += 2) edges.push({ op: pairs[i] as string, input: pairs[i + 1] as number });
  return { edges, concat: [...concat], concatStyle };
}

const AUTHORS = 'shuyao95/Understanding-NAS genotypes.py';
/** The authors' fork of tomgoldstein/loss-landscape, where their landscape runs' genotypes are written out. */
const FORK = 'shuyao95/loss-landscape cifar10/models/darts.py';
const PAPER = 'Shu, Wang & Cai, Understanding Architectures Learnt by Cell-based Neural Architecture Search, ICLR 2020';

/**
 * The fork's DARTS_CONNk / DARTS_OPSk are fixed genotypes written into the
 * file, not outputs of the authors' sampler: seed k of our sampler (the
 * authors' random_conn / random_ops, bit for bit) gives a different cell.
 * The same names in Understanding-NAS genotypes.py *are* the sampler's
 * seeds, so we say which one a name means.
 */
const FIXED_NOTE = (what: string, kind: string, k: number): string =>
  `A fixed random-${what} variant of DARTS_V2 from the authors' loss-landscape fork; it is not seed ${k} of the authors' sampler ` +
  `(DARTS_V2~${kind}:${k} reproduces Understanding-NAS genotypes.py's DARTS_${kind === 'ops' ? 'OPS' : 'CONN'}${k}, a different cell).`;

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
  // ---- the authors' hand-made genotypes (Section 5 and the landscape runs) ----
  {
    name: 'NASNet_ADAPT',
    aliases: ['NASNet_IMP'],
    paper: PAPER,
    source: `${AUTHORS}; the same cell is NASNet_IMP in ${FORK}`,
    adaptedOf: 'NASNet',
    note: 'The authors\' hand-made adapted cell of NASNet: every input re-pointed to node 0 or 1, operations kept (Section 5).',
    genotype: {
      normal: cell(['sep_conv_5x5', 1, 'sep_conv_3x3', 0, 'sep_conv_5x5', 1, 'sep_conv_3x3', 0, 'avg_pool_3x3', 1, 'skip_connect', 0, 'avg_pool_3x3', 1, 'avg_pool_3x3', 0, 'sep_conv_3x3', 1, 'skip_connect', 0], [2, 3, 4, 5, 6]),
      reduce: cell(['sep_conv_5x5', 1, 'sep_conv_7x7', 0, 'max_pool_3x3', 1, 'sep_conv_7x7', 0, 'avg_pool_3x3', 1, 'sep_conv_5x5', 0, 'skip_connect', 1, 'avg_pool_3x3', 0, 'sep_conv_3x3', 1, 'max_pool_3x3', 0], [4, 5, 6]),
    },
  },
  {
    name: 'AmoebaNet_ADAPT',
    aliases: ['AmoebaNet_IMP'],
    paper: PAPER,
    source: `${AUTHORS}; the same cell is AmoebaNet_IMP in ${FORK}`,
    adaptedOf: 'AmoebaNet',
    note: 'The authors\' hand-made adapted cell of AmoebaNet: every input re-pointed to node 0 or 1, operations kept (Section 5).',
    genotype: {
      normal: cell(['avg_pool_3x3', 0, 'max_pool_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_5x5', 1, 'sep_conv_3x3', 0, 'avg_pool_3x3', 1, 'sep_conv_3x3', 0, 'skip_connect', 1, 'skip_connect', 0, 'avg_pool_3x3', 1], [4, 5, 6]),
      reduce: cell(['avg_pool_3x3', 0, 'sep_conv_3x3', 1, 'max_pool_3x3', 0, 'sep_conv_7x7', 1, 'sep_conv_7x7', 0, 'avg_pool_3x3', 1, 'max_pool_3x3', 0, 'max_pool_3x3', 1, 'conv_7x1_1x7', 0, 'sep_conv_3x3', 1], [3, 4, 6]),
    },
  },
  {
    name: 'SNAS_ADAPT',
    aliases: ['SNAS_IMP'],
    paper: PAPER,
    source: `${AUTHORS}; the same cell is SNAS_IMP in ${FORK}`,
    adaptedOf: 'SNAS_MILD',
    note: 'The authors\' hand-made adapted cell of SNAS_MILD: every input re-pointed to node 0 or 1, operations kept (Section 5).',
    genotype: {
      normal: cell(['sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'skip_connect', 0, 'dil_conv_3x3', 1, 'skip_connect', 0, 'skip_connect', 1, 'skip_connect', 0, 'sep_conv_3x3', 1], [2, 3, 4, 5]),
      reduce: cell(['max_pool_3x3', 0, 'max_pool_3x3', 1, 'skip_connect', 0, 'max_pool_3x3', 1, 'max_pool_3x3', 0, 'skip_connect', 1, 'dil_conv_5x5', 0, 'max_pool_3x3', 1], [2, 3, 4, 5]),
    },
  },
  {
    name: 'ENAS_ADAPT',
    aliases: ['ENAS_IMP'],
    paper: PAPER,
    source: `${AUTHORS}; the same cell is ENAS_IMP in ${FORK}`,
    adaptedOf: 'ENAS',
    note: 'The authors\' hand-made adapted cell of ENAS: every input re-pointed to node 0 or 1, operations kept (Section 5).',
    genotype: {
      normal: cell(['sep_conv_3x3', 0, 'skip_connect', 1, 'sep_conv_5x5', 0, 'skip_connect', 0, 'avg_pool_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'avg_pool_3x3', 1, 'sep_conv_5x5', 0, 'avg_pool_3x3', 1], [2, 3, 4, 5, 6]),
      reduce: cell(['sep_conv_5x5', 0, 'avg_pool_3x3', 1, 'sep_conv_3x3', 0, 'avg_pool_3x3', 1, 'sep_conv_3x3', 0, 'avg_pool_3x3', 1, 'sep_conv_5x5', 0, 'avg_pool_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_5x5', 1], [2, 3, 6]),
    },
  },
  {
    name: 'DARTS_IMP',
    paper: PAPER,
    source: FORK,
    note: 'The authors\' widest, shallowest DARTS-space cell: every operation sep_conv_3x3, every node fed by nodes 0 and 1. Not the adapted DARTS_V2 (its operations differ); the authors ship no DARTS_ADAPT.',
    genotype: {
      normal: cell(['sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 1], [2, 3, 4, 5]),
      reduce: cell(['sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 1], [2, 3, 4, 5]),
    },
  },
  {
    name: 'DARTS_CONN1',
    paper: PAPER,
    source: FORK,
    note: FIXED_NOTE('connections', 'connections', 1),
    genotype: {
      normal: cell(['sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 3, 'skip_connect', 3, 'skip_connect', 2, 'dil_conv_3x3', 0], [2, 3, 4, 5]),
      reduce: cell(['max_pool_3x3', 0, 'max_pool_3x3', 1, 'skip_connect', 2, 'max_pool_3x3', 1, 'max_pool_3x3', 2, 'skip_connect', 1, 'skip_connect', 1, 'max_pool_3x3', 0], [2, 3, 4, 5]),
    },
  },
  {
    name: 'DARTS_CONN2',
    paper: PAPER,
    source: FORK,
    note: FIXED_NOTE('connections', 'connections', 2),
    genotype: {
      normal: cell(['sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 1, 'skip_connect', 2, 'skip_connect', 2, 'dil_conv_3x3', 2], [2, 3, 4, 5]),
      reduce: cell(['max_pool_3x3', 0, 'max_pool_3x3', 1, 'skip_connect', 0, 'max_pool_3x3', 1, 'max_pool_3x3', 3, 'skip_connect', 0, 'skip_connect', 1, 'max_pool_3x3', 1], [2, 3, 4, 5]),
    },
  },
  {
    name: 'DARTS_CONN3',
    paper: PAPER,
    source: FORK,
    note: FIXED_NOTE('connections', 'connections', 3),
    genotype: {
      normal: cell(['sep_conv_3x3', 1, 'sep_conv_3x3', 1, 'sep_conv_3x3', 1, 'sep_conv_3x3', 1, 'sep_conv_3x3', 3, 'skip_connect', 2, 'skip_connect', 4, 'dil_conv_3x3', 4], [2, 3, 4, 5]),
      reduce: cell(['max_pool_3x3', 0, 'max_pool_3x3', 0, 'skip_connect', 1, 'max_pool_3x3', 2, 'max_pool_3x3', 2, 'skip_connect', 3, 'skip_connect', 4, 'max_pool_3x3', 0], [2, 3, 4, 5]),
    },
  },
  {
    name: 'DARTS_CONN4',
    paper: PAPER,
    source: FORK,
    note: FIXED_NOTE('connections', 'connections', 4),
    genotype: {
      normal: cell(['sep_conv_3x3', 1, 'sep_conv_3x3', 1, 'sep_conv_3x3', 1, 'sep_conv_3x3', 1, 'sep_conv_3x3', 2, 'skip_connect', 2, 'skip_connect', 3, 'dil_conv_3x3', 4], [2, 3, 4, 5]),
      reduce: cell(['max_pool_3x3', 1, 'max_pool_3x3', 0, 'skip_connect', 1, 'max_pool_3x3', 0, 'max_pool_3x3', 2, 'skip_connect', 0, 'skip_connect', 3, 'max_pool_3x3', 2], [2, 3, 4, 5]),
    },
  },
  {
    name: 'DARTS_OPS1',
    paper: PAPER,
    source: FORK,
    note: FIXED_NOTE('operations', 'ops', 1),
    genotype: {
      normal: cell(['avg_pool_3x3', 0, 'sep_conv_3x3', 1, 'max_pool_3x3', 0, 'sep_conv_3x3', 1, 'dil_conv_5x5', 1, 'max_pool_3x3', 0, 'sep_conv_5x5', 0, 'sep_conv_5x5', 2], [2, 3, 4, 5]),
      reduce: cell(['skip_connect', 0, 'avg_pool_3x3', 1, 'sep_conv_3x3', 2, 'dil_conv_5x5', 1, 'dil_conv_5x5', 0, 'sep_conv_3x3', 2, 'dil_conv_3x3', 2, 'dil_conv_3x3', 1], [2, 3, 4, 5]),
    },
  },
  {
    name: 'DARTS_OPS2',
    paper: PAPER,
    source: FORK,
    note: FIXED_NOTE('operations', 'ops', 2),
    genotype: {
      normal: cell(['skip_connect', 0, 'sep_conv_5x5', 1, 'sep_conv_5x5', 0, 'max_pool_3x3', 1, 'avg_pool_3x3', 1, 'max_pool_3x3', 0, 'sep_conv_5x5', 0, 'max_pool_3x3', 2], [2, 3, 4, 5]),
      reduce: cell(['max_pool_3x3', 0, 'sep_conv_3x3', 1, 'sep_conv_5x5', 2, 'dil_conv_5x5', 1, 'skip_connect', 0, 'sep_conv_5x5', 2, 'avg_pool_3x3', 2, 'max_pool_3x3', 1], [2, 3, 4, 5]),
    },
  },
  {
    name: 'DARTS_OPS3',
    paper: PAPER,
    source: FORK,
    note: FIXED_NOTE('operations', 'ops', 3),
    genotype: {
      normal: cell(['dil_conv_3x3', 0, 'max_pool_3x3', 1, 'sep_conv_3x3', 0, 'dil_conv_5x5', 1, 'max_pool_3x3', 1, 'dil_conv_3x3', 0, 'skip_connect', 0, 'dil_conv_5x5', 2], [2, 3, 4, 5]),
      reduce: cell(['sep_conv_3x3', 0, 'dil_conv_3x3', 1, 'dil_conv_3x3', 2, 'max_pool_3x3', 1, 'dil_conv_5x5', 0, 'skip_connect', 2, 'max_pool_3x3', 2, 'sep_conv_3x3', 1], [2, 3, 4, 5]),
    },
  },
  {
    name: 'DARTS_OPS4',
    paper: PAPER,
    source: FORK,
    note: FIXED_NOTE('operations', 'ops', 4),
    genotype: {
      normal: cell(['sep_conv_5x5', 0, 'avg_pool_3x3', 1, 'max_pool_3x3', 0, 'dil_conv_5x5', 1, 'sep_conv_5x5', 1, 'dil_conv_3x3', 0, 'skip_connect', 0, 'dil_conv_3x3', 2], [2, 3, 4, 5]),
      reduce: cell(['sep_conv_3x3', 0, 'max_pool_3x3', 1, 'sep_conv_3x3', 2, 'dil_conv_3x3', 1, 'max_pool_3x3', 0, 'skip_connect', 2, 'sep_conv_5x5', 2, 'dil_conv_3x3', 1], [2, 3, 4, 5]),
    },
  },
  {
    name: 'DARTS_OPS5',
    paper: PAPER,
    source: FORK,
    note: FIXED_NOTE('operations', 'ops', 5),
    genotype: {
      normal: cell(['avg_pool_3x3', 0, 'sep_conv_3x3', 1, 'dil_conv_5x5', 0, 'skip_connect', 1, 'skip_connect', 1, 'sep_conv_3x3', 0, 'sep_conv_3x3', 0, 'dil_conv_3x3', 2], [2, 3, 4, 5]),
      reduce: cell(['dil_conv_3x3', 0, 'sep_conv_5x5', 1, 'sep_conv_3x3', 2, 'avg_pool_3x3', 1, 'sep_conv_3x3', 0, 'sep_conv_5x5', 2, 'dil_conv_5x5', 2, 'sep_conv_3x3', 1], [2, 3, 4, 5]),
    },
  },
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

/** The authors' own adapted cell of a built-in (NASNet_ADAPT for NASNet, …), when they made one. */
export function authorsAdapted(name: string): LibraryEntry | undefined {
  const of = builtin(name)?.name;
  return of === undefined ? undefined : LIBRARY.find((e) => e.adaptedOf === of);
}

/**
 * The authors' adapted cell for a genotype, when it is one of the built-ins
 * they adapted by hand (the same cells, whatever the name it was given).
 */
export function authorsAdaptedFor(genotype: Genotype): LibraryEntry | undefined {
  const same = (a: Cell, b: Cell) =>
    a.edges.length === b.edges.length && a.edges.every((e, i) => e.op === b.edges[i]!.op && e.input === b.edges[i]!.input) && a.concat.join() === b.concat.join();
  return LIBRARY.find((e) => {
    const of = e.adaptedOf === undefined ? undefined : builtin(e.adaptedOf);
    return of !== undefined && same(of.genotype.normal, genotype.normal) && same(of.genotype.reduce, genotype.reduce);
  });
}

export function builtinNames(): string[] {
  return LIBRARY.map((e) => e.name);
}
