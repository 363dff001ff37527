/**
 * The smoothness probe (Section 4.3; src/train/probes/hessian*.ts): power
 * iteration and Hutchinson's trace on matrices with a known spectrum, and
 * the network's Hessian-vector product (central differences of gradients)
 * against the loss's own second directional derivative
 * vᵀHv ≈ (L(w+εv) − 2L(w) + L(w−εv)) / ε², its symmetry, and the Rayleigh
 * bound the top eigenvalue must satisfy.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtin } from '../../src/genotype/library.js';
import { HESSIAN_FILE } from '../../src/shared/landscapeTypes.js';
import type { RunConfig } from '../../src/shared/runTypes.js';
import { presetSettings } from '../../src/runs/presets.js';
import { startTraining } from '../../src/train/loop.js';
import { selectBackend } from '../../src/train/backend.js';
import { centralDifferenceHvp, openFlatLoss, runHessianProbe } from '../../src/train/probes/hessian.js';
import { dot, hutchinsonTrace, norm, topEigenvalue, type HessianAction } from '../../src/train/probes/hessianPower.js';
import { mulberry32 } from '../../src/shared/mulberry32.js';

/** H = Q diag(λ) Qᵀ with Q a seeded random rotation (Gram–Schmidt), as a HessianAction. */
function knownSpectrum(lambdas: readonly number[], seed: number): { hv: HessianAction; n: number } {
  const n = lambdas.length;
  const next = mulberry32(seed);
  const q: Float64Array[] = [];
  while (q.length < n) {
    const v = Float64Array.from({ length: n }, () => next() - 0.5);
    for (const u of q) {
      const p = dot(u, v);
      for (let i = 0; i < n; i++) v[i] = v[i]! - p * u[i]!;
    }
    const s = norm(v);
    q.push(v.map((x) => x / s));
  }
  const hv: HessianAction = async (v) => {
    const out = new Float64Array(n);
    q.forEach((u, k) => {
      const c = lambdas[k]! * dot(u, v);
      for (let i = 0; i < n; i++) out[i] = out[i]! + c * u[i]!;
    });
    return out;
  };
  return { hv, n };
}

test('power iteration finds the top eigenvalue of a quadratic with a known spectrum', async () => {
  const lambdas = [12, 3, 2.5, 1, 0.5, -0.2, 0.1, 0];
  const { hv, n } = knownSpectrum(lambdas, 7);
  const r = await topEigenvalue(n, hv, { maxIterations: 200, tolerance: 1e-10, seed: 3 });
  assert.ok(r.converged);
  assert.ok(Math.abs(r.eigenvalue - 12) < 1e-6, `λ = ${r.eigenvalue}`);
  // The Rayleigh quotient of unit iterates never exceeds the top eigenvalue.
  for (const x of r.history) assert.ok(x <= 12 + 1e-9);
});

test('Hutchinson\'s estimate is unbiased for the trace: exact on a diagonal, within its standard error on a rotated spectrum', async () => {
  const lambdas = [5, 4, 3, 2, 1, 0.5];
  const diagonal: HessianAction = async (v) => v.map((x, i) => lambdas[i]! * x);
  assert.equal((await hutchinsonTrace(6, diagonal, 3, 1)).trace, 15.5);
  const { hv, n } = knownSpectrum(lambdas, 11);
  const r = await hutchinsonTrace(n, hv, 400, 2);
  assert.ok(Math.abs(r.trace - 15.5) <= 4 * r.standardError, `trace ${r.trace} ± ${r.standardError}`);
});

let runDir: string;
before(async () => {
  const config: RunConfig = {
    ...presetSettings('quick', 'synthetic'),
    dataset: 'synthetic',
    dataDir: null,
    download: false,
    preset: 'quick',
    seed: 5,
    backend: 'wasm',
    epochs: 1,
    layers: 3,
    channels: 4,
    batchSize: 8,
    trainSubset: 24,
    testSubset: 16,
    gradVarianceBatches: 2,
  };
  const g = builtin('DARTS_V2')!;
  const outcome = await startTraining({ name: g.name, genotype: g.genotype, ref: 'DARTS_V2', origin: 'built-in' }, config, join(mkdtempSync(join(tmpdir(), 'cellscope-hessian-')), 'runs'), {
    stdout: () => {},
    stderr: () => {},
    handleSignals: false,
  });
  assert.equal(outcome.status, 'completed');
  runDir = outcome.dir;
  await selectBackend('wasm');
});

test('the network\'s Hv (central differences of gradients) agrees with the loss\'s second directional derivative and is symmetric', async () => {
  const loss = await openFlatLoss(runDir, { batches: 2, seed: 0 });
  try {
    // With φ(t) = L(w + t·v): the loss's second difference at ε is a weighted mean of the gradient difference
    // (φ'(t) − φ'(−t))/2t over t ≤ ε, with weight 2t/ε²; for φ'' = c₀ + c₂t² that mean is the gradient difference at
    // ε/√2. So Hv's step is ε/√2: both then estimate φ''(0) to O(ε⁴), and disagree only by real error.
    const step = 1e-2;
    const hv = centralDifferenceHvp(loss, step / Math.SQRT2);
    const next = mulberry32(9);
    const random = () => {
      const v = Float64Array.from({ length: loss.size }, () => next() - 0.5);
      const s = norm(v);
      return v.map((x) => x / s);
    };
    const u = random();
    const v = random();
    const hvV = await hv(v);
    const hvU = await hv(u);
    // Second difference of the loss itself along v (unit v, so the same move ε = step·‖w‖).
    const eps = step * loss.weightNorm;
    const l0 = (await loss.at(null, 0, false)).loss;
    const lp = (await loss.at(v, eps, false)).loss;
    const lm = (await loss.at(v, -eps, false)).loss;
    loss.reset();
    const secondDifference = (lp - 2 * l0 + lm) / (eps * eps);
    const vHv = dot(v, hvV);
    assert.ok(Math.abs(vHv - secondDifference) <= 0.1 * Math.abs(secondDifference) + 1e-3, `vᵀHv ${vHv} vs second difference ${secondDifference}`);
    // A Hessian is symmetric: uᵀHv = vᵀHu, up to the differences' error, measured on the scale of the diagonal terms.
    const a = dot(u, hvV);
    const b = dot(v, hvU);
    const scale = Math.max(Math.abs(vHv), Math.abs(dot(u, hvU)));
    assert.ok(Math.abs(a - b) <= 0.15 * scale, `uᵀHv ${a} vs vᵀHu ${b} (diagonal scale ${scale})`);
  } finally {
    loss.dispose();
  }
});

test('hessian.json: the top eigenvalue bounds every Rayleigh quotient, and is recorded with how it was measured', async () => {
  const file = await runHessianProbe(runDir, { iterations: 8, traceSamples: 2, backend: 'wasm' }, { stdout: () => {} });
  assert.ok(existsSync(join(runDir, HESSIAN_FILE)));
  assert.equal(file.method, 'gradient-central-difference');
  assert.equal(file.batches, 2);
  assert.equal(file.history.length, file.iterations);
  assert.ok(file.topEigenvalue > 0, `λ_max ${file.topEigenvalue}`);
  assert.ok(file.trace !== null && Number.isFinite(file.trace));
  // λ_max ≥ vᵀHv for a unit v (up to the power iteration's not having fully converged in 8 steps).
  const loss = await openFlatLoss(runDir, { batches: 2, seed: 0 });
  try {
    const next = mulberry32(4);
    const v = Float64Array.from({ length: loss.size }, () => next() - 0.5);
    const s = norm(v);
    const unit = v.map((x) => x / s);
    const q = dot(unit, await centralDifferenceHvp(loss, file.stepRelative)(unit));
    assert.ok(file.topEigenvalue >= q, `λ_max ${file.topEigenvalue} < Rayleigh quotient ${q}`);
  } finally {
    loss.dispose();
  }
});
