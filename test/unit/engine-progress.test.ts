/** The editor's progress notification for Install GPU Support: messages with bytes, a bar that only grows and ends at 100. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { progressSteps } from '../../src/extension/gpu/progress.js';
import type { InstallProgress } from '../../src/shared/engineTypes.js';

test('the bar grows with the bytes of each download and adds up to 100 over an install', () => {
  const step = progressSteps();
  const MiB = 2 ** 20;
  const events: InstallProgress[] = [
    { phase: 'requirements', message: 'checking' },
    { phase: 'package', message: 'npm install' },
    { phase: 'libtensorflow', message: 'downloading', file: 'libtensorflow.tar.gz', received: 0, total: 400 * MiB },
    { phase: 'libtensorflow', message: 'downloading', file: 'libtensorflow.tar.gz', received: 100 * MiB, total: 400 * MiB },
    // A resumed download may report fewer bytes than before: the bar does not go back.
    { phase: 'libtensorflow', message: 'downloading', file: 'libtensorflow.tar.gz', received: 50 * MiB, total: 400 * MiB },
    { phase: 'libtensorflow', message: 'downloading', file: 'libtensorflow.tar.gz', received: 400 * MiB, total: 400 * MiB },
    { phase: 'addon', message: 'downloading', file: 'GPU-linux-4.22.0.tar.gz', received: 1 * MiB, total: 1 * MiB },
    { phase: 'unpack', message: 'unpacking' },
    { phase: 'verify', message: 'checking' },
    { phase: 'activate', message: 'installing' },
  ];
  const steps = events.map(step);
  assert.ok(steps.every((s) => s.increment >= 0));
  assert.equal(steps[3]!.message, 'libtensorflow.tar.gz 100.0 of 400.0 MiB');
  assert.equal(steps[4]!.increment, 0);
  assert.equal(steps[0]!.message, 'checking');
  const total = steps.reduce((sum, s) => sum + s.increment, 0);
  // The last phase starts the bar's last stretch; the notification closes when the install returns.
  assert.ok(total > 95 && total <= 100, String(total));
});
