/**
 * The cell panel in a real VS Code: Show Cell draws the genotype under the
 * cursor (checked through the SVG's data attributes inside the webview
 * frame), follows the cursor to another genotype, redraws as the user types,
 * keeps the last drawing while the text is invalid, reveals source on click,
 * and Compare Cells marks differences. Screenshots go to
 * test-output/e2e/cell-panel/.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { analyze } from '../../src/genotype/document.js';
import type { Cell, Genotype } from '../../src/genotype/model.js';
import { sessionForFile } from './harness.js';

const FILE = 'cells.genotype';
const s = sessionForFile({ name: 'cell-panel', open: FILE });

interface Drawn {
  entries: string[];
  concat: number[];
  dead: string[];
}

/** What one cell of the drawing in `frame` shows, read from its data attributes. */
async function drawn(frame: FrameLocator, cell: 'normal' | 'reduce'): Promise<Drawn> {
  const group = frame.locator(`svg [data-cell="${cell}"]`).first();
  const edges = await group.locator('[data-from]').evaluateAll((els) =>
    els.map((el) => ({ from: el.getAttribute('data-from'), to: el.getAttribute('data-to'), op: el.getAttribute('data-op') })),
  );
  const dead = await group.locator('.cs-node[data-dead="true"]').evaluateAll((els) => els.map((el) => el.getAttribute('data-node') ?? ''));
  return {
    entries: edges.filter((e) => e.op !== null).map((e) => `${e.from}>${e.to}:${e.op}`).sort(),
    concat: edges.filter((e) => e.to === 'out').map((e) => Number(e.from)).sort((a, b) => a - b),
    dead: dead.sort(),
  };
}

/** The edges a cell must show, from the DARTS rule (entries 2i, 2i+1 feed node i+2). */
function expected(cell: Cell): Pick<Drawn, 'entries' | 'concat'> {
  return {
    entries: cell.edges.map((e, i) => `${e.input}>${2 + Math.floor(i / 2)}:${e.op}`).sort(),
    concat: [...new Set(cell.concat)].sort((a, b) => a - b),
  };
}

async function genotypeInFile(name: string): Promise<Genotype> {
  const doc = analyze(await s().readWorkspaceFile(FILE));
  const g = doc.byName.get(name)?.genotype;
  assert.ok(g, `${name} in ${FILE}`);
  return g;
}

/** Waits until `probe` of the drawing holds (the panel redraws asynchronously). */
async function waitForDrawing(frame: FrameLocator, what: string, ok: (normal: Drawn) => boolean): Promise<Drawn> {
  let last: Drawn | undefined;
  try {
    return await s().until(what, async () => {
      last = await drawn(frame, 'normal').catch(() => undefined);
      return last && ok(last) ? last : undefined;
    });
  } catch (error) {
    throw new Error(`${(error as Error).message}; last drawing: ${JSON.stringify(last)}`);
  }
}

/** Replaces `length` characters after the start of `text` in the editor by typing `replacement`. */
async function replaceInEditor(text: string, length: number, replacement: string): Promise<void> {
  await s().goToText(FILE, text);
  for (let i = 0; i < length; i++) await s().page.keyboard.press('Shift+ArrowRight');
  await s().page.keyboard.type(replacement);
}

test('Show Cell draws the genotype under the cursor with exactly its edges', async () => {
  await s().goToText(FILE, 'DARTS_V2 = Genotype');
  await s().runCommand('Cellscope: Show Cell');
  await s().pick('DARTS_V2');
  const frame = await s().webviewShowing('svg [data-cell="reduce"] [data-op]');
  const darts = await genotypeInFile('DARTS_V2');
  for (const kind of ['normal', 'reduce'] as const) {
    const d = await drawn(frame, kind);
    assert.deepEqual({ entries: d.entries, concat: d.concat }, expected(darts[kind]), kind);
    assert.deepEqual(d.dead, []);
  }
  await frame.locator('.cs-caption', { hasText: 'width 3.5c · depth 3' }).first().waitFor();
  await s().shot('darts-v2');
});

test('the panel follows the cursor to another genotype and shows its dead node', async () => {
  await s().goToText(FILE, "normal_concat=[2, 4]");
  const frame = await s().webviewShowing('svg[data-genotype="DEADEND"]');
  const d = await drawn(frame, 'normal');
  const deadend = await genotypeInFile('DEADEND');
  assert.deepEqual({ entries: d.entries, concat: d.concat }, expected(deadend.normal));
  assert.deepEqual(d.dead, ['3']);
  await frame.locator('.cs-note-dead', { hasText: 'dead node 3' }).waitFor();
  await s().shot('follow-deadend');
});

test('typing redraws; an invalid edit keeps the last drawing and shows the error', async () => {
  // Node 4's second input becomes avg_pool_3x3 from node 3: node 3 is alive again.
  await replaceInEditor("max_pool_3x3', 0)],", "max_pool_3x3', 0".length, "avg_pool_3x3', 3");
  const frame = await s().webviewShowing('svg[data-genotype="DEADEND"]');
  const after = await waitForDrawing(frame, 'the edit to be drawn', (n) => n.entries.includes('3>4:avg_pool_3x3'));
  assert.ok(!after.entries.includes('0>4:max_pool_3x3'), JSON.stringify(after));
  assert.deepEqual(after.dead, []);
  await s().shot('edited');

  // Input 9 does not exist: the drawing stays as it was and the panel says why.
  // goToText reads the saved file, which still has the 0 where the editor now has the 3.
  await replaceInEditor("0)],\n    normal_concat=[2, 4]", 1, '9');
  const problem = frame.locator('#problem');
  await problem.waitFor({ state: 'visible' });
  assert.match((await problem.innerText()).trim(), /DEADEND is not valid/);
  const kept = await drawn(frame, 'normal');
  assert.ok(kept.entries.includes('3>4:avg_pool_3x3'), `last valid drawing kept: ${JSON.stringify(kept)}`);
  await s().shot('invalid-keeps-drawing');

  await s().page.keyboard.press('Control+Z');
  await problem.waitFor({ state: 'hidden' });
});

test('clicking an edge label selects its entry in the editor', async () => {
  const frame = await s().webviewShowing('svg[data-genotype="DEADEND"]');
  // Entry 3 of DEADEND's normal cell is ('dil_conv_3x3', 1).
  await frame.locator('[data-cell="normal"] .cs-label[data-entry="3"]').click();
  const text = await s().readWorkspaceFile(FILE);
  const line = text.slice(0, text.indexOf("('dil_conv_3x3', 1)")).split('\n').length;
  const status = s().page.locator('[id="status.editor.selection"]');
  const wanted = "('dil_conv_3x3', 1)".length;
  await s().until('the entry to be selected', async () => {
    const label = (await status.innerText().catch(() => '')).trim();
    return new RegExp(`Ln ${line}, Col \\d+ \\(${wanted} selected\\)`).test(label) ? label : undefined;
  });
  await s().shot('click-to-source');
});

test('Compare Cells draws two genotypes side by side with the differences marked', async () => {
  await s().runCommand('Cellscope: Compare Cells');
  await s().pick('DARTS_V2');
  await s().pick('DARTS_V1');
  const frame = await s().webviewShowing('section.view[data-view="1"] svg[data-genotype="DARTS_V1"]');
  assert.equal(await frame.locator('section.view').count(), 2);
  const marked = await frame.locator('section.view[data-view="0"] [data-cell="normal"] [data-diff]').count();
  assert.ok(marked > 0, 'differences are marked');
  // The same entry index is marked on both sides or neither (entries are matched by node).
  assert.equal(await frame.locator('section.view[data-view="1"] [data-cell="normal"] [data-diff]').count(), marked);
  await s().shot('compare');
});

/** Relative luminance (0 black … 1 white) of a computed CSS colour `rgb(r, g, b)`. */
function luminance(color: string): number {
  const [r, g, b] = (color.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map(Number);
  assert.ok(r !== undefined && g !== undefined && b !== undefined, `not a colour: ${color}`);
  return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
}

test('the drawing follows the colour theme', async () => {
  const frame = await s().webviewShowing('svg[data-genotype="DARTS_V1"]');
  const colours = () =>
    frame.locator('svg[data-genotype="DARTS_V1"]').evaluate((svg) => ({
      background: getComputedStyle(svg.querySelector('.cs-bg')!).fill,
      text: getComputedStyle(svg.querySelector('.cs-caption')!).fill,
      page: getComputedStyle(document.body).backgroundColor,
    }));
  const before = await colours();
  assert.equal(before.background, before.page, 'the drawing sits on the editor background');
  await s().runCommand('Preferences: Toggle between Light/Dark Themes');
  const after = await s().until('the theme to change', async () => {
    const c = await colours();
    return c.background !== before.background ? c : undefined;
  });
  assert.equal(after.background, after.page);
  // Light on dark or dark on light, whichever theme is now on.
  assert.ok(Math.abs(luminance(after.text) - luminance(after.background)) > 0.4, JSON.stringify(after));
  assert.notEqual(luminance(after.background) > 0.5, luminance(before.background) > 0.5);
  await s().shot('theme-toggled');
});

test('the panels are restored after a window reload', async () => {
  await s().runCommand('Developer: Reload Window');
  await s().page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
  const frame = await s().webviewShowing('svg[data-genotype="DARTS_V1"] [data-cell="normal"] [data-op]', 60_000);
  assert.equal(await frame.locator('section.view').count(), 2);
  const v1 = analyze('X = DARTS_V1\n').byName.get('X')!.genotype!;
  const right = await frame.locator('section.view[data-view="1"] [data-cell="normal"] [data-op]').count();
  assert.equal(right, v1.normal.edges.length);
  await s().shot('restored');
});
