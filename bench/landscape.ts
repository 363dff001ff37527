/**
 * bench/landscape: grid points per second of the landscape job on a fixed
 * run, against the floor of plain forward passes of the same images.
 *
 *   node --import tsx bench/landscape.ts [RUN_DIR] [--grid 5] [--subset 200] [--backend wasm] [--variance]
 *
 * Without RUN_DIR a tiny run is trained first (DARTS_V2, C = 8, 5 cells, one
 * epoch on 512 synthetic images; seed 0) so the numbers are comparable
 * between machines. Measured, per evaluation batch size:
 * - floor: one evaluation of the subset at fixed weights (forward passes
 *   only, inputs already on the device), as points per second;
 * - landscape: the whole job (moving the weights, evaluating, writing each
 *   point), points per second, and its ratio to the floor.
 * With --variance, the same for the variance surface against K gradient
 * computations. Prints a table; nothing is asserted.
 */
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { builtin } from '../src/genotype/library.js';
import type { RunConfig } from '../src/shared/runTypes.js';
import { selectBackend, type BackendChoice } from '../src/train/backend.js';
import { startTraining } from '../src/train/loop.js';
import { presetSettings } from '../src/runs/presets.js';
import { openLandscapeContext, resolveSpec, runLandscape, type LandscapeProgressLine, type LandscapeRequest } from '../src/train/probes/landscape.js';
import { readRunRecord } from '../src/runs/runStore.js';

function flag(name: string, fallback: string): string {
  const k = process.argv.indexOf(`--${name}`);
  return k >= 0 && process.argv[k + 1] !== undefined ? process.argv[k + 1]! : fallback;
}

async function fixedRun(root: string, backend: string): Promise<string> {
  const config: RunConfig = {
    ...presetSettings('quick', 'synthetic'),
    dataset: 'synthetic',
    dataDir: null,
    download: false,
    preset: 'quick',
    seed: 0,
    backend,
    epochs: 1,
    layers: 5,
    channels: 8,
    batchSize: 64,
    trainSubset: 512,
    testSubset: 500,
    gradVarianceBatches: 4,
  };
  const g = builtin('DARTS_V2')!;
  const outcome = await startTraining({ name: g.name, genotype: g.genotype, ref: 'DARTS_V2', origin: 'built-in' }, config, join(root, 'runs'), {
    stdout: () => {},
    stderr: (t) => process.stderr.write(t),
    handleSignals: false,
  });
  if (outcome.status !== 'completed') throw new Error(`training the fixed run failed: ${outcome.reason}`);
  return outcome.dir;
}

/** Points per second the job reports on its last progress line. */
async function jobRate(runDir: string, request: LandscapeRequest): Promise<number> {
  let rate = NaN;
  await runLandscape(runDir, request, {
    stdout: (text) => {
      for (const line of text.trim().split('\n')) {
        const value = JSON.parse(line) as LandscapeProgressLine;
        if (value.type === 'landscape' && value.pointsPerSecond !== null) rate = value.pointsPerSecond;
      }
    },
    stderr: () => {},
    progressIntervalMs: 0,
  });
  return rate;
}

async function main(): Promise<void> {
  const positional = process.argv.slice(2).filter((a, k, all) => !a.startsWith('--') && !(all[k - 1] ?? '').startsWith('--'));
  const grid = Number(flag('grid', '5'));
  const subset = Number(flag('subset', '200'));
  const backend = flag('backend', 'wasm') as BackendChoice;
  const variance = process.argv.includes('--variance');
  const root = mkdtempSync(join(tmpdir(), 'cellscope-bench-landscape-'));
  try {
    const runDir = positional[0] ?? (await fixedRun(root, backend));
    const record = readRunRecord(runDir);
    const chosen = await selectBackend(backend);
    console.log(`run ${record.id}: ${record.genotype.name}, C=${record.config.channels}, ${record.config.layers} cells; backend ${chosen.backend} (${chosen.device}); grid ${grid}×${grid}, ${subset} test images`);
    console.log('eval batch | floor points/s | landscape points/s | landscape / floor');
    for (const evalBatchSize of [50, subset]) {
      const spec = resolveSpec(record, { grid, subset });
      const context = await openLandscapeContext(runDir, spec, { evalBatchSize, variance: false });
      await context.loss(); // warm-up: kernels compiled, memory allocated
      const repeats = 5;
      const t = performance.now();
      for (let k = 0; k < repeats; k++) await context.loss();
      const floor = repeats / ((performance.now() - t) / 1000);
      context.dispose();
      const copy = join(root, `copy-${evalBatchSize}`);
      cpSync(runDir, copy, { recursive: true });
      rmSync(join(copy, 'landscape.json'), { force: true });
      rmSync(join(copy, 'landscape.points.jsonl'), { force: true });
      // The job's own rate (its last progress line): from the first point on, data loading excluded.
      const rate = await jobRate(copy, { grid, subset, evalBatchSize, backend: chosen.backend });
      console.log(`${String(evalBatchSize).padStart(10)} | ${floor.toFixed(2).padStart(14)} | ${rate.toFixed(2).padStart(18)} | ${(rate / floor).toFixed(2).padStart(17)}`);
    }
    if (variance) {
      const spec = resolveSpec(record, { grid, subset });
      const context = await openLandscapeContext(runDir, spec, { variance: true });
      await context.variance();
      const t = performance.now();
      await context.variance();
      const floor = 1 / ((performance.now() - t) / 1000);
      context.dispose();
      const copy = join(root, 'copy-variance');
      cpSync(runDir, copy, { recursive: true });
      rmSync(join(copy, 'landscape.json'), { force: true });
      rmSync(join(copy, 'landscape.points.jsonl'), { force: true });
      const rate = (await jobRate(copy, { grid, subset, what: ['loss', 'variance'], backend: chosen.backend })) / 2;
      console.log(`variance (K=${spec.varianceBatches}, batch ${spec.varianceBatchSize}): floor ${floor.toFixed(2)} points/s (gradients only), landscape with loss and variance ${rate.toFixed(2)} points/s`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
