/**
 * Training batch norm's SIMD passes on wasm (src/train/kernels/batchNorm.ts)
 * against the composed tf ops (on wasm with the SIMD passes off, and on the
 * cpu backend): outputs, all three gradients and the running statistics,
 * on the network's channel counts and ones not divisible by 4 or 16, batch
 * 1, and a batch split in uneven shards under a BatchNormSync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  batchNorm, combineMoments, setBatchNormSimd, setBatchNormSync,
  type BatchNormParams, type BatchNormSync, type ChannelMoments,
} from '../../src/train/network/batchNorm.js';
import { simdKernels } from '../../src/train/kernels/simd.js';
import { relativeMaxError, seeded, tf } from './train-helpers.js';

let worst: Partial<Record<string, number>> = {};

interface Outcome {
  y: Float32Array;
  dx: Float32Array;
  dGamma: Float32Array;
  dBeta: Float32Array;
  runningMean: Float32Array;
  runningVar: Float32Array;
}

function params(c: number): BatchNormParams {
  return tf.tidy(() => ({
    gamma: tf.variable(tf.tensor1d(seeded(c, 3, 0.5, 1.5))),
    beta: tf.variable(tf.tensor1d(seeded(c, 4, -0.5, 0.5))),
    runningMean: tf.variable(tf.tensor1d(seeded(c, 5, -0.1, 0.1))),
    runningVar: tf.variable(tf.tensor1d(seeded(c, 6, 0.9, 1.1))),
  }));
}

/** One training forward and backward (loss Σ dy·y) of batch norm on the current backend. */
function run(shape: [number, number, number, number], xv: Float32Array, dyv: Float32Array): Outcome {
  const p = params(shape[3]);
  const out = tf.tidy(() => {
    const x = tf.tensor4d(xv, shape);
    const dy = tf.tensor4d(dyv, shape);
    let y: tf.Tensor | undefined;
    const f = (t: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => {
      const out = batchNorm(t as tf.Tensor4D, { ...p, gamma: g as tf.Variable, beta: b as tf.Variable }, { training: true });
      y = tf.keep(out);
      return tf.sum(tf.mul(dy, out));
    };
    const [dx, dGamma, dBeta] = tf.grads(f)([x, p.gamma, p.beta]);
    const values = [y!, dx!, dGamma!, dBeta!].map((t) => t.dataSync() as Float32Array);
    y!.dispose();
    return values;
  });
  const result = { y: out[0]!, dx: out[1]!, dGamma: out[2]!, dBeta: out[3]!, runningMean: p.runningMean.dataSync() as Float32Array, runningVar: p.runningVar.dataSync() as Float32Array };
  tf.dispose([p.gamma, p.beta, p.runningMean, p.runningVar]);
  return result;
}

const TOLERANCE: Record<keyof Outcome, number> = { y: 2e-6, dx: 1e-5, dGamma: 1e-5, dBeta: 1e-5, runningMean: 1e-6, runningVar: 1e-6 };

function assertClose(expected: Outcome, actual: Outcome, what: string): void {
  for (const key of Object.keys(TOLERANCE) as Array<keyof Outcome>) {
    const err = relativeMaxError(expected[key], actual[key]);
    worst[`${what.split(' ').slice(-3).join(' ')} ${key}`] = Math.max(worst[`${what.split(' ').slice(-3).join(' ')} ${key}`] ?? 0, err);
    assert.ok(err < TOLERANCE[key], `${what}: ${key} relative error ${err}`);
  }
}

const SHAPES: Array<[number, number, number, number]> = [
  [4, 8, 8, 16], [2, 16, 16, 32], [2, 4, 4, 48], [3, 4, 4, 64], [2, 32, 32, 16], // the network's channel counts
  [1, 8, 8, 16], [1, 1, 1, 16], // batch 1
  [2, 5, 5, 3], [1, 3, 3, 7], [2, 4, 4, 20], [1, 1, 1, 6], [2, 3, 3, 36], // channels not divisible by 4 or 16, tails
];

test('batch norm SIMD passes on wasm equal the composed ops on wasm and on cpu: outputs, gradients, running statistics', async () => {
  for (const shape of SHAPES) {
    const n = shape.reduce((a, b) => a * b, 1);
    const xv = seeded(n, 11 + n, -2, 3);
    const dyv = seeded(n, 12 + n);
    await tf.setBackend('cpu');
    const cpu = run(shape, xv, dyv);
    await tf.setBackend('wasm');
    // CELLSCOPE_WASM_SIMD=0 runs this file on the composed path on both sides instead.
    if (process.env.CELLSCOPE_WASM_SIMD !== '0') assert.notEqual(simdKernels(tf.backend()), null, 'wasm SIMD is available (else this compares the composed path with itself)');
    const before = tf.memory().numTensors;
    const simd = run(shape, xv, dyv);
    assert.equal(tf.memory().numTensors, before, `${shape}: no tensor leaks`);
    setBatchNormSimd(false);
    const composed = run(shape, xv, dyv);
    setBatchNormSimd(true);
    assertClose(composed, simd, `${shape} wasm composed vs SIMD`);
    assertClose(cpu, simd, `${shape} cpu vs SIMD`);
  }
  if (process.env.BN_SIMD_ERRORS === '1') console.log(JSON.stringify(worst));
  worst = {};
});

/**
 * Runs shards of one batch in turn under a sync that answers from the
 * previous round's locals (combined as the thread group does): three rounds
 * make the moments and then the sums those of the whole batch.
 */
function runSharded(shape: [number, number, number, number], sizes: number[], xv: Float32Array, dyv: Float32Array): Outcome {
  const [, h, w, c] = shape;
  const per = h * w * c;
  let moments: Array<ChannelMoments | undefined> = [];
  let sums: Array<[Float32Array, Float32Array] | undefined> = [];
  let results: Outcome[] = [];
  for (let round = 0; round < 3; round++) {
    const nextMoments: ChannelMoments[] = [];
    const nextSums: Array<[Float32Array, Float32Array]> = [];
    results = [];
    let offset = 0;
    for (const [rank, size] of sizes.entries()) {
      const sync: BatchNormSync = {
        moments: (local) => {
          nextMoments[rank] = { count: local.count, mean: Float64Array.from(local.mean), m2: Float64Array.from(local.m2) };
          return combineMoments(moments.length === sizes.length ? moments as ChannelMoments[] : [local]);
        },
        sums: (sumDy, sumDyXHat) => {
          nextSums[rank] = [Float32Array.from(sumDy), Float32Array.from(sumDyXHat)];
          const parts = sums.length === sizes.length ? sums as Array<[Float32Array, Float32Array]> : [[sumDy, sumDyXHat] as [Float32Array, Float32Array]];
          const total = (k: 0 | 1) => Float64Array.from({ length: c }, (_, i) => parts.reduce((a, s) => a + s[k][i]!, 0));
          return { sumDy: total(0), sumDyXHat: total(1) };
        },
      };
      const previous = setBatchNormSync(sync);
      try {
        results.push(run([size, h, w, c], xv.subarray(offset * per, (offset + size) * per), dyv.subarray(offset * per, (offset + size) * per)));
      } finally {
        setBatchNormSync(previous);
      }
      offset += size;
    }
    moments = nextMoments;
    sums = nextSums;
  }
  const cat = (k: 'y' | 'dx') => Float32Array.from(results.flatMap((r) => [...r[k]]));
  const add = (k: 'dGamma' | 'dBeta') => Float32Array.from({ length: c }, (_, i) => results.reduce((a, r) => a + r[k][i]!, 0));
  // Every shard moves the running statistics the same way.
  for (const r of results.slice(1)) {
    assert.ok(relativeMaxError(results[0]!.runningMean, r.runningMean) < 1e-7 && relativeMaxError(results[0]!.runningVar, r.runningVar) < 1e-7);
  }
  return { y: cat('y'), dx: cat('dx'), dGamma: add('dGamma'), dBeta: add('dBeta'), runningMean: results[0]!.runningMean, runningVar: results[0]!.runningVar };
}

test('synchronised batch norm: SIMD passes over uneven shards equal the composed sync path and the whole batch on cpu', async () => {
  const cases: Array<[[number, number, number, number], number[]]> = [
    [[5, 8, 8, 16], [2, 3]], [[3, 4, 4, 32], [1, 2]], [[4, 5, 5, 3], [3, 1]], [[3, 2, 2, 20], [1, 1, 1]],
  ];
  for (const [shape, sizes] of cases) {
    const n = shape.reduce((a, b) => a * b, 1);
    const xv = seeded(n, 21 + n, -2, 3);
    const dyv = seeded(n, 22 + n);
    await tf.setBackend('cpu');
    const whole = run(shape, xv, dyv);
    await tf.setBackend('wasm');
    const simd = runSharded(shape, sizes, xv, dyv);
    setBatchNormSimd(false);
    const composed = runSharded(shape, sizes, xv, dyv);
    setBatchNormSimd(true);
    assertClose(composed, simd, `${shape} / ${sizes} composed sync vs SIMD sync`);
    assertClose(whole, simd, `${shape} / ${sizes} whole batch on cpu vs SIMD sync`);
  }
  if (process.env.BN_SIMD_ERRORS === '1') console.log(JSON.stringify(worst));
  worst = {};
});
