/**
 * A valid run record and metrics line for tests that write run files by hand
 * (run.json is validated when read, so a partial one is a broken run). Each
 * test overrides the fields it is about.
 */
import { hostname } from 'node:os';
import { presetSettings } from '../../src/runs/presets.js';
import { RUN_FORMAT, type MetricsLine, type RunConfig, type RunRecord } from '../../src/shared/runTypes.js';

export const FIXTURE_TIME = '2025-01-31T14:25:01.000Z';

export function runRecordFixture(id: string, over: Partial<RunRecord> = {}): RunRecord {
  return {
    format: RUN_FORMAT,
    id,
    status: 'completed',
    genotype: { name: 'G', text: 'G = ...', ref: 'G', origin: 'built-in', normal: { width: 3, depth: 2 }, reduce: { width: 2, depth: 3 } },
    params: 10,
    config: { ...presetSettings('quick', 'synthetic'), dataset: 'synthetic', dataDir: null, download: false, preset: 'quick', seed: 0, backend: 'cpu' },
    seed: 0,
    backend: null,
    dataset: null,
    versions: { cellscope: '0', node: process.version, tfjs: '4' },
    pid: 4242,
    host: hostname(),
    startedAt: FIXTURE_TIME,
    updatedAt: FIXTURE_TIME,
    epochsCompleted: 0,
    resumes: [],
    ...over,
  };
}

export function metricsFixture(epoch: number, over: Partial<MetricsLine> = {}): MetricsLine {
  return {
    epoch,
    trainLoss: 2 / epoch,
    trainAcc: 0.2,
    testLoss: 2.2 / epoch,
    testAcc: 0.25,
    gradVariance: 0.1,
    gradVarianceRatio: 1,
    gradMeanNormSq: 0.1,
    lr: 0.025,
    dropPath: 0,
    seconds: 3,
    imagesPerSecond: 50,
    steps: 4,
    ...over,
  };
}

/**
 * A training run's config on the embedded synthetic set (preset quick, wasm,
 * nothing downloaded), with what a training test is about set over it: the
 * tests train tiny networks and each names its own shape and seed.
 */
export function syntheticRunConfig(over: Partial<RunConfig> & Pick<RunConfig, 'seed'>): RunConfig {
  return { ...presetSettings('quick', 'synthetic'), dataset: 'synthetic', dataDir: null, download: false, preset: 'quick', backend: 'wasm', ...over };
}
