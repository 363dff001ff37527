/**
 * `cellscope experiment --executor local --devices 0,1`: one worker process
 * per device, each with that device alone visible; here two fake CUDA
 * devices (CUDA_VISIBLE_DEVICES on a machine without them, the wasm backend
 * computing) train a tiny experiment's two entries, one each, into the same
 * files a sequential run writes, and the report follows.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import type { ExperimentFile } from '../../src/shared/experimentTypes.js';
import type { RunRecord } from '../../src/shared/runTypes.js';
import { DeviceError, deviceEnv, parseDevices } from '../../src/runs/deviceExecutor.js';

const root = join(__dirname, '..', '..');
let bundle: string;

before(async () => {
  // The project's CLI bundle in a folder of its own (a concurrent `npm run build` never races it).
  bundle = mkdtempSync(join(tmpdir(), 'cellscope-devices-'));
  await esbuild.build({
    // With the training threads' script, which the trainer starts from beside cli.js.
    entryPoints: [{ in: join(root, 'src/cli/main.ts'), out: 'cli' }, { in: join(root, 'src/train/parallel/worker.ts'), out: 'trainWorker' }],
    outdir: bundle,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'],
  });
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const file of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, file), join(bundle, file));
});
after(() => rmSync(bundle, { recursive: true, force: true }));

test('--devices takes all or device numbers, and a worker sees its device alone', () => {
  assert.deepEqual(parseDevices('0,2', 'cuda', () => 0), [{ kind: 'cuda', index: 0 }, { kind: 'cuda', index: 2 }]);
  assert.deepEqual(parseDevices('all', 'cuda', () => 2).map((d) => d.index), [0, 1]);
  assert.throws(() => parseDevices('all', 'cuda', () => 0), (e: Error) => e instanceof DeviceError && /no CUDA GPU/.test(e.message));
  assert.throws(() => parseDevices('0,x', 'cuda', () => 0), /not 'x'/);
  assert.throws(() => parseDevices('1,1', 'cuda', () => 0), /twice/);
  const env = deviceEnv({ CUDA_VISIBLE_DEVICES: '0,1,2,3' }, { kind: 'cuda', index: 2 });
  assert.equal(env['CUDA_VISIBLE_DEVICES'], '2');
  assert.equal(env['CELLSCOPE_DEVICE'], 'gpu:2');
  assert.equal(deviceEnv({}, { kind: 'webgpu', index: 1 })['CELLSCOPE_WEBGPU_ADAPTER'], '1');
});

test('two fake devices train a tiny experiment, one entry each, and the report follows', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'cellscope-devices-exp-')), 'exp');
  const r = spawnSync(
    process.execPath,
    [
      join(bundle, 'cli.js'), 'experiment', 'DARTS_V2', '--variants', '1', '--widths', '2', '--dir', dir, '--no-landscape',
      '--dataset', 'synthetic', '--preset', 'quick', '--epochs', '1', '--layers', '3', '--channels', '4', '--batch', '8',
      '--train-subset', '16', '--test-subset', '12', '--grad-variance-batches', '2', '--backend', 'wasm', '--devices', '0,1',
    ],
    { encoding: 'utf8', timeout: 240_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /2 entries over 2 devices/);
  const file = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8')) as ExperimentFile;
  const records = file.entries.map((e) => JSON.parse(readFileSync(join(dir, 'runs', e.runId!, 'run.json'), 'utf8')) as RunRecord);
  assert.deepEqual(records.map((x) => x.status), ['completed', 'completed']);
  // Both devices start at once, so entry 0 goes to the first and entry 1 to the second.
  assert.deepEqual(records.map((x) => x.device), ['gpu:0', 'gpu:1']);
  assert.notEqual(records[0]!.pid, records[1]!.pid, 'each entry trained in its own worker');
  assert.equal(r.stdout.trim().split('\n').pop(), join(dir, 'report.html'));
  assert.match(readFileSync(join(dir, 'report.html'), 'utf8'), /<table class="results" data-rows="2">/);
});
