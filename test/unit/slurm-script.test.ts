/**
 * The pure side of `--executor slurm`, without a cluster: the batch script
 * (options as #SBATCH lines, the marker, the exec'd trainer), extra lines
 * from a file, how Slurm's job listings are read (a pending array's ranges),
 * which job states count as waiting or over, and the status a run's files
 * and its job give together.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSbatchFile, renderBatchScript, sbatchLinesOf, shellQuote } from '../../src/runs/slurm/batchScript.js';
import { expandArrayJob, parseJobLines } from '../../src/runs/slurm/slurmCommands.js';
import { arraySpec } from '../../src/runs/slurm/submit.js';
import { slurmJobOfEnv } from '../../src/runs/slurm/jobEnv.js';
import { slurmGroupName, slurmJobName, slurmOrphanReason, slurmStateEnded, slurmStateWaiting } from '../../src/shared/slurmTypes.js';

test('the batch script carries the options, writes its marker first and execs the trainer', () => {
  const script = renderBatchScript({
    jobName: 'cellscope-DARTS_V2',
    runsDir: '/shared/exp/runs',
    options: { partition: 'gpu', gres: 'gpu:1', time: '12:00:00', mem: '16G', cpusPerTask: 4, account: 'nas', extraLines: ['#SBATCH --qos=long'] },
    path: '/shared/exp/runs/.slurm/experiment-DARTS_V2.sh',
    array: true,
    command: ['/usr/bin/node', '/opt/cellscope/dist/cli.js', 'experiment', 'task', '/shared/my exp'],
  });
  for (const line of ['--partition=gpu', '--gres=gpu:1', '--time=12:00:00', '--mem=16G', '--cpus-per-task=4', '--account=nas', '--qos=long', '--no-requeue', '--signal=B:TERM@90']) {
    assert.ok(script.includes(`#SBATCH ${line}\n`), `has #SBATCH ${line}`);
  }
  assert.match(script, /#SBATCH --output=\/shared\/exp\/runs\/\.slurm\/logs\/%x-%A_%a\.out/);
  const lines = script.split('\n');
  const marker = lines.findIndex((l) => l.includes('/shared/exp/runs/.slurm/markers'));
  const exec = lines.findIndex((l) => l.startsWith('exec '));
  assert.ok(marker > 0 && marker < exec, 'the marker is written before the trainer starts');
  assert.equal(lines[exec], "exec /usr/bin/node /opt/cellscope/dist/cli.js experiment task '/shared/my exp'");
  // #SBATCH lines must all come before the first command, or sbatch ignores them.
  assert.ok(lines.findIndex((l) => l.startsWith('#SBATCH')) > 0 && lines.filter((l, i) => l.startsWith('#SBATCH') && i > lines.findIndex((x) => x.startsWith('export'))).length === 0);
  assert.deepEqual(sbatchLinesOf(script).slice(0, 2), ['#SBATCH --partition=gpu', '#SBATCH --account=nas']);
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
});

test('extra #SBATCH lines: only those and comments', () => {
  assert.deepEqual(parseSbatchFile('# site\n#SBATCH --qos=long\n\n#SBATCH -C a100\n'), { lines: ['#SBATCH --qos=long', '#SBATCH -C a100'], bad: [] });
  assert.deepEqual(parseSbatchFile('#SBATCH --qos=x\nmodule load cuda\n').bad, ['module load cuda']);
  assert.equal(arraySpec([0, 1, 3], 2), '0,1,3%2');
  assert.equal(arraySpec([4], undefined), '4');
});

test('job listings: array tasks, pending ranges, states', () => {
  assert.deepEqual(expandArrayJob('12_[0-2,5%2]'), ['12_0', '12_1', '12_2', '12_5']);
  assert.deepEqual(expandArrayJob('12_3'), ['12_3']);
  const states = parseJobLines('12_0|COMPLETED|None|ci1\n12_[1-2]|PENDING|Dependency|\n13|CANCELLED by 0|0:15|ci1\n');
  assert.deepEqual(states.map((s) => [s.job, s.state]), [['12_0', 'COMPLETED'], ['12_1', 'PENDING'], ['12_2', 'PENDING'], ['13', 'CANCELLED']]);
  assert.ok(slurmStateWaiting('PENDING') && slurmStateWaiting('REQUEUED') && !slurmStateWaiting('RUNNING'));
  assert.ok(slurmStateEnded('TIMEOUT') && slurmStateEnded('CANCELLED') && !slurmStateEnded('RUNNING') && !slurmStateEnded('PENDING'));
  assert.equal(slurmOrphanReason({ job: '12_0', state: 'RUNNING' }), undefined);
  assert.match(slurmOrphanReason({ job: '12_0', state: 'NODE_FAIL' })!, /Slurm job 12_0 ended \(NODE_FAIL\) without the trainer recording an outcome/);
});

test('a trainer learns its job from SLURM_* and the Runs view groups by array', () => {
  const job = slurmJobOfEnv({ SLURM_JOB_ID: '40', SLURM_ARRAY_JOB_ID: '37', SLURM_ARRAY_TASK_ID: '3', SLURMD_NODENAME: 'gpu07', CELLSCOPE_SLURM_SCRIPT: '/s.sh' });
  assert.deepEqual(job, { jobId: '40', arrayJobId: '37', taskId: 3, script: '/s.sh', node: 'gpu07' });
  assert.equal(slurmJobName(job!), '37_3');
  assert.equal(slurmGroupName(job!), 'Slurm array 37');
  assert.equal(slurmJobName({ jobId: '41' }), '41');
  assert.equal(slurmGroupName({ jobId: '41' }), 'Slurm job 41');
  assert.equal(slurmJobOfEnv({}), undefined);
});
