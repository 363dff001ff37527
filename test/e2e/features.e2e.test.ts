/**
 * The language features as a user meets them in a real VS Code: error
 * squiggles and the Problems panel, hovers, code lenses with the paper's
 * numbers, a quick fix, and Sample Variants. One code-server session serves
 * all tests (they run in order, each on its own fixture file).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyze } from '../../src/genotype/document.js';
import { cellDepth, cellWidth, formatWidth } from '../../src/genotype/metrics.js';
import { sameGenotype } from '../../src/genotype/model.js';
import { adapted, sampleVariant } from '../../src/genotype/samplers.js';
import { sessionForFile } from './harness.js';

const s = sessionForFile({ name: 'features' });

/** Screen box of the rendered token `token` on the editor line containing `lineText`. */
async function tokenBox(lineText: string, token: string) {
  const line = s().activeEditor.locator('.view-line', { hasText: lineText }).first();
  const span = line.locator('span span', { hasText: new RegExp(`^${token.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }).first();
  const box = await span.boundingBox();
  assert.ok(box, `token ${token} on line "${lineText}" is not rendered`);
  return box;
}

test('a broken genotype shows an error squiggle under the bad input and an entry in the Problems panel', async () => {
  await s().openFile('broken.genotype');
  const squiggle = s().activeEditor.locator('.squiggly-error').first();
  await squiggle.waitFor({ timeout: 30_000 });
  await s().shot('squiggle');
  // The squiggle sits under the `7` of ('skip_connect', 7): node 5 can only read nodes 0-4.
  const bad = await tokenBox("('sep_conv_3x3', 0), ('skip_connect', 7)", '7');
  const boxes = await s().activeEditor.locator('.squiggly-error').evaluateAll((els) =>
    els.map((el) => el.getBoundingClientRect()).map((r) => ({ x: r.x, y: r.y, width: r.width, height: r.height })),
  );
  const centre = { x: bad.x + bad.width / 2, y: bad.y + bad.height / 2 };
  assert.ok(
    boxes.some((b) => b.x <= centre.x && centre.x <= b.x + b.width && b.y <= centre.y && centre.y <= b.y + b.height),
    `no squiggle covers the 7 at ${JSON.stringify(centre)}; squiggles: ${JSON.stringify(boxes)}`,
  );

  const rows = await s().waitForProblems((r) => r.some((row) => /smaller than 5/.test(row)));
  await s().shot('problems-panel');
  const row = rows.find((r) => /smaller than 5/.test(r))!;
  assert.match(row, /error/i);
  assert.ok(rows.some((r) => /broken\.genotype/.test(r)), `the file row is missing: ${rows.join(' / ')}`);
});

test('hovering an operation shows what it is and what it costs', async () => {
  await s().openFile('darts.genotype');
  const text = await s().hoverOver('dil_conv_3x3', /dilat/);
  await s().shot('hover-op');
  assert.match(text, /dil_conv_3x3/);
  assert.match(text, /dilated separable convolution 3×3, dilation 2/);
  assert.match(text, /Parameters at C = 36/);
});

test('the code lens above DARTS_V2 shows its width, depth and parameters at the default size', async () => {
  await s().page.keyboard.press('Escape');
  const lens = s().activeEditor.locator('.codelens-decoration', { hasText: 'params' }).first();
  await lens.waitFor({ timeout: 30_000 });
  await s().shot('code-lens');
  const title = (await lens.innerText()).replace(/\s+/g, ' ');
  // Paper: DARTS normal cell 3.5c wide, depth 3; reduce reads the inputs 5 times (2.5c), depth 3.
  assert.match(title, /normal 3\.5c · depth 3/);
  assert.match(title, /reduce 2\.5c · depth 3/);
  // DARTS' own train.py reports "param size = 3.349342MB" at C=36, 20 cells, 10 classes.
  assert.match(title, /3\.35M params/);
  assert.match(title, /Sample variants/);
});

test('the quick fix for an unknown operation repairs the file and clears the problem', async () => {
  await s().openFile('typo.genotype');
  await s().waitForProblems((r) => r.some((row) => /unknown operation 'skip_conect'/.test(row)));
  await s().goToText('typo.genotype', 'skip_conect');
  await s().shot('before-quick-fix');
  await s().page.keyboard.press('Control+.');
  const fix = s().page.locator('.action-widget .monaco-list-row', { hasText: "Replace with 'skip_connect'" }).first();
  await fix.waitFor();
  await s().shot('quick-fix-menu');
  await s().chooseAction("Replace with 'skip_connect'");
  await s().page.keyboard.press('Control+S');
  const saved = await s().until('the fixed file to be saved', async () => {
    const t = await s().readWorkspaceFile('typo.genotype');
    return t.includes("('skip_connect', 2), ('max_pool_3x3', 1),\n") ? t : undefined;
  });
  assert.doesNotMatch(saved, /skip_conect/);
  assert.deepEqual(analyze(saved).diagnostics.filter((d) => d.severity === 'error'), []);
  const rows = await s().waitForProblems((r) => !r.some((row) => /skip_conect/.test(row)));
  await s().shot('after-quick-fix');
  assert.ok(!rows.some((r) => /typo\.genotype/.test(r)), `typo.genotype still has problems: ${rows.join(' / ')}`);
});

test('Sample Variants from the code lens inserts the authors\' random-connection variants below the source', async () => {
  await s().openFile('sample.genotype');
  const lensLink = s().activeEditor.locator('.codelens-decoration a', { hasText: 'Sample variants' }).first();
  await lensLink.waitFor({ timeout: 30_000 });
  await lensLink.click();
  await s().pick('Random connections');
  await s().answerInput('1');
  await s().answerInput('2');
  await s().shot('width-filter');
  await s().pick('Any width');
  const inserted = s().activeEditor.locator('.view-line', { hasText: 'DARTS_V2_connections_s1 = Genotype(' });
  await inserted.waitFor();
  assert.match(await s().visibleText(), /# random-connection variant of DARTS_V2, seed 1: normal \S+ depth \d+/);
  await s().shot('variants-inserted');

  // The palette path: cursor inside DARTS_V2, the adapted cell (no count or width questions).
  await s().goToText('sample.genotype', 'normal_concat');
  await s().runCommand('Cellscope: Sample Variants');
  await s().pick('Adapted');
  await s().answerInput('1');
  await s().activeEditor.locator('.view-line', { hasText: 'DARTS_V2_adapt = Genotype(' }).waitFor();

  await s().page.keyboard.press('Control+S');
  const saved = await s().until('the variants to be saved', async () => {
    const t = await s().readWorkspaceFile('sample.genotype');
    return t.includes('DARTS_V2_adapt') ? t : undefined;
  });
  const doc = analyze(saved);
  assert.deepEqual(doc.diagnostics.filter((d) => d.severity === 'error'), []);
  const source = doc.byName.get('DARTS_V2')!.genotype!;
  const names = doc.genotypes.map((g) => g.name);
  assert.deepEqual(names.slice(0, 1), ['DARTS_V2']);
  assert.deepEqual(new Set(names), new Set(['DARTS_V2', 'DARTS_V2_adapt', 'DARTS_V2_connections_s1', 'DARTS_V2_connections_s2']));
  for (const seed of [1, 2]) {
    const g = doc.byName.get(`DARTS_V2_connections_s${seed}`)!.genotype!;
    assert.ok(sameGenotype(g, sampleVariant(source, 'connections', seed)), `seed ${seed} differs from the sampler`);
    const comment = `seed ${seed}: normal ${formatWidth(cellWidth(g.normal))} depth ${cellDepth(g.normal)}, reduce ${formatWidth(cellWidth(g.reduce))} depth ${cellDepth(g.reduce)}`;
    assert.ok(saved.includes(comment), `comment "${comment}" missing`);
  }
  // The authors' seed-1 variant (shared/reference/genotypes.md).
  assert.deepEqual(doc.byName.get('DARTS_V2_connections_s1')!.genotype!.normal.edges.map((e) => e.input), [1, 0, 1, 0, 1, 3, 4, 2]);
  assert.ok(sameGenotype(doc.byName.get('DARTS_V2_adapt')!.genotype!, adapted(source)));

  // The server measures the new definitions too: s1's lens shows its own shape.
  const s1 = doc.byName.get('DARTS_V2_connections_s1')!.genotype!;
  await s().goToText('sample.genotype', 'DARTS_V2_connections_s1 =');
  const lens = s().activeEditor.locator('.codelens-decoration', {
    hasText: `normal ${formatWidth(cellWidth(s1.normal))} · depth ${cellDepth(s1.normal)} | reduce ${formatWidth(cellWidth(s1.reduce))}`,
  });
  await lens.first().waitFor({ timeout: 30_000 });
  await s().shot('variant-lens');
});
