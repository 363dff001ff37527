/**
 * Run folders are shared, so every field of a run is untrusted: hostile ids,
 * genotype names, dataset and backend names, even a "number" that is a
 * string in run.json must reach the report and the SVG renderers as text,
 * never as markup; and report.html carries a strict CSP that its own inline
 * style satisfies. The last test loads the report in headless Chromium: no
 * CSP violation, no dialog, the charts drawn.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { builtin } from '../../src/genotype/library.js';
import { cellMetrics } from '../../src/genotype/metrics.js';
import type { Cell } from '../../src/genotype/model.js';
import { printGenotype } from '../../src/genotype/printer.js';
import { randomConnections } from '../../src/genotype/samplers.js';
import { renderCellSvg, renderGenotypeSvg } from '../../src/render/cellSvg.js';
import { renderLineChart, renderScatter } from '../../src/render/charts.js';
import { renderContours } from '../../src/render/contours.js';
import { renderHeatmap } from '../../src/render/heatmap.js';
import { html, trustedMarkup } from '../../src/render/markup.js';
import { renderReport, type ReportRun } from '../../src/render/report.js';
import { renderSurface } from '../../src/render/surface.js';
import { landscapeCoordinates, type LandscapeFile } from '../../src/shared/landscapeTypes.js';
import type { MetricsLine, RunRecord } from '../../src/shared/runTypes.js';

const HOSTILE = [`"><script>alert(1)</script>`, `' onmouseover='alert(2)`, `</style><style>*{display:none}</style>`, `]]><x>`, `<!--`, `<img src=x onerror=alert(3)>`];
const EVIL = HOSTILE.join(' ');

/** Tags and attribute names in markup; hostile text that became markup shows up here as `script`, `img`, `onmouseover`… */
function markupNames(markup: string): { tags: Set<string>; attributes: Set<string> } {
  const tags = new Set<string>();
  const attributes = new Set<string>();
  for (const m of markup.matchAll(/<\/?([A-Za-z][\w:-]*)([^>]*)>/g)) {
    tags.add(m[1]!.toLowerCase());
    // Attribute values are quoted; drop them so that their escaped text is not read as names.
    const rest = m[2]!.replace(/"[^"]*"/g, '').replace(/'[^']*'/g, '');
    for (const a of rest.matchAll(/([^\s=/]+)\s*=/g)) attributes.add(a[1]!.toLowerCase());
  }
  return { tags, attributes };
}

function assertNoInjectedMarkup(markup: string, what: string): void {
  for (const h of HOSTILE) assert.ok(!markup.includes(h), `${what}: raw ${JSON.stringify(h)}`);
  const { tags, attributes } = markupNames(markup);
  for (const bad of ['script', 'img', 'x']) assert.ok(!tags.has(bad), `${what}: <${bad}> element`);
  assert.deepEqual([...attributes].filter((a) => a.startsWith('on')), [], `${what}: event-handler attributes`);
  assert.ok(!markup.includes('<!--'), `${what}: a comment opened`);
  // <style> only where the page puts its own.
  assert.ok((markup.match(/<style/g) ?? []).length <= 1, `${what}: extra <style>`);
}

function metrics(n: number): MetricsLine[] {
  return Array.from({ length: n }, (_, k) => ({
    epoch: k + 1,
    trainLoss: 2 - 0.4 * k,
    trainAcc: 0.5,
    testLoss: 2.1 - 0.4 * k,
    testAcc: 0.4 + 0.1 * k,
    gradVariance: 1 / (k + 1),
    gradVarianceRatio: 1,
    gradMeanNormSq: 1,
    lr: 0.1,
    dropPath: 0,
    seconds: 1,
    imagesPerSecond: 10,
    steps: 2,
  }));
}

/** A run as a hostile run.json might hold it: text fields and even numeric fields carrying markup. */
function hostileRun(k: number, seed: number | undefined, parses: boolean): ReportRun {
  const base = builtin('DARTS_V2')!.genotype;
  const genotype = seed === undefined ? base : randomConnections(base, seed);
  const printed = seed === undefined ? 'DARTS_V2' : `V_${seed}`;
  const normal = cellMetrics(genotype.normal);
  const reduce = cellMetrics(genotype.reduce);
  const id = `${EVIL} run${k}`;
  const record = {
    format: 1,
    id,
    status: 'completed',
    reason: EVIL,
    genotype: {
      // A name that parses keeps the cell drawing in the report; one that does not takes the "does not parse" path.
      name: parses ? printed : `${EVIL} ${k}`,
      text: printGenotype(printed, genotype),
      ref: EVIL,
      origin: EVIL,
      ...(seed !== undefined ? { variant: { kind: 'connections', seed, of: EVIL } } : {}),
      normal: { width: normal.width, depth: normal.depth },
      reduce: { width: reduce.width, depth: reduce.depth },
    },
    params: 1234,
    config: { dataset: EVIL, preset: EVIL, epochs: EVIL, channels: EVIL, layers: EVIL, batchSize: EVIL, backend: EVIL },
    seed: 0,
    backend: { backend: EVIL },
    dataset: null,
    versions: { cellscope: '0', node: 'v20', tfjs: '4' },
    pid: 1,
    host: EVIL,
    startedAt: '2025-01-01T00:00:00Z',
    updatedAt: '2025-01-01T00:00:00Z',
    epochsCompleted: 3,
    resumes: [],
  } as unknown as RunRecord;
  const n = 5;
  const landscape = {
    format: 1,
    runId: id,
    epoch: 3,
    grid: n,
    range: 1,
    seed: EVIL,
    subset: null,
    varianceBatches: 2,
    varianceBatchSize: 8,
    directions: 'filter-normalized',
    images: EVIL,
    coordinates: landscapeCoordinates(n, 1),
    loss: Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => 0.5 + (i - 2) ** 2 + (j - 2) ** 2 * (k + 1))),
    accuracy: Array.from({ length: n }, () => Array.from({ length: n }, () => 0.5)),
    variance: Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => 1 + i + j)),
    backend: EVIL,
    createdAt: EVIL,
  } as unknown as LandscapeFile;
  return { record, metrics: metrics(3), landscape };
}

function hostileReport(): string {
  const runs = [hostileRun(0, undefined, true), hostileRun(1, 1, true), hostileRun(2, 2, false)];
  return renderReport({ title: EVIL, runs, generatedAt: EVIL, notes: [EVIL] });
}

test('html`…` escapes what it interpolates unless it is Markup; lists join, nothing is left out', () => {
  const name = `"><script>alert(1)</script>`;
  assert.equal(html`<td title="${name}">${name}</td>`.toString(), '<td title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</td>');
  assert.equal(html`<i a='${`' onmouseover='x`}'></i>`.toString(), `<i a='&#39; onmouseover=&#39;x'></i>`);
  assert.equal(html`<p>${[html`<b>${'<'}</b>`, '&', 3, undefined, false, null]}</p>`.toString(), '<p><b>&lt;</b>&amp;3</p>');
  assert.equal(html`${trustedMarkup('<br>')}`.toString(), '<br>');
});

test('a report of hostile runs: every run field is text, never markup (ids, names, config, backend, landscape, title, notes)', () => {
  const page = hostileReport();
  assertNoInjectedMarkup(page, 'report');
  // The text is still there, escaped: a reader sees what the run file says.
  assert.ok(page.includes('&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.ok(page.includes('&#39; onmouseover=&#39;alert(2)'));
  // The charts and cells are all there despite it.
  assert.equal((page.match(/data-chart="contours"/g) ?? []).length, 3);
  assert.match(page, /<table class="results" data-rows="3">/);
  assert.ok((page.match(/class="cellscope-diagram"/g) ?? []).length >= 2);
  // Clip-path ids made from run ids are plain tokens, so url(#…) still finds its clipPath.
  const clipIds = [...page.matchAll(/<clipPath id="([^"]*)"/g)].map((m) => m[1]!);
  assert.equal(clipIds.length, 3);
  for (const id of clipIds) {
    assert.match(id, /^[A-Za-z][A-Za-z0-9_-]*$/);
    assert.ok(page.includes(`clip-path="url(#${id})"`), `url(#${id}) is referenced`);
  }
  assert.equal(new Set(clipIds).size, 3, 'different runs, different ids');
});

test('every SVG renderer keeps hostile titles, labels, ops and names as text', () => {
  const g = builtin('DARTS_V2')!.genotype;
  const hostileCell: Cell = { ...g.normal, edges: g.normal.edges.map((e, k) => (k === 0 ? { ...e, op: EVIL } : e)) };
  const grid = Array.from({ length: 4 }, (_, i) => Array.from({ length: 4 }, (_, j) => 1 + i + j));
  const coords = landscapeCoordinates(4, 1);
  const svgs: Record<string, string> = {
    cell: renderCellSvg(hostileCell, 'normal', { title: EVIL, compareWith: g.normal, compareName: EVIL }),
    genotype: renderGenotypeSvg({ ...g, normal: hostileCell }, { title: EVIL, compareWith: g, compareName: EVIL }),
    line: renderLineChart([{ label: EVIL, colour: EVIL, points: [{ x: 1, y: 1 }, { x: 2, y: 0.5 }] }], { title: EVIL, xLabel: EVIL, yLabel: EVIL, chart: EVIL }),
    scatter: renderScatter([{ x: 1, y: 2, colour: EVIL, label: EVIL }, { x: 2, y: 3, colour: '#000', label: EVIL }], { title: EVIL, xLabel: EVIL, yLabel: EVIL, chart: EVIL, formatX: () => EVIL }),
    contours: renderContours(grid, coords, { title: EVIL, id: EVIL, chart: EVIL, levels: [2, 4] }),
    heatmap: renderHeatmap(grid, coords, { title: EVIL, valueLabel: EVIL, chart: EVIL }),
    surface: renderSurface(grid, coords, { title: EVIL, valueLabel: EVIL, chart: EVIL }),
  };
  for (const [what, svg] of Object.entries(svgs)) {
    assert.ok(svg.startsWith('<svg'), what);
    assertNoInjectedMarkup(svg, what);
    assert.ok(svg.includes('&lt;script&gt;'), `${what} shows the text`);
  }
});

/** The CSP of a page, its <style> and <script> contents, as the browser would read them. */
function policyOf(page: string): { csp: string; styles: string[]; scripts: string[] } {
  const meta = page.match(/<meta http-equiv="Content-Security-Policy" content="([^"]*)">/);
  assert.ok(meta, 'a CSP meta element');
  const csp = meta[1]!.replace(/&#39;/g, "'").replace(/&quot;/g, '"').replace(/&amp;/g, '&');
  const styles = [...page.matchAll(/<style[^>]*>([\s\S]*?)<\/style>/g)].map((m) => m[1]!);
  const scripts = [...page.matchAll(/<script[^>]*>([\s\S]*?)<\/script>/g)].map((m) => m[1]!);
  return { csp, styles, scripts };
}

function directive(csp: string, name: string): string[] | undefined {
  const d = csp
    .split(';')
    .map((s) => s.trim().split(/\s+/))
    .find((parts) => parts[0] === name);
  return d?.slice(1);
}

test("report.html's CSP: nothing remote, no script, its one inline style allowed by hash", () => {
  const { csp, styles, scripts } = policyOf(hostileReport());
  assert.deepEqual(directive(csp, 'default-src'), ["'none'"]);
  assert.deepEqual(directive(csp, 'script-src') ?? ["'none'"], ["'none'"]);
  assert.deepEqual(scripts, []);
  const styleSrc = directive(csp, 'style-src')!;
  assert.ok(!styleSrc.includes("'unsafe-inline'") && !styleSrc.some((s) => /^https?:|^\*$/.test(s)), styleSrc.join(' '));
  assert.equal(styles.length, 1);
  for (const style of styles) {
    const hash = `'sha256-${createHash('sha256').update(style, 'utf8').digest('base64')}'`;
    assert.ok(styleSrc.includes(hash), `style-src allows the page's <style> (${hash})`);
  }
  const img = directive(csp, 'img-src');
  assert.ok(img === undefined || img.every((s) => s === 'data:' || s === "'none'"), `img-src ${img?.join(' ')}`);
  // No inline style attributes, which the policy would block.
  assert.doesNotMatch(hostileReport(), /\sstyle="/);
});

const CHROMIUM = '/usr/bin/chromium';

test('the hostile report in headless Chromium: no CSP violation, no dialog, styled, charts drawn', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, async () => {
  const { chromium } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-report-'));
  const file = join(dir, 'report.html');
  writeFileSync(file, hostileReport());
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || /Content Security Policy/i.test(m.text())) problems.push(m.text());
    });
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const seen = await page.evaluate(() => {
      const figures = Array.from(document.querySelectorAll('figure svg')).map((s) => s.getBoundingClientRect());
      return {
        scripts: document.querySelectorAll('script').length,
        handlers: Array.from(document.querySelectorAll('*')).flatMap((e) => Array.from(e.attributes).map((a) => a.name)).filter((n) => n.startsWith('on')),
        margin: getComputedStyle(document.body).marginTop,
        svgs: figures.length,
        drawn: figures.filter((r) => r.width > 50 && r.height > 50).length,
        title: document.title,
      };
    });
    assert.deepEqual(problems, []);
    assert.equal(seen.scripts, 0);
    assert.deepEqual(seen.handlers, []);
    assert.equal(seen.margin, '24px', 'the inline stylesheet applies (its hash matches the CSP)');
    assert.ok(seen.svgs >= 10 && seen.drawn === seen.svgs, `${seen.drawn} of ${seen.svgs} charts drawn`);
    assert.ok(seen.title.includes('<script>alert(1)</script>'), 'the title shows the text as text');
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
