/**
 * `npm run demo` at its CI size (CELLSCOPE_DEMO=ci): the script runs the
 * bundled CLI's experiment end to end and its last line is the path of a
 * report that holds the experiment's runs, curves and landscapes. Uses the
 * bundle `npm run build` made (builds it when missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');

test('the demo at CI size ends with the path of a complete report', () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'cellscope-demo-')), 'demo');
  const run = spawnSync(process.execPath, ['scripts/demo.mjs', '--no-build', '--dir', dir], {
    cwd: ROOT,
    env: { ...process.env, CELLSCOPE_DEMO: 'ci' },
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  assert.equal(run.status, 0, run.stderr.slice(-2000));
  const last = run.stdout.trim().split('\n').at(-1)!;
  assert.equal(last, join(dir, 'report.html'));
  assert.ok(existsSync(last));
  const html = readFileSync(last, 'utf8');
  // The original and one variant at each of 2c and 3.5c.
  assert.match(html, /<table class="results" data-rows="3">/);
  assert.match(html, /data-chart="convergence-test"[^>]*data-series="3"/);
  assert.equal((html.match(/data-chart="contours"/g) ?? []).length, 3);
  assert.equal((html.match(/data-chart="variance-heatmap"/g) ?? []).length, 3);
  assert.match(html, /<section id="smoothness">/);
  // Progress came as the runs went, one line per phase and entry, not a summary at the end.
  assert.match(run.stderr, /\[train 1\/3\] DARTS_V2 \(\d+ s\)[\s\S]*epoch 1\/1: test acc[\s\S]*\[landscape 3\/3\][\s\S]*\[hessian 3\/3\]/);
  // No GPU library's warnings (the Vulkan loader's, say) in the terminal: the demo trains on wasm.
  assert.doesNotMatch(run.stderr, /vulkan|ERROR_INCOMPATIBLE_DRIVER|MESA/i);
});
