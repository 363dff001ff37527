import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nearestName } from '../../src/genotype/suggest.js';
import { KNOWN_OPS } from '../../src/genotype/ops.js';

const ops = [...KNOWN_OPS.keys()];

test('one-keystroke typos of operations find the operation', () => {
  assert.equal(nearestName('sep_conv_3x4', ops), 'sep_conv_3x3');
  assert.equal(nearestName('sep_conv3x3', ops), 'sep_conv_3x3');
  assert.equal(nearestName('dil_conv_5x5_', ops), 'dil_conv_5x5');
  assert.equal(nearestName('skip_conect', ops), 'skip_connect');
  // An adjacent transposition counts as one edit.
  assert.equal(nearestName('max_pool_3x3'.replace('pool', 'polo'), ops), 'max_pool_3x3');
});

test('case is ignored when measuring, preferring the closer case among ties', () => {
  assert.equal(nearestName('darts_v2', ['DARTS_V1', 'DARTS_V2']), 'DARTS_V2');
  assert.equal(nearestName('Darts', ['DARTS', 'darts']), 'darts');
});

test('names too far from every candidate get no suggestion', () => {
  assert.equal(nearestName('conv', ops), undefined);
  assert.equal(nearestName('identity', ops), undefined);
  assert.equal(nearestName('x', ['none']), undefined);
  assert.equal(nearestName('anything', []), undefined);
});

test('the closest of several near candidates wins', () => {
  assert.equal(nearestName('sep_conv_5x4', ops), 'sep_conv_5x5');
  assert.equal(nearestName('avg_pool_3x3', ops), 'avg_pool_3x3');
});
