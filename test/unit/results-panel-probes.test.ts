/**
 * The results panel's webview in headless Chromium (its bundle built here
 * with esbuild, as scripts/build.mjs builds it; acquireVsCodeApi stubbed):
 * given runs with and without probe files, it draws λ_max and trace against
 * width beside the paper's claim and the verdict, λ_max per epoch and the 1D
 * slices, says which runs lack each probe and how to compute it, lists a
 * broken probe file, redraws on a `probes` message, and exports a probe
 * chart as PNG. What is drawn is read from the figures' data-points.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ChartRun, RunProbes } from '../../src/shared/chartData.js';
import type { HessianEpochLine } from '../../src/shared/landscapeTypes.js';
import { DEFAULT_RESULTS_STATE, type ResultsPanelFromWebview, type ResultsPanelToWebview } from '../../src/shared/protocol.js';
import type { MetricsLine } from '../../src/shared/runTypes.js';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = join(__dirname, '..', '..');

function metrics(epoch: number): MetricsLine {
  return { epoch, trainLoss: 2 / epoch, trainAcc: 0.2, testLoss: 2.2 / epoch, testAcc: 0.25, gradVariance: 0.1, gradVarianceRatio: 1, gradMeanNormSq: 0.1, lr: 0.025, dropPath: 0, seconds: 3, imagesPerSecond: 50, steps: 4 };
}

function epochLine(epoch: number, topEigenvalue: number): HessianEpochLine {
  return { epoch, topEigenvalue, iterations: 10, converged: true, trace: 10, traceStandardError: 1, traceSamples: 2, batches: 2, batchSize: 16, seconds: 1 };
}

function run(id: string, width: number, probes: Partial<RunProbes>): ChartRun {
  return {
    info: { id, genotype: id.toUpperCase(), width, depth: 2, params: 1000, status: 'completed', epochs: 2, dataset: 'synthetic', backend: 'wasm' },
    metrics: [metrics(1), metrics(2)],
    probes: { hessianEpochs: [], problems: [], ...probes },
  };
}

const hessian = (topEigenvalue: number) => ({ epoch: 2, topEigenvalue, trace: 10 * topEigenvalue, iterations: 20, traceSamples: 10, batches: 2, batchSize: 16, converged: true });
const slice = { coordinates: [-1, -0.5, 0, 0.5, 1], loss: [3, 2, 1, 2, null], accuracy: [0.2, 0.5, 0.9, 0.5, null], epoch: 2 };

async function bundle(): Promise<string> {
  const esbuild = await import('esbuild');
  const out = await esbuild.build({ entryPoints: [join(ROOT, 'src/webview/resultsPanel.ts')], bundle: true, write: false, platform: 'browser', format: 'iife', target: 'es2022', logLevel: 'silent' });
  return out.outputFiles[0]!.text;
}

/** The panel's page as the extension writes it (src/extension/runs/resultsPanel.ts), its script and styles inline. */
function page(script: string): string {
  const css = ['panel.css', 'resultsPanel.css'].map((f) => readFileSync(join(ROOT, 'media', f), 'utf8')).join('\n');
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>${css}</style></head><body>
  <div id="toolbar"><span id="summary"></span><span id="status" role="status"></span></div>
  <main>
    <section id="charts"></section>
    <section id="probes"></section>
    <section id="table-section"><div class="table-tools"><input id="threshold" type="number"><button type="button" id="export-csv">Export CSV</button></div>
    <table id="runs-table"><thead></thead><tbody></tbody></table></section>
  </main>
  <!-- tsx compiles this test with esbuild's keepNames: functions passed to page.evaluate call __name. -->
  <script>window.__name = (f) => f; window.posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.posted.push(m), getState: () => undefined, setState: () => {} });</script>
  <script>${script.replace(/<\/script/gi, '<\\/script')}</script>
</body></html>`;
}

test('results panel in headless Chromium: smoothness vs width with the claim, λ_max per epoch, 1D slices, notes for missing probes', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, async () => {
  const script = await bundle();
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const tab = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    tab.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    await tab.setContent(page(script), { waitUntil: 'load' });
    await tab.waitForFunction(() => (window as unknown as { posted: { type: string }[] }).posted.some((m) => m.type === 'ready'));

    const runs = [
      run('narrow', 2, { hessian: hessian(9), hessianEpochs: [epochLine(1, 12), epochLine(2, 9)], slice }),
      run('wide', 4, { hessian: hessian(3), hessianEpochs: [epochLine(2, 3)], slice }),
      run('bare', 3, { problems: ['runs/bare/hessian.json: field topEigenvalue: expected a number, found null'] }),
    ];
    const send = (message: ResultsPanelToWebview) => tab.evaluate((m) => window.postMessage(m, '*'), message);
    await send({ type: 'render', runs, state: { ...DEFAULT_RESULTS_STATE, runIds: runs.map((r) => r.info.id) } });
    await tab.waitForSelector('#probes figure[data-chart="hessianWidth"]');

    const read = () =>
      tab.evaluate(() => {
        const points = (chart: string) => JSON.parse((document.querySelector(`#probes figure[data-chart="${chart}"]`) as HTMLElement | null)?.dataset['points'] ?? 'null') as Record<string, number> | null;
        const text = (selector: string) => Array.from(document.querySelectorAll(selector)).map((e) => e.textContent ?? '');
        return {
          hessianWidth: points('hessianWidth'),
          traceWidth: points('traceWidth'),
          hessianEpochs: points('hessianEpochs'),
          sliceLoss: points('sliceLoss'),
          sliceAccuracy: points('sliceAccuracy'),
          claim: text('[data-section="smoothness"] p.claim'),
          verdict: text('[data-section="smoothness"] p.verdict'),
          epochVerdict: text('[data-section="hessianEpochs"] p.verdict'),
          rows: text('[data-section="smoothness"] table.smoothness tbody tr'),
          notes: text('#probes p.note'),
          problems: text('#probes ul.problems li'),
          canvases: Array.from(document.querySelectorAll('#probes canvas')).filter((c) => (c as HTMLCanvasElement).width > 100 && (c as HTMLCanvasElement).height > 100).length,
        };
      });
    const seen = await read();
    assert.deepEqual(seen.hessianWidth, { 'narrow|hessianWidth': 1, 'wide|hessianWidth': 1 });
    assert.deepEqual(seen.traceWidth, { 'narrow|traceWidth': 1, 'wide|traceWidth': 1 });
    assert.deepEqual(seen.hessianEpochs, { 'narrow|hessianEpochs': 2, 'wide|hessianEpochs': 1 });
    assert.deepEqual(seen.sliceLoss, { 'narrow|sliceLoss': 4, 'wide|sliceLoss': 4 });
    assert.deepEqual(seen.sliceAccuracy, { 'narrow|sliceAccuracy': 4, 'wide|sliceAccuracy': 4 });
    assert.equal(seen.canvases, 5, 'every probe chart drawn');
    assert.match(seen.claim[0]!, /^The paper: Section 4\.3: .*wide, shallow cells have the smoother landscape/);
    assert.deepEqual(seen.verdict, ['Measured: mean λ_max 9 at 2c (1 run) and 3 at 4c (1) — the wider cells are smoother here, as the paper says.']);
    assert.deepEqual(seen.rows, ['2c1990', '4c1330']);
    // λ_max per epoch: the report's wording (src/shared/smoothness.ts), on the one epoch both widths were probed at.
    assert.deepEqual(seen.epochVerdict, [
      "Per epoch: the widest group's mean λ_max (4c, 1 run) was below the narrowest group's (2c, 1 run) at 1 of 1 epoch probed in both (after epoch 2: 3 against 9) — the wider cells are smoother at that epoch, as the paper says.",
    ]);
    assert.equal(seen.notes.length, 3);
    assert.match(seen.notes[0]!, /No smoothness probe \(hessian\.json\) for BARE · 3c d2\. Compute it with: cellscope hessian bare/);
    assert.match(seen.notes[1]!, /--hessian-every N/);
    assert.match(seen.notes[2]!, /cellscope landscape bare/);
    assert.deepEqual(seen.problems, ['Skipped runs/bare/hessian.json: field topEigenvalue: expected a number, found null']);

    // `cellscope hessian bare` wrote its file: the host sends the run's probes, the section is drawn again.
    await send({ type: 'probes', runId: 'bare', probes: { hessianEpochs: [], problems: [], hessian: hessian(5) } });
    await tab.waitForFunction(() => Object.keys(JSON.parse((document.querySelector('#probes figure[data-chart="hessianWidth"]') as HTMLElement).dataset['points'] ?? '{}')).length === 3);
    const after = await read();
    assert.equal(after.notes.filter((n) => n.includes('hessian.json')).length, 0);
    assert.deepEqual(after.problems, []);
    // The epoch charts are still there, untouched.
    assert.ok(await tab.$('#charts figure[data-chart="loss"]'));

    await tab.click('#probes button[data-export-png="sliceLoss"]');
    const posted = (await tab.evaluate(() => (window as unknown as { posted: ResultsPanelFromWebview[] }).posted)) as ResultsPanelFromWebview[];
    const exported = posted.find((m) => m.type === 'exportPng');
    assert.equal(exported?.type === 'exportPng' ? exported.chart : undefined, 'sliceLoss');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
