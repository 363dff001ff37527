/**
 * Training batch norm alone on wasm, forward and backward (dy given as the
 * upstream gradient, running statistics updated), composed tf ops vs the SIMD passes
 * (src/train/kernels/batchNorm.ts), alternating in one process on the DARTS
 * step's shapes; prints the median ms per call of each.
 *
 *   npx tsx bench/batchnorm-ab.ts [--rounds 7] [--reps 5]
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { selectBackend } from '../src/train/backend.js';
import { batchNorm, setBatchNormSimd, type BatchNormParams } from '../src/train/network/batchNorm.js';

const SHAPES: Array<[number, number, number, number]> = [[64, 32, 32, 48], [64, 32, 32, 16], [64, 16, 16, 32], [64, 8, 8, 64]];

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? fallback : Number(process.argv[i + 1]);
}

void (async () => {
  await selectBackend('wasm');
  const rounds = flag('rounds', 7);
  const reps = flag('reps', 5);
  for (const shape of SHAPES) {
    const c = shape[3];
    const p: BatchNormParams = tf.tidy(() => ({
      gamma: tf.variable(tf.randomUniform([c], 0.5, 1.5)), beta: tf.variable(tf.randomUniform([c], -0.5, 0.5)),
      runningMean: tf.variable(tf.zeros([c])), runningVar: tf.variable(tf.ones([c])),
    }));
    const x = tf.randomNormal(shape, 0.3, 2) as tf.Tensor4D;
    const dy = tf.randomNormal(shape);
    const once = (): void => {
      tf.tidy(() => {
        // dy as the upstream gradient: no loss ops around batch norm.
        const grads = tf.grads((t: tf.Tensor, g: tf.Tensor, b: tf.Tensor) =>
          batchNorm(t as tf.Tensor4D, { ...p, gamma: g as tf.Variable, beta: b as tf.Variable }, { training: true }))([x, p.gamma, p.beta], dy);
        grads[2]!.dataSync();
      });
    };
    const times = { composed: [] as number[], simd: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      for (const mode of r % 2 === 0 ? ['composed', 'simd'] as const : ['simd', 'composed'] as const) {
        setBatchNormSimd(mode === 'simd');
        once();
        const t0 = performance.now();
        for (let i = 0; i < reps; i++) once();
        times[mode].push((performance.now() - t0) / reps);
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    const [a, b] = [median(times.composed), median(times.simd)];
    console.log(`[${shape.join(',')}] composed ${a.toFixed(2)} ms, simd ${b.toFixed(2)} ms: ${(a / b).toFixed(2)}×`);
    tf.dispose([x, dy, p.gamma, p.beta, p.runningMean, p.runningVar]);
  }
})();
