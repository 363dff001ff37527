/**
 * One writer per run and only its proven trainer signalled
 * (src/runs/fileLock.ts acquireOwnerLock, src/runs/runStore.ts takeRunWriter,
 * src/runs/trainerProcess.ts): a lock held by a live process is refused with
 * its pid, one left by a process that was SIGKILLed or whose pid was recycled
 * is taken over; landscape and resume exclude each other; `cancel` never signals a process run.json names unless that
 * process holds the run's lock, and never a process group.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { cli } from './cli-helpers.js';
import { builtin } from '../../src/genotype/library.js';
import { printGenotype } from '../../src/genotype/printer.js';
import { acquireOwnerLock, LockHeldError } from '../../src/runs/fileLock.js';
import { processStartOf } from '../../src/runs/processes.js';
import { RunBusyError, takeRunWriter, WRITER_LOCK_FILE } from '../../src/runs/runStore.js';
import { proveTrainer } from '../../src/runs/trainerProcess.js';
import { presetSettings } from '../../src/runs/presets.js';
import { RUN_FORMAT, type RunRecord } from '../../src/shared/runTypes.js';

const root = join(__dirname, '..', '..');
const linux = processStartOf('self') !== undefined;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'cellscope-trainer-process-'));
}

/**
 * A live process that is not a trainer: it counts the SIGTERMs it gets and
 * says how many when asked on stdin ('?'), so a test can tell whether it was
 * signalled without waiting for anything.
 */
async function bystander(options: { detached?: boolean; holdLock?: string } = {}): Promise<{ child: ChildProcess; terms: () => Promise<number> }> {
  const script = [
    "let terms = 0; process.on('SIGTERM', () => terms++);",
    options.holdLock !== undefined
      ? `const { acquireOwnerLock } = require(${JSON.stringify(join(root, 'src/runs/fileLock.ts'))}); acquireOwnerLock(${JSON.stringify(options.holdLock)});`
      : '',
    "process.stdin.on('data', () => setImmediate(() => process.stdout.write(`${terms}\\n`)));",
    "process.stdout.write('ready\\n');",
  ].join('\n');
  const child = spawn(process.execPath, ['--import', 'tsx', '-e', script], { stdio: ['pipe', 'pipe', 'inherit'], detached: options.detached ?? false });
  let buffer = '';
  const waiters: Array<(line: string) => void> = [];
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      waiters.shift()?.(line);
    }
  });
  const next = () => new Promise<string>((resolve) => waiters.push(resolve));
  assert.equal(await next(), 'ready');
  return {
    child,
    terms: async () => {
      const answer = next();
      child.stdin!.write('?\n');
      return Number(await answer);
    },
  };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGKILL');
  await exited;
}

function runningRecord(id: string, pid: number, processStart: string | undefined): RunRecord {
  const now = new Date().toISOString();
  return {
    format: RUN_FORMAT,
    id,
    status: 'running',
    genotype: { name: 'G', text: 'G = ...', ref: 'G', origin: 'built-in', normal: { width: 3, depth: 2 }, reduce: { width: 2, depth: 3 } },
    params: 10,
    config: { ...presetSettings('quick', 'synthetic'), dataset: 'synthetic', dataDir: null, download: false, preset: 'quick', seed: 0, backend: 'cpu' },
    seed: 0,
    backend: null,
    dataset: null,
    versions: { cellscope: '0', node: process.version, tfjs: '4' },
    pid,
    host: hostname(),
    ...(processStart !== undefined ? { processStart } : {}),
    startedAt: now,
    updatedAt: now,
    epochsCompleted: 0,
    resumes: [],
  };
}

/** A run folder whose run.json (and, with `lockPid`, trainer.lock) names a process. */
function runNaming(cwd: string, id: string, pid: number, lockPid?: number): string {
  const dir = join(cwd, 'runs', id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'run.json'), JSON.stringify(runningRecord(id, pid, processStartOf(Math.abs(pid)))));
  if (lockPid !== undefined) {
    const start = processStartOf(lockPid);
    writeFileSync(join(dir, WRITER_LOCK_FILE), JSON.stringify({ pid: lockPid, host: hostname(), ...(start !== undefined ? { processStart: start } : {}), at: new Date().toISOString() }));
  }
  return dir;
}

test('an owner lock has one holder; a live holder in another process is refused with its pid, a SIGKILLed one is taken over', async () => {
  const dir = tempDir();
  const lockPath = join(dir, 'trainer.lock');
  const mine = acquireOwnerLock(lockPath);
  assert.throws(() => acquireOwnerLock(lockPath), (e: unknown) => e instanceof LockHeldError && e.holder?.pid === process.pid);
  mine.release();
  assert.equal(existsSync(lockPath), false);

  const other = await bystander({ holdLock: lockPath });
  try {
    assert.throws(() => takeRunWriter(dir), (e: unknown) => e instanceof RunBusyError && e.message.includes(`is already being trained by pid ${other.child.pid}`));
  } finally {
    await stop(other.child);
  }
  // SIGKILL left the lock behind: a crash must not leave the run stuck.
  assert.equal(JSON.parse(readFileSync(lockPath, 'utf8')).pid, other.child.pid);
  const taken = takeRunWriter(dir);
  assert.equal(JSON.parse(readFileSync(lockPath, 'utf8')).pid, process.pid);
  taken.release();
});

test('an owner lock whose pid was recycled is taken over; one held on another host is not', { skip: !linux && 'needs process start times (/proc)' }, () => {
  const dir = tempDir();
  const lockPath = join(dir, 'trainer.lock');
  const start = processStartOf('self')!;
  // This process's pid, but a start time it never had: the holder was another process now gone.
  writeFileSync(lockPath, JSON.stringify({ pid: process.pid, host: hostname(), processStart: `${start}9`, at: 'then' }));
  acquireOwnerLock(lockPath).release();
  writeFileSync(lockPath, JSON.stringify({ pid: 12345, host: `${hostname()}-elsewhere`, at: 'then' }));
  assert.throws(() => acquireOwnerLock(lockPath), (e: unknown) => e instanceof LockHeldError && / on .*-elsewhere$/.test(e.message));
});

test('cancel signals no live process that run.json or even a forged lock names unless it holds the run\'s lock', { skip: !linux && 'needs /proc' }, async () => {
  const cwd = tempDir();
  const victim = await bystander();
  try {
    const pid = victim.child.pid!;
    runNaming(cwd, 'named', pid);
    const bare = await cli(['cancel', 'named', '--wait', '0'], cwd);
    assert.equal(bare.code, 1);
    assert.match(bare.err, /not signalling: no trainer holds .*named\/trainer\.lock/);
    // A lock file written by hand, with the right pid and start time, is not holding the lock.
    const dir = runNaming(cwd, 'forged', pid, pid);
    const forged = await cli(['cancel', 'forged', '--wait', '0'], cwd);
    assert.equal(forged.code, 1);
    assert.match(forged.err, new RegExp(`pid ${pid} does not hold .*forged/trainer\\.lock: it is not the trainer of run forged`));
    assert.equal(proveTrainer(dir, { id: 'forged', pid, host: hostname() }).refused !== undefined, true);
    assert.equal(await victim.terms(), 0);
  } finally {
    await stop(victim.child);
  }
});

test('cancel never signals a process group, whatever pid run.json gives', async () => {
  const cwd = tempDir();
  // Its own process group (detached), whose id is its pid: kill(-pid) would reach it.
  const group = await bystander({ detached: true });
  try {
    const pid = group.child.pid!;
    runNaming(cwd, 'group', -pid);
    const result = await cli(['cancel', 'group', '--wait', '0'], cwd);
    assert.equal(result.code, 1);
    assert.match(result.err, /group\/run\.json: not a Cellscope run record: field pid: expected a positive whole number/);
    assert.equal(await group.terms(), 0);
  } finally {
    await stop(group.child);
  }
});

test('the proof holds for the process that took the lock', { skip: !linux && 'needs /proc' }, async () => {
  const cwd = tempDir();
  const dir = join(cwd, 'runs', 'held');
  mkdirSync(dir, { recursive: true });
  const trainer = await bystander({ holdLock: join(dir, WRITER_LOCK_FILE) });
  try {
    const pid = trainer.child.pid!;
    writeFileSync(join(dir, 'run.json'), JSON.stringify(runningRecord('held', pid, processStartOf(pid))));
    assert.deepEqual(proveTrainer(dir, { id: 'held', pid, host: hostname() }), { pid });
    // run.json naming another pid than the lock: neither is signalled.
    assert.match(proveTrainer(dir, { id: 'held', pid: process.pid, host: hostname() }).refused ?? '', /run\.json names pid .* but .* pid/);
    const result = await cli(['cancel', 'held', '--wait', '0'], cwd);
    assert.equal(result.code, 0, result.err);
    assert.match(result.out, new RegExp(`sent SIGTERM to process ${pid}`));
    // The signal and the question travel separately: ask until the handler has run (or 10 s pass).
    let terms = await trainer.terms();
    for (let tries = 0; terms === 0 && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      terms = await trainer.terms();
    }
    assert.equal(terms, 1);
  } finally {
    await stop(trainer.child);
  }
});

test('landscape and resume are the run\'s writers too: each is refused while the other has the run', async () => {
  const cwd = tempDir();
  const dir = join(cwd, 'runs', 'r');
  mkdirSync(dir, { recursive: true });
  const text = printGenotype('G', builtin('DARTS_V2')!.genotype);
  const record = runningRecord('r', 4242, undefined);
  writeFileSync(join(dir, 'run.json'), JSON.stringify({ ...record, status: 'cancelled', genotype: { ...record.genotype, text } }));
  const before = readFileSync(join(dir, 'run.json'), 'utf8');
  const training = takeRunWriter(dir);
  try {
    const landscape = await cli(['landscape', 'r'], cwd);
    assert.equal(landscape.code, 1);
    assert.equal(landscape.err, `cellscope landscape: run r is already being trained by pid ${process.pid}\n`);
  } finally {
    training.release();
  }
  const probing = takeRunWriter(dir, 'probed');
  try {
    const resume = await cli(['resume', 'r'], cwd);
    assert.equal(resume.code, 1);
    assert.equal(resume.err, `cellscope resume: run r is already being probed for its landscape by pid ${process.pid}\n`);
  } finally {
    probing.release();
  }
  assert.equal(readFileSync(join(dir, 'run.json'), 'utf8'), before);
  assert.deepEqual(readdirSync(dir), ['run.json']);
});
