import { test } from 'node:test';
import assert from 'node:assert/strict';
import { auxiliaryInputSide, CIFAR_EVALUATION, networkCost, opParams, type NetworkSize } from '../../src/genotype/cost.js';
import * as metrics from '../../src/genotype/metrics.js';
import { builtin } from '../../src/genotype/library.js';
import type { Cell, Genotype } from '../../src/genotype/model.js';

const DARTS_V2 = builtin('DARTS_V2')!.genotype;

function cell(pairs: ReadonlyArray<readonly [string, number]>, concat: number[]): Cell {
  return { edges: pairs.map(([op, input]) => ({ op, input })), concat };
}

/** The small network of the hand derivations: C=4, 3 cells (reductions at 1 and 2), 2 classes, 32×32. */
const TINY: NetworkSize = { channels: 4, layers: 3, classes: 2 };

test('DARTS_V2 parameter counts match the published figures exactly', () => {
  assert.deepEqual(CIFAR_EVALUATION, { channels: 36, layers: 20, classes: 10, inputSize: 32 });
  assert.equal(networkCost(DARTS_V2, CIFAR_EVALUATION).params, 3_349_342);
  assert.equal(networkCost(DARTS_V2, { channels: 16, layers: 8, classes: 10 }).params, 246_106);
});

test('DARTS_V2 multiply-accumulates are close to the published 528 M', () => {
  const { macs } = networkCost(DARTS_V2, CIFAR_EVALUATION);
  assert.ok(Math.abs(macs - 528e6) / 528e6 < 0.03, `macs ${macs}`);
});

test('DARTS_V2 auxiliary head sits on the second reduction cell (4·4C channels)', () => {
  // C_aux = len(reduce concat) · 4C = 4 · 144 = 576.
  // 1×1 conv 576·128 = 73,728; BN(128) 256; 2×2 conv 128·768·4 = 393,216; BN(768) 1,536;
  // linear 768·10 + 10 = 7,690. Sum 476,426.
  const cost = networkCost(DARTS_V2, CIFAR_EVALUATION);
  assert.equal(cost.paramsWithAuxiliary - cost.params, 476_426);
});

test('opParams of every operation, derived by hand', () => {
  // sep_conv_3x3 at 36: 2 · (depthwise 36·9 + pointwise 36·36 + BN 2·36) = 2 · 1,692.
  assert.equal(opParams('sep_conv_3x3', 36), 3384);
  // sep_conv_5x5 at 16: 2 · (16·25 + 256 + 32) = 1,376.
  assert.equal(opParams('sep_conv_5x5', 16), 1376);
  // sep_conv_7x7 at 4: 2 · (4·49 + 16 + 8) = 440.
  assert.equal(opParams('sep_conv_7x7', 4), 440);
  // dil_conv_3x3 at 16: 16·9 + 256 + 32 = 432; dil_conv_5x5: 16·25 + 256 + 32 = 688.
  assert.equal(opParams('dil_conv_3x3', 16), 432);
  assert.equal(opParams('dil_conv_5x5', 16), 688);
  // conv_7x1_1x7 at 8: 1×7 conv 8·8·7 + 7×1 conv 8·8·7 + BN 16 = 912.
  assert.equal(opParams('conv_7x1_1x7', 8), 912);
  // skip_connect: identity at stride 1; FactorizedReduce at stride 2: two 1×1 convs 10→5 + BN(10) = 100 + 20.
  assert.equal(opParams('skip_connect', 10), 0);
  assert.equal(opParams('skip_connect', 10, 2), 120);
  for (const op of ['none', 'max_pool_3x3', 'avg_pool_3x3']) {
    assert.equal(opParams(op, 36), 0, op);
    assert.equal(opParams(op, 36, 2), 0, op);
  }
  // Stride never changes a convolution's parameters.
  assert.equal(opParams('sep_conv_3x3', 36, 2), 3384);
});

test('unknown operations count zero and never throw', () => {
  assert.equal(opParams('conv_9x9', 36), 0);
  const withUnknown: Genotype = {
    normal: cell([['conv_9x9', 0], ['bogus', 1]], [2]),
    reduce: cell([['conv_9x9', 0], ['bogus', 1]], [2]),
  };
  const withNone: Genotype = {
    normal: cell([['none', 0], ['none', 1]], [2]),
    reduce: cell([['none', 0], ['none', 1]], [2]),
  };
  assert.deepEqual(networkCost(withUnknown, TINY), networkCost(withNone, TINY));
});

test('a one-node skip_connect network, parameters and MACs by hand', () => {
  const skip = cell([['skip_connect', 0], ['skip_connect', 1]], [2]);
  const cost = networkCost({ normal: skip, reduce: skip }, TINY);
  // Parameters (C=4; cells 0 normal C=4, 1 reduce C=8, 2 reduce C=16; every cell outputs 1·C):
  //   stem: 3×3 conv 3→12: 3·12·9 = 324, BN 24                               →   348
  //   cell 0: pre0 1×1 12→4 + BN: 48+8 = 56; pre1 same 56; identities 0        →   112
  //   cell 1: pre0 1×1 12→8 + BN: 96+16 = 112; pre1 4→8: 32+16 = 48;
  //           two FactorizedReduce(8,8): 2·(2·8·4 + 16) = 160                 →   320
  //   cell 2: pre0 FactorizedReduce(4,16): 2·4·8 + 32 = 96; pre1 8→16: 128+32 = 160;
  //           two FactorizedReduce(16,16): 2·(2·16·8 + 32) = 576               →   832
  //   classifier 16→2 with bias: 34                                            →    34
  assert.equal(cost.params, 348 + 112 + 320 + 832 + 34); // 1,646
  // Auxiliary head on cell 2's output (16 channels): 16·128 + 256 + 128·768·4 + 1,536 + 768·2 + 2.
  assert.equal(cost.paramsWithAuxiliary, 1646 + 2048 + 256 + 393_216 + 1536 + 1538);
  // MACs (sides 32 → 32 → 16 → 8):
  //   stem: 32·32 · 12 · 3·9 = 331,776
  //   cell 0: two 1×1 12→4 at 32²: 2 · 1,024·48 = 98,304
  //   cell 1: pre0 12→8 at 32²: 98,304; pre1 4→8 at 32²: 32,768; two FR(8,8) to 16²: 2 · 2·256·8·4 = 32,768
  //   cell 2: pre0 FR(4,16) to 16²: 2·256·4·8 = 16,384; pre1 8→16 at 16²: 32,768; two FR(16,16) to 8²: 2 · 2·64·16·8 = 32,768
  //   classifier: 16·2 = 32
  assert.equal(cost.macs, 331_776 + 98_304 + (98_304 + 32_768 + 32_768) + (16_384 + 32_768 + 32_768) + 32);
});

/** Cost of `edited` minus cost of `base` (both in TINY). */
function delta(base: Genotype, edited: Genotype): { params: number; macs: number } {
  const a = networkCost(base, TINY);
  const b = networkCost(edited, TINY);
  return { params: b.params - a.params, macs: b.macs - a.macs };
}

const EMPTY = cell([['none', 0], ['none', 1]], [2]);
const BASE: Genotype = { normal: EMPTY, reduce: EMPTY };

test('an operation costs at stride 1 in normal cells, at stride 2 on reduction-cell inputs', () => {
  // sep_conv_3x3 in the normal cell 0 (C=4, 32²): params 2·(36+16+8) = 120; MACs 2 · 1,024·(4·9 + 16) = 106,496.
  assert.deepEqual(delta(BASE, { normal: cell([['sep_conv_3x3', 0], ['none', 1]], [2]), reduce: EMPTY }), {
    params: 120,
    macs: 106_496,
  });
  // sep_conv_3x3 on input 0 of both reduction cells: C=8 from 32² to 16², then C=16 from 16² to 8².
  //   params 2·(72+64+16) + 2·(144+256+32) = 304 + 864; MACs 2·256·(72+64) + 2·64·(144+256) = 69,632 + 51,200.
  assert.deepEqual(delta(BASE, { normal: EMPTY, reduce: cell([['sep_conv_3x3', 0], ['none', 1]], [2]) }), {
    params: 1168,
    macs: 120_832,
  });
  // The same op reading intermediate node 2 runs at stride 1 on the already halved side: same parameters,
  // same MACs (16² and 8² outputs either way). Four times the MACs would mean it ran at the input side.
  const fromNode = cell([['none', 0], ['none', 1], ['sep_conv_3x3', 2], ['none', 0]], [2, 3]);
  const twoNodes = cell([['none', 0], ['none', 1], ['none', 2], ['none', 0]], [2, 3]);
  assert.deepEqual(delta({ normal: EMPTY, reduce: twoNodes }, { normal: EMPTY, reduce: fromNode }), {
    params: 1168,
    macs: 120_832,
  });
  // conv_7x1_1x7 at stride 2: the 1×7 conv halves only the width. C=8, 32² input: 32·16·7·64 + 16·16·7·64;
  // C=16, 16² input: 16·8·7·256 + 8·8·7·256. Params (14·64 + 16) + (14·256 + 32).
  assert.deepEqual(delta(BASE, { normal: EMPTY, reduce: cell([['conv_7x1_1x7', 1], ['none', 1]], [2]) }), {
    params: 912 + 3616,
    macs: 229_376 + 114_688 + 229_376 + 114_688,
  });
  // dil_conv_5x5 at stride 2 (padding 4, dilation 2): 32² → 16² at C=8, 16² → 8² at C=16.
  assert.deepEqual(delta(BASE, { normal: EMPTY, reduce: cell([['dil_conv_5x5', 1], ['none', 1]], [2]) }), {
    params: (200 + 64 + 16) + (400 + 256 + 32),
    macs: 256 * (200 + 64) + 64 * (400 + 256),
  });
});

test('operations feeding dead nodes are still built and counted', () => {
  const deadBase = cell([['none', 0], ['none', 1], ['none', 0], ['none', 1]], [3]);
  const deadSep = cell([['sep_conv_3x3', 0], ['none', 1], ['none', 0], ['none', 1]], [3]);
  assert.deepEqual(delta({ normal: deadBase, reduce: EMPTY }, { normal: deadSep, reduce: EMPTY }), {
    params: 120,
    macs: 106_496,
  });
});

test('loose-end concats change the channels the next cells read', () => {
  // Normal cell 0 with m concat nodes outputs 4m channels. That changes cell 1's pre1 (1×1 4m→8 + BN:
  // 32m + 16) and cell 2's pre0 (FactorizedReduce 4m→16: 2·4m·8 + 32 = 64m + 32): 96 per concat node.
  const one = cell([['none', 0], ['none', 1], ['none', 0], ['none', 1]], [3]);
  const two = cell([['none', 0], ['none', 1], ['none', 0], ['none', 1]], [2, 3]);
  assert.equal(delta({ normal: one, reduce: EMPTY }, { normal: two, reduce: EMPTY }).params, 96);
  // Reduce concat of r nodes: cell 1 outputs 8r (cell 2's pre1 1×1 8r→16: 128r + 32), cell 2 outputs 16r
  // (classifier 16r·2 + 2; auxiliary 1×1 conv 16r·128). Without the head: 160 per node; with it, 2,048 more.
  const a = networkCost({ normal: EMPTY, reduce: one }, TINY);
  const b = networkCost({ normal: EMPTY, reduce: two }, TINY);
  assert.equal(b.params - a.params, 160);
  assert.equal(b.paramsWithAuxiliary - a.paramsWithAuxiliary, 160 + 2048);
  // NASNet's reduce concat has 3 of 5 nodes, so its network is smaller than with all five concatenated.
  const nasnet = builtin('NASNet')!.genotype;
  const allConcat = { ...nasnet, reduce: { ...nasnet.reduce, concat: [2, 3, 4, 5, 6] } };
  assert.ok(networkCost(nasnet, CIFAR_EVALUATION).params < networkCost(allConcat, CIFAR_EVALUATION).params);
});

test('input size: MACs scale with the area, a stride-2 stem makes 64×64 cost like 32×32', () => {
  const at = (inputSize: number) => networkCost(DARTS_V2, { ...CIFAR_EVALUATION, inputSize });
  const classifierMacs = 4 * 144 * 10; // the global pool leaves 576 features whatever the size
  assert.equal(at(16).macs - classifierMacs, (at(32).macs - classifierMacs) / 4);
  assert.equal(at(16).params, at(32).params);
  // Tiny-ImageNet: the stride-2 stem brings 64² to 32², after which the network is identical.
  assert.deepEqual(at(64), at(32));
});

test('metrics.ts re-exports the cost API', () => {
  assert.equal(metrics.networkCost, networkCost);
  assert.equal(metrics.opParams, opParams);
  assert.equal(metrics.CIFAR_EVALUATION, CIFAR_EVALUATION);
});

test('the auxiliary head reads an 8×8 map on CIFAR and on Tiny-ImageNet (stride-2 stem), not on Fashion-MNIST', () => {
  assert.equal(auxiliaryInputSide(32), 8);
  assert.equal(auxiliaryInputSide(64), 8);
  assert.equal(auxiliaryInputSide(28), 7);
});
