/**
 * Progress lines on stdout (src/train/progress.ts): throttled step lines, the
 * last step of each epoch always reported, ETA from the steps this process ran.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProgressReporter } from '../../src/train/progress.js';
import { parseProgressLine, type ProgressLine } from '../../src/shared/runTypes.js';

test('step lines at most every interval, the end of an epoch always, ETA over the remaining steps', () => {
  let clock = 0;
  const lines: ProgressLine[] = [];
  const reporter = new ProgressReporter((text) => lines.push(parseProgressLine(text)!), 'r1', 2, 4, { minIntervalMs: 1000, now: () => clock });
  // Resumed after one epoch and one step: 5 of 8 steps are done.
  reporter.start('/runs/r1', 1, 1, true);
  assert.deepEqual(lines[0], { type: 'start', runId: 'r1', runDir: '/runs/r1', epochs: 2, stepsPerEpoch: 4, startEpoch: 1, resumed: true });
  clock = 2000;
  reporter.step(2, 2, 0.9, 50); // first step of this process: reported; 2 s per step, 2 steps left
  clock = 2500;
  reporter.step(2, 3, 0.8, 50); // 0.5 s after the last line: skipped
  clock = 2600;
  reporter.step(2, 4, 0.7, 50); // last step of the epoch: always reported
  const steps = lines.filter((l) => l.type === 'step');
  assert.equal(steps.length, 2);
  assert.deepEqual(steps[0], { type: 'step', runId: 'r1', epoch: 2, epochs: 2, step: 2, steps: 4, loss: 0.9, imagesPerSecond: 50, etaSeconds: 4 });
  assert.equal(steps[1]!.type === 'step' && steps[1]!.step, 4);
  assert.equal(steps[1]!.type === 'step' && steps[1]!.etaSeconds, 0);
  reporter.end('completed');
  assert.deepEqual(lines[lines.length - 1], { type: 'end', runId: 'r1', status: 'completed' });
});

test('no ETA before this process has run a step', () => {
  const lines: ProgressLine[] = [];
  const reporter = new ProgressReporter((text) => lines.push(parseProgressLine(text)!), 'r2', 3, 10, { now: () => 0 });
  reporter.start('/runs/r2', 0, 0, false);
  assert.equal(reporter.eta(0), null);
});
