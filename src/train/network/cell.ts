/**
 * One cell of the evaluation network: preprocessing of its two inputs, the
 * genotype's operations (two per intermediate node, summed), drop path, and
 * the concatenation of the concat nodes along the channel axis.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Cell } from '../../genotype/model.js';
import { buildOp, factorizedReduce, reluConvBn, type CellOp, type ForwardMode } from './ops.js';
import type { ParamStore } from './params.js';

/** Drop path for one forward pass: probability and the uniform source of the masks. */
export interface DropPath {
  readonly prob: number;
  readonly random: () => number;
}

export interface CellForwardMode extends ForwardMode {
  readonly dropPath?: DropPath;
}

export interface BuiltCell {
  readonly reduction: boolean;
  /** Output channels: len(concat) · C. */
  readonly outChannels: number;
  /** Operations drop path applies to (each draws one value per sample when it is on). */
  readonly dropPathSites: number;
  forward(s0: tf.Tensor4D, s1: tf.Tensor4D, mode: CellForwardMode): tf.Tensor4D;
}

/**
 * Drop path as DARTS applies it: each sample's output is divided by keep and
 * multiplied by a Bernoulli(keep) draw, keep = 1 − prob.
 */
export function dropPath(x: tf.Tensor4D, dp: DropPath): tf.Tensor4D {
  const keep = 1 - dp.prob;
  const n = x.shape[0];
  const mask = new Float32Array(n);
  for (let i = 0; i < n; i++) mask[i] = dp.random() < keep ? 1 / keep : 0;
  return tf.mul(x, tf.tensor4d(mask, [n, 1, 1, 1]));
}

export interface CellSpec {
  readonly cell: Cell;
  readonly cPrevPrev: number;
  readonly cPrev: number;
  readonly c: number;
  readonly reduction: boolean;
  readonly reductionPrev: boolean;
}

/** Builds cell `name` (e.g. `cells.3`) from its genotype cell and channel counts. */
export function buildCell(store: ParamStore, name: string, spec: CellSpec): BuiltCell {
  const { cell, cPrevPrev, cPrev, c, reduction, reductionPrev } = spec;
  const pre0 = reductionPrev ? factorizedReduce(store, `${name}.preprocess0`, cPrevPrev, c) : reluConvBn(store, `${name}.preprocess0`, cPrevPrev, c);
  const pre1 = reluConvBn(store, `${name}.preprocess1`, cPrev, c);
  const ops: CellOp[] = cell.edges.map((edge, k) =>
    buildOp(store, `${name}._ops.${k}`, edge.op, c, reduction && edge.input < 2 ? 2 : 1),
  );
  const steps = Math.ceil(cell.edges.length / 2);
  for (const [k, edge] of cell.edges.entries()) {
    if (edge.input < 0 || edge.input >= 2 + Math.floor(k / 2)) throw new Error(`${name}: entry ${k} reads node ${edge.input}, which does not exist yet`);
  }
  for (const n of cell.concat) {
    if (n < 0 || n >= 2 + steps) throw new Error(`${name}: concat node ${n} does not exist`);
  }

  return {
    reduction,
    outChannels: cell.concat.length * c,
    dropPathSites: ops.filter((op) => !op.identity).length,
    forward: (s0, s1, mode) => {
      const states: tf.Tensor4D[] = [pre0.forward(s0, mode), pre1.forward(s1, mode)];
      for (let i = 0; i < steps; i++) {
        const terms: tf.Tensor4D[] = [];
        for (const k of [2 * i, 2 * i + 1]) {
          const edge = cell.edges[k];
          if (edge === undefined) continue;
          let h = ops[k]!.forward(states[edge.input]!, mode);
          if (mode.training && mode.dropPath !== undefined && mode.dropPath.prob > 0 && !ops[k]!.identity) h = dropPath(h, mode.dropPath);
          terms.push(h);
        }
        states.push(terms.length === 1 ? terms[0]! : tf.add(terms[0]!, terms[1]!));
      }
      return tf.concat(cell.concat.map((n) => states[n]!), 3);
    },
  };
}
