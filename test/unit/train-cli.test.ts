/**
 * `cellscope train / runs / resume / cancel`: flag handling in process, and
 * the trainer as users run it — the bundled CLI in its own process, stopped
 * by SIGTERM (checkpoint, status cancelled, then resumed to the end), by
 * `cellscope cancel`, and killed by SIGKILL (reported failed by `runs`,
 * resumable from the last epoch, its stale writer lock taken over), and a
 * second writer refused while a trainer has the run.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import * as esbuild from 'esbuild';
import { cli, type CliResult } from './cli-helpers.js';
import { parseProgressLine, RUN_FORMAT, type MetricsLine, type ProgressLine, type RunRecord } from '../../src/shared/runTypes.js';
import { createRun, readRunRecord } from '../../src/runs/runStore.js';
import { presetSettings } from '../../src/runs/presets.js';

const root = join(__dirname, '..', '..');
let bundle: string;

before(async () => {
  // Built with the project's settings into a folder of its own, so that the
  // test never races a concurrent `npm run build` writing dist/.
  bundle = mkdtempSync(join(tmpdir(), 'cellscope-train-cli-'));
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
  // As scripts/build.mjs does for dist/: the wasm binaries beside the bundle.
  const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const file of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, file), join(bundle, file));
});
after(() => rmSync(bundle, { recursive: true, force: true }));

const TINY_FLAGS = ['--dataset', 'synthetic', '--preset', 'quick', '--epochs', '2', '--channels', '4', '--layers', '3', '--batch', '16', '--train-subset', '48', '--test-subset', '16', '--grad-variance-batches', '2', '--backend', 'wasm', '--seed', '5'];

/** The bundled CLI as a child process, with its progress lines as they come. */
function spawnCli(args: string[], cwd: string, onLine: (line: ProgressLine, child: ChildProcess) => void = () => {}) {
  const child = spawn(process.execPath, [join(bundle, 'cli.js'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: ProgressLine[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = parseProgressLine(buffer.slice(0, nl));
      buffer = buffer.slice(nl + 1);
      if (line !== undefined) {
        lines.push(line);
        onLine(line, child);
      }
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, lines, exited, stderr: () => stderr };
}

function metricsOf(dir: string): MetricsLine[] {
  return readFileSync(join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as MetricsLine);
}

test('train checks its arguments before creating a run', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cellscope-train-args-'));
  const none = await cli(['train'], cwd);
  assert.equal(none.code, 2);
  assert.match(none.err, /train needs exactly one GENOTYPE/);
  const dataset = await cli(['train', 'DARTS_V2', '--dataset', 'mnist'], cwd);
  assert.equal(dataset.code, 2);
  assert.match(dataset.err, /--dataset must be one of synthetic, cifar10, cifar100, tiny-imagenet, fashion-mnist/);
  const aux = await cli(['train', 'DARTS_V2', '--dataset', 'fashion-mnist', '--auxiliary'], cwd);
  assert.equal(aux.code, 2);
  assert.match(aux.err, /--auxiliary needs cells that see 32×32 .* fashion-mnist has 28×28/);
  // Tiny-ImageNet's stride-2 stem gives the cells 32×32, so the head is allowed; what stops this run is the missing data.
  writeFileSync(join(cwd, 'not-a-folder'), '');
  const tiny = await cli(['train', 'DARTS_V2', '--dataset', 'tiny-imagenet', '--auxiliary', '--data', join(cwd, 'not-a-folder')], cwd);
  assert.equal(tiny.code, 2);
  assert.doesNotMatch(tiny.err, /auxiliary/);
  assert.match(tiny.err, /not-a-folder/);
  const unknown = await cli(['train', 'DARTS_V9', '--dataset', 'synthetic'], cwd);
  assert.equal(unknown.code, 1);
  assert.match(unknown.err, /'DARTS_V9' is neither a file nor a built-in genotype/);
  assert.equal(existsSync(join(cwd, 'runs')), false);
});

test('runs reports a dead trainer\'s run as failed without touching run.json, unless asked with --mark-failed', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cellscope-runs-cli-'));
  assert.match((await cli(['runs'], cwd)).out, /^no runs in /);
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout.trim());
  const now = new Date().toISOString();
  const run = createRun(join(cwd, 'runs'), 'DARTS_V2', (id): RunRecord => ({
    format: RUN_FORMAT,
    id,
    status: 'running',
    genotype: { name: 'DARTS_V2', text: '', ref: 'DARTS_V2', origin: 'built-in', normal: { width: 3.5, depth: 3 }, reduce: { width: 4, depth: 2 } },
    params: 123456,
    config: { ...presetSettings('quick', 'synthetic'), dataset: 'synthetic', dataDir: null, download: false, preset: 'quick', seed: 0, backend: 'wasm' },
    seed: 0,
    backend: null,
    dataset: null,
    versions: { cellscope: '0.1.0', node: process.version, tfjs: '4.22.0' },
    pid: deadPid,
    host: hostname(),
    startedAt: now,
    updatedAt: now,
    epochsCompleted: 4,
    resumes: [],
  }));
  const before = readFileSync(join(run.dir, 'run.json'), 'utf8');

  const table = await cli(['runs'], cwd);
  assert.equal(table.code, 0);
  assert.match(table.out, new RegExp(`${run.id}\\s+failed\\s+DARTS_V2`));
  assert.match(table.out, /trainer process exited without finishing \(last epoch 4\)/);
  const json = JSON.parse((await cli(['runs', '--json'], cwd)).out) as Array<Record<string, unknown>>;
  assert.equal(json.length, 1);
  assert.equal(json[0]!['status'], 'failed');
  assert.equal(json[0]!['recordedStatus'], 'running');
  assert.equal(json[0]!['reason'], 'trainer process exited without finishing (last epoch 4)');
  assert.equal(json[0]!['params'], 123456);
  assert.equal(readFileSync(join(run.dir, 'run.json'), 'utf8'), before);

  await cli(['runs', '--mark-failed'], cwd);
  const marked = readRunRecord(run.dir);
  assert.equal(marked.status, 'failed');
  assert.equal(marked.reason, 'trainer process exited without finishing (last epoch 4)');
  const cancel = await cli(['cancel', run.id], cwd);
  assert.equal(cancel.code, 1);
  assert.match(cancel.err, /is not running \(failed/);
});

test('SIGTERM after the first progress line: checkpoint, status cancelled, exit 143; resume finishes the run', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cellscope-sigterm-'));
  let signalled = false;
  const first = spawnCli(['train', 'DARTS_V2', ...TINY_FLAGS], cwd, (line, child) => {
    if (line.type === 'step' && !signalled) {
      signalled = true;
      child.kill('SIGTERM');
    }
  });
  const { code } = await first.exited;
  assert.equal(code, 143, first.stderr());
  const start = first.lines[0]!;
  assert.equal(start.type, 'start');
  const dir = start.type === 'start' ? start.runDir : '';
  const stopped = readRunRecord(dir);
  assert.equal(stopped.status, 'cancelled');
  assert.match(stopped.reason!, /^cancelled (at epoch 1, step \d+|after epoch 1)$/);
  assert.ok(existsSync(join(dir, 'checkpoint.bin')));
  assert.deepEqual(first.lines[first.lines.length - 1], { type: 'end', runId: stopped.id, status: 'cancelled', reason: stopped.reason });
  assert.match(readFileSync(join(dir, 'log.txt'), 'utf8'), /SIGTERM received/);

  const second = spawnCli(['resume', stopped.id], cwd);
  assert.equal((await second.exited).code, 0, second.stderr());
  const done = readRunRecord(dir);
  assert.equal(done.status, 'completed');
  assert.equal(done.reason, undefined);
  assert.equal(done.resumes.length, 1);
  assert.deepEqual(metricsOf(dir).map((m) => m.epoch), [1, 2]);
  const resumedAgain = await cli(['resume', stopped.id], cwd);
  assert.equal(resumedAgain.code, 1);
  assert.match(resumedAgain.err, /already completed/);
});

test('cellscope cancel stops a running trainer; SIGKILL loses at most the epoch in progress', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cellscope-cancel-'));
  let cancelled: Promise<CliResult> | undefined;
  const running = spawnCli(['train', 'DARTS_V2', ...TINY_FLAGS], cwd, (line) => {
    if (line.type === 'step' && cancelled === undefined) cancelled = cli(['cancel', line.runId, '--wait', '120'], cwd);
  });
  assert.equal((await running.exited).code, 143, running.stderr());
  const result = await cancelled!;
  assert.equal(result.code, 0, result.err);
  assert.match(result.out, /: cancelled \(cancelled (at|after) epoch 1/);

  let killedAfterEpoch = false;
  const killed = spawnCli(['train', 'DARTS_V2', ...TINY_FLAGS, '--epochs', '3'], cwd, (line, child) => {
    if (line.type === 'epoch' && line.metrics.epoch === 1) {
      killedAfterEpoch = true;
      child.kill('SIGKILL');
    }
  });
  const exit = await killed.exited;
  assert.equal(exit.signal, 'SIGKILL');
  assert.ok(killedAfterEpoch);
  const start = killed.lines[0]!;
  const dir = start.type === 'start' ? start.runDir : '';
  const id = start.runId;
  assert.equal(readRunRecord(dir).status, 'running');
  // The killed trainer's writer lock is left behind; resume takes it over (a crash never leaves a run stuck).
  assert.equal(JSON.parse(readFileSync(join(dir, 'trainer.lock'), 'utf8')).pid, killed.child.pid);
  const listed = JSON.parse((await cli(['runs', '--json'], cwd)).out) as Array<{ id: string; status: string; reason?: string }>;
  const entry = listed.find((r) => r.id === id)!;
  assert.equal(entry.status, 'failed');
  assert.match(entry.reason!, /^trainer process exited without finishing \(last epoch 1\)$/);

  const checkpointTime = statSync(join(dir, 'checkpoint.bin')).mtimeMs;
  const resumed = spawnCli(['resume', id], cwd);
  assert.equal((await resumed.exited).code, 0, resumed.stderr());
  const startLine = resumed.lines[0]!;
  assert.equal(startLine.type === 'start' && startLine.startEpoch, 1);
  assert.deepEqual(metricsOf(dir).map((m) => m.epoch), [1, 2, 3]);
  assert.ok(statSync(join(dir, 'checkpoint.bin')).mtimeMs > checkpointTime);
  assert.equal(readRunRecord(dir).status, 'completed');
  assert.equal(existsSync(join(dir, 'trainer.lock')), false);
});

test('a second writer on a run being trained is refused with the trainer\'s pid and changes nothing', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'cellscope-two-writers-'));
  let runDir = '';
  let paused: () => void = () => {};
  const trainerPaused = new Promise<void>((resolve) => (paused = resolve));
  let stopped = false;
  const first = spawnCli(['train', 'DARTS_V2', ...TINY_FLAGS, '--epochs', '3'], cwd, (line, child) => {
    if (line.type === 'start') runDir = line.runDir;
    if (line.type !== 'step' || stopped) return;
    // Held still in the middle of training (it keeps its lock), so that what follows does not race it.
    stopped = true;
    child.kill('SIGSTOP');
    paused();
  });
  await trainerPaused;
  try {
    // As another machine's stale view of the run, or a resume that checked the status an instant
    // before the trainer wrote it: run.json says cancelled while the trainer works on.
    const record = readRunRecord(runDir);
    writeFileSync(join(runDir, 'run.json.hand'), JSON.stringify({ ...record, status: 'cancelled', reason: 'cancelled at epoch 1, step 1' }));
    renameSync(join(runDir, 'run.json.hand'), join(runDir, 'run.json'));
    const before = { record: readFileSync(join(runDir, 'run.json'), 'utf8'), log: readFileSync(join(runDir, 'log.txt'), 'utf8') };
    const second = spawnCli(['resume', basename(runDir)], cwd);
    assert.equal((await second.exited).code, 1, second.stderr());
    assert.match(second.stderr(), new RegExp(`cellscope resume: run ${basename(runDir)} is already being trained by pid ${first.child.pid}\\n`));
    assert.deepEqual(second.lines, []);
    assert.deepEqual({ record: readFileSync(join(runDir, 'run.json'), 'utf8'), log: readFileSync(join(runDir, 'log.txt'), 'utf8') }, before);
  } finally {
    first.child.kill('SIGCONT');
  }
  assert.equal((await first.exited).code, 0, first.stderr());
  const done = readRunRecord(runDir);
  assert.equal(done.status, 'completed');
  assert.deepEqual(done.resumes, []);
  assert.deepEqual(metricsOf(runDir).map((m) => m.epoch), [1, 2, 3]);
  assert.doesNotMatch(readFileSync(join(runDir, 'log.txt'), 'utf8'), /resumed by process/);
});
