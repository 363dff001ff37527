/**
 * `--executor slurm` against a real Slurm, not a mock: the one-node cluster
 * of scripts/setup-slurm.sh (CI starts it from .ci/run). A tiny experiment
 * goes through it end to end — one job array, every task completes, the
 * report job runs after them; `cancel` of a task's run → cancelled with a
 * checkpoint, `resume` → resubmitted and completed; a task killed by
 * `scancel --signal=KILL` → failed; a lone `train` queued, cancelled and
 * resumed through Slurm; sbatch refusing (bad partition) or
 * missing → Slurm's message, nothing submitted, no folder left; and a runs
 * folder the compute node does not see (a tmpfs in a private mount
 * namespace) named by `experiment status`.
 *
 * The compute tasks run the built CLI (`node dist/cli.js`; `npm run build`
 * first). Where Slurm does not answer (not root, no packages) every test
 * skips saying why; under CI=true that is a failure instead.
 */
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { ExperimentFile } from '../../src/shared/experimentTypes.js';
import type { RunRecord } from '../../src/shared/runTypes.js';
import { slurmStateEnded } from '../../src/shared/slurmTypes.js';
import { jobStates, slurmNodeState } from '../../src/runs/slurm/slurmCommands.js';
import type { ExperimentStatus } from '../../src/runs/slurm/slurmStatus.js';

const root = join(__dirname, '..', '..');
const cliJs = join(root, 'dist', 'cli.js');

/** Why the tests cannot run here, or undefined when Slurm answers with a node that takes jobs. */
function slurmUnavailable(): string | undefined {
  const state = slurmNodeState();
  if (state === undefined) return 'Slurm does not answer (sinfo failed): run `bash scripts/setup-slurm.sh` as root to start a one-node Slurm';
  if (!/^(idle|mix|alloc|completing)/.test(state)) return `Slurm's node is ${state}, not idle: see scripts/setup-slurm.sh`;
  if (!existsSync(cliJs)) return `${cliJs} is missing: run npm run build first (the compute tasks run it)`;
  return undefined;
}

let unavailable: string | undefined;
before(() => {
  unavailable = slurmUnavailable();
  if (unavailable !== undefined && process.env['CI'] === 'true') throw new Error(`CI: ${unavailable}`);
  if (unavailable !== undefined) process.stderr.write(`slurm tests skip: ${unavailable}\n`);
});

// 16 test images: two batches of 8, as the variance probe on the test split (the paper's default) needs.
const TINY = ['--dataset', 'synthetic', '--preset', 'quick', '--layers', '3', '--channels', '4', '--batch', '8', '--test-subset', '16', '--grad-variance-batches', '2', '--backend', 'wasm'];

function cellscope(args: readonly string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, [cliJs, ...args], { encoding: 'utf8', env, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls until `check` gives a value; fails naming `what` after `limitMs` (a deadline, not a timing assertion). */
async function waitFor<T>(what: string, check: () => T | undefined, limitMs = 120_000): Promise<T> {
  const deadline = Date.now() + limitMs;
  for (;;) {
    const v = check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await sleep(300);
  }
}

function experimentFile(dir: string): ExperimentFile {
  return JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8')) as ExperimentFile;
}

function status(dir: string): ExperimentStatus {
  const r = cellscope(['experiment', 'status', dir, '--json']);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as ExperimentStatus;
}

function runRecord(dir: string, runId: string): RunRecord {
  return JSON.parse(readFileSync(join(dir, 'runs', runId, 'run.json'), 'utf8')) as RunRecord;
}

async function waitEnded(jobs: readonly string[]): Promise<void> {
  await waitFor(`Slurm jobs ${jobs.join(', ')} to end`, () => {
    const states = jobStates(jobs);
    return jobs.every((j) => states.get(j) !== undefined && slurmStateEnded(states.get(j)!.state)) ? true : undefined;
  });
}

test('an experiment goes through Slurm as one array and a report job after it; train --executor slurm too', async (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  const base = mkdtempSync(join(tmpdir(), 'cellscope-slurm-'));
  const dir = join(base, 'exp');
  const extra = join(base, 'extra.sbatch');
  writeFileSync(extra, '# site lines\n#SBATCH --comment=cellscope-test\n');
  const submitted = cellscope([
    'experiment', 'DARTS_V2', '--variants', '1', '--widths', '2', '--dir', dir, ...TINY, '--epochs', '1', '--train-subset', '16', '--grid', '3',
    '--executor', 'slurm', '--partition', 'debug', '--gres', 'gpu:1', '--time', '20', '--max-running', '1', '--sbatch-file', extra,
  ]);
  assert.equal(submitted.code, 0, submitted.err);
  assert.match(submitted.err, /submitted array job \d+ \(2 tasks/);
  const sub = experimentFile(dir).slurm!.submissions[0]!;
  assert.deepEqual(sub.tasks, [0, 1]);
  const script = readFileSync(experimentFile(dir).slurm!.script, 'utf8');
  for (const line of ['#SBATCH --partition=debug', '#SBATCH --gres=gpu:1', '#SBATCH --time=20', '#SBATCH --comment=cellscope-test', 'experiment task']) assert.ok(script.includes(line), `the task script has ${line}`);
  // The throttle reached Slurm: --array=0,1%1.
  const shown = spawnSync('scontrol', ['show', 'job', '-o', sub.arrayJobId], { encoding: 'utf8' }).stdout;
  assert.match(shown, /ArrayTaskThrottle=1/);
  assert.match(shown, /TresPerNode=gres:gpu:1/, 'each task asks for one GPU');

  // A lone training through Slurm, meanwhile, on a runs folder of its own.
  // Held at submission, so that it is listed as queued before it runs.
  const runsDir = join(base, 'runs');
  const held = join(base, 'held.sbatch');
  writeFileSync(held, '#SBATCH --hold\n');
  const train = cellscope(['train', 'DARTS_V2', ...TINY, '--epochs', '1', '--train-subset', '16', '--runs', runsDir, '--executor', 'slurm', '--sbatch-file', held]);
  assert.equal(train.code, 0, train.err);
  const trainJob = (JSON.parse(train.out.trim()) as { jobId: string }).jobId;
  const queued = JSON.parse(cellscope(['runs', '--runs', runsDir, '--json']).out) as { status: string; slurmJob?: string; name?: string }[];
  assert.deepEqual(queued.map((q) => [q.status, q.slurmJob, q.name]), [['queued', trainJob, 'DARTS_V2']]);
  const release = spawnSync('scontrol', ['release', trainJob], { encoding: 'utf8' });
  assert.equal(release.status, 0, release.stderr);

  await waitEnded([`${sub.arrayJobId}_0`, `${sub.arrayJobId}_1`, sub.reportJobId, trainJob]);
  const done = status(dir);
  assert.deepEqual(done.entries.map((e) => e.status), ['completed', 'completed']);
  assert.deepEqual(done.entries.map((e) => e.jobState), ['COMPLETED', 'COMPLETED']);
  assert.equal(done.report?.state, 'COMPLETED');
  assert.deepEqual(done.problems, []);
  const file = experimentFile(dir);
  file.entries.forEach((e, k) => {
    const record = runRecord(dir, e.runId!);
    assert.equal(record.status, 'completed');
    assert.deepEqual([record.slurm?.arrayJobId, record.slurm?.taskId], [sub.arrayJobId, k], 'the run records the array task that trained it');
    assert.ok(existsSync(join(dir, 'runs', e.runId!, 'landscape.json')), 'the task computed the landscape');
  });
  // The report job ran after both tasks: its report has both runs and their landscapes.
  const html = readFileSync(join(dir, 'report.html'), 'utf8');
  assert.match(html, /<table class="results" data-rows="2">/);
  assert.match(html, /data-chart="contours"/);

  const runs = cellscope(['runs', '--runs', runsDir, '--json']);
  const listed = JSON.parse(runs.out) as (RunRecord & { status: string })[];
  assert.equal(listed.length, 1);
  assert.equal(listed[0]!.status, 'completed');
  assert.equal(listed[0]!.slurm?.jobId, trainJob);
});

test('cancel of a task → cancelled with its checkpoint; resume resubmits it → completed; scancel --signal=KILL → failed', async (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  const dir = join(mkdtempSync(join(tmpdir(), 'cellscope-slurm-')), 'exp');
  // Long enough (many steps) to be caught training; no landscape, to keep it short.
  const r = cellscope(['experiment', 'DARTS_V2', '--variants', '1', '--widths', '2', '--dir', dir, ...TINY, '--epochs', '30', '--train-subset', '32', '--no-landscape', '--executor', 'slurm']);
  assert.equal(r.code, 0, r.err);
  const sub = experimentFile(dir).slurm!.submissions[0]!;
  const runIds = await waitFor('both tasks to be training', () => {
    const f = experimentFile(dir);
    const ids = f.entries.map((e) => e.runId);
    return ids.every((id) => id !== null && existsSync(join(dir, 'runs', id, 'checkpoint.bin')) && runRecord(dir, id).status === 'running') ? (ids as string[]) : undefined;
  });
  const [cancelId, killId] = runIds as [string, string];

  const cancelled = cellscope(['cancel', cancelId, '--runs', join(dir, 'runs')]);
  assert.equal(cancelled.code, 0, cancelled.err);
  assert.match(cancelled.out, /cancelled/);
  assert.equal(runRecord(dir, cancelId).status, 'cancelled');
  const epochsAtCancel = runRecord(dir, cancelId).epochsCompleted;

  // Slurm 22.05 turns a bare `scancel --signal=KILL` into an ordinary cancel
  // (SIGTERM, SIGKILL after KillWait: the trainer checkpoints and ends
  // cancelled); --batch delivers the SIGKILL itself to the batch step, which
  // is the trainer.
  const kill = spawnSync('scancel', ['--signal=KILL', '--batch', `${sub.arrayJobId}_1`], { encoding: 'utf8' });
  assert.equal(kill.status, 0, kill.stderr);
  await waitEnded([`${sub.arrayJobId}_1`]);
  const killed = await waitFor('the killed task to show as failed', () => {
    const e = status(dir).entries[1]!;
    return e.status === 'failed' ? e : undefined;
  });
  assert.match(killed.reason ?? '', /exited without finishing|ended/);
  assert.equal(runRecord(dir, killId).status, 'running', 'run.json is left as the killed trainer wrote it');

  const resumed = cellscope(['resume', cancelId, '--runs', join(dir, 'runs')]);
  assert.equal(resumed.code, 0, resumed.err);
  assert.match(resumed.err, /submitted array job (\d+)/);
  const subs = experimentFile(dir).slurm!.submissions;
  assert.equal(subs.length, 2);
  assert.deepEqual(subs[1]!.tasks, [0]);
  assert.equal(subs[1]!.why, `resume ${cancelId}`);
  await waitEnded([`${subs[1]!.arrayJobId}_0`, subs[1]!.reportJobId]);
  const record = runRecord(dir, cancelId);
  assert.equal(record.status, 'completed');
  assert.equal(record.epochsCompleted, 30);
  assert.equal(record.resumes.length, 1);
  assert.equal(record.resumes[0]!.fromEpoch, epochsAtCancel, 'it continued from the checkpoint');
  assert.equal(record.slurm?.arrayJobId, subs[1]!.arrayJobId);
  const final = status(dir);
  assert.deepEqual(final.entries.map((e) => e.status), ['completed', 'failed']);
  assert.ok(existsSync(join(dir, 'report.html')), 'the new report job wrote the report');
});

test('a lone train run through Slurm: cancel → cancelled, resume submits a resume job with its options → completed', async (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  const runsDir = join(mkdtempSync(join(tmpdir(), 'cellscope-slurm-')), 'runs');
  const r = cellscope(['train', 'DARTS_V2', ...TINY, '--epochs', '30', '--train-subset', '32', '--runs', runsDir, '--executor', 'slurm', '--time', '25']);
  assert.equal(r.code, 0, r.err);
  const runId = await waitFor('the run to be training', () => {
    const id = existsSync(runsDir) ? readdirSync(runsDir).find((n) => !n.startsWith('.')) : undefined;
    return id !== undefined && existsSync(join(runsDir, id, 'checkpoint.bin')) ? id : undefined;
  });
  const cancelled = cellscope(['cancel', runId, '--runs', runsDir]);
  assert.equal(cancelled.code, 0, cancelled.err);
  const resumed = cellscope(['resume', runId, '--runs', runsDir]);
  assert.equal(resumed.code, 0, resumed.err);
  const job = /submitted job (\d+)/.exec(resumed.err)?.[1];
  assert.ok(job !== undefined, resumed.err);
  await waitEnded([job]);
  const record = JSON.parse(readFileSync(join(runsDir, runId, 'run.json'), 'utf8')) as RunRecord;
  assert.equal(record.status, 'completed');
  assert.equal(record.resumes.length, 1);
  assert.equal(record.slurm?.jobId, job);
  assert.match(readFileSync(record.slurm!.script!, 'utf8'), /#SBATCH --time=25\n[^]*exec .* resume /, 'the resume job kept the original\'s options');
});

test('sbatch refusing (a bad partition) or missing: Slurm\'s message, nothing submitted, no folder left', async (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  const base = mkdtempSync(join(tmpdir(), 'cellscope-slurm-'));
  const dir = join(base, 'exp');
  const bad = cellscope(['experiment', 'DARTS_V2', '--variants', '1', '--widths', '2', '--dir', dir, ...TINY, '--epochs', '1', '--executor', 'slurm', '--partition', 'no-such-partition']);
  assert.equal(bad.code, 1);
  assert.match(bad.err, /sbatch refused the job: .*invalid partition/i);
  assert.ok(!existsSync(dir), 'the new experiment folder was removed');
  // More GPUs than the node has (two): sbatch says so.
  const gres = cellscope(['train', 'DARTS_V2', ...TINY, '--runs', join(base, 'runs'), '--executor', 'slurm', '--gres', 'gpu:9']);
  assert.equal(gres.code, 1);
  assert.match(gres.err, /sbatch refused the job: .*Requested node configuration is not available/);
  assert.deepEqual(readdirSync(join(base, 'runs', '.slurm')).filter((f) => f.endsWith('.sh')), [], 'the refused job\'s script is gone');

  // A PATH with node alone (node's own folder may hold sbatch too: /usr/bin).
  const bin = join(base, 'bin');
  mkdirSync(bin);
  symlinkSync(process.execPath, join(bin, 'node'));
  const noSlurm = cellscope(['experiment', 'DARTS_V2', '--dir', dir, '--executor', 'slurm'], { ...process.env, PATH: bin });
  assert.equal(noSlurm.code, 1);
  assert.match(noSlurm.err, /sbatch is not on PATH/);
  assert.ok(!existsSync(dir));

  const flag = cellscope(['experiment', 'DARTS_V2', '--dir', dir, '--partition', 'debug']);
  assert.equal(flag.code, 2);
  assert.match(flag.err, /--partition needs --executor slurm/);
});

test('a runs folder the compute node does not see is named by experiment status', async (t) => {
  if (unavailable !== undefined) return t.skip(unavailable);
  const probe = spawnSync('unshare', ['-m', '--propagation', 'private', 'true']);
  if (probe.status !== 0) return t.skip('unshare -m is not allowed here (it makes the folder only the submitter sees)');
  const base = mkdtempSync(join(tmpdir(), 'cellscope-slurm-private-'));
  // In a private mount namespace a tmpfs covers `base`: the submitter writes
  // there, slurmd (outside) sees the empty folder beneath.
  const shell = [
    'set -e',
    `mount -t tmpfs tmpfs ${base}`,
    `node ${cliJs} experiment DARTS_V2 --variants 1 --widths 2 --dir ${base}/exp ${TINY.join(' ')} --epochs 1 --no-landscape --executor slurm`,
    'for i in $(seq 1 200); do',
    `  if node ${cliJs} experiment status ${base}/exp | grep -q '^problem: '; then break; fi`,
    '  sleep 0.3',
    'done',
    `node ${cliJs} experiment status ${base}/exp`,
  ].join('\n');
  const r = spawnSync('unshare', ['-m', '--propagation', 'private', 'bash', '-c', shell], { encoding: 'utf8', env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env['PATH']}` }, timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`problem: the runs folder ${base}/exp/runs is not shared with the compute node ci1`));
  assert.match(r.stdout, /marker it writes first .* is not visible here/);
});
