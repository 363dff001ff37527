/**
 * The wide-vs-narrow experiment in a real VS Code: Run Wide-vs-Narrow
 * Experiment on DARTS_V2 with one variant at the Tiny size trains both runs,
 * computes their landscapes and variance surfaces, and opens the report
 * panel, whose charts are checked through their data attributes inside the
 * webview frame; the same report is written to the experiment folder.
 * Screenshots go to test-output/e2e/experiment/.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { sessionForFile } from './harness.js';

const s = sessionForFile({ name: 'experiment', open: 'darts.genotype' });

async function attribute(frame: FrameLocator, selector: string, name: string): Promise<string[]> {
  return frame.locator(selector).evaluateAll((els, n) => els.map((el) => el.getAttribute(n) ?? ''), name);
}

test('a tiny experiment ends in the report panel with every chart holding data', { timeout: 20 * 60_000 }, async () => {
  await s().runCommand('Cellscope: Run Wide-vs-Narrow Experiment');
  await s().pick('DARTS_V2');
  await s().pick('Wide vs narrow');
  await s().answerInput('1');
  await s().pick('Tiny');
  await s().shot('started');
  const frame = await s().webviewShowing('svg[data-chart="convergence-test"]', 18 * 60_000);

  // Two runs: the original and one variant, each a curve with its epochs.
  assert.deepEqual(await attribute(frame, 'svg[data-chart="convergence-test"]', 'data-series'), ['2']);
  const points = await attribute(frame, 'svg[data-chart="convergence-test"] g.series', 'data-points');
  assert.deepEqual(points, ['2', '2']);
  assert.deepEqual(await attribute(frame, 'table.results', 'data-rows'), ['2']);
  // Landscapes: a contour plot per run with lines, a variance heat map per run with every point.
  const levels = await attribute(frame, 'svg[data-chart="contours"]', 'data-levels');
  assert.equal(levels.length, 2);
  assert.ok(levels.every((n) => Number(n) > 0), `contour levels drawn: ${levels}`);
  assert.deepEqual(await attribute(frame, 'svg[data-chart="variance-heatmap"]', 'data-points'), ['25', '25']);
  assert.ok((await frame.locator('svg[data-chart="variance-surface"]').count()) >= 1);
  assert.ok((await frame.locator('svg[data-chart="speed-width"]').count()) === 1);
  await s().shot('report-panel');
  await frame.locator('#landscapes').scrollIntoViewIfNeeded();
  await s().shot('report-landscapes');

  // The same report is in the experiment folder, self-contained.
  const html = await s().readWorkspaceFile('experiments/DARTS_V2-tiny/report.html');
  assert.match(html, /data-chart="contours"/);
  assert.doesNotMatch(html, /<script/i);
});
