/**
 * The editing features beyond diagnostics, as a user meets them in a real
 * VS Code: the grammar's colours, completion of operation names, the outline
 * (Go to Symbol), Go to Definition and Go to References on an alias,
 * Rename, Format Document, hovers on a genotype name, the quick fixes for a
 * dead node and an out-of-range input and the range ↔ list refactor, and
 * a setting (the evaluation size) changing the code lens numbers, and the
 * server's node flags. One code-server session; the tests run in order on
 * their own fixture files.
 */
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { analyze } from '../../src/genotype/document.js';
import { parse } from '../../src/genotype/parser.js';
import { formatEdits } from '../../src/genotype/printer.js';
import { SERVER_NODE_FLAGS } from '../../src/server/nodeFlags.js';
import { lensTitle, summarize } from '../../src/server/summary.js';
import { sessionForFile } from './harness.js';

const s = sessionForFile({ name: 'editing' });

/** The text with the core formatter's edits applied (what Format Document must give). */
function formatted(text: string): string {
  let out = text;
  for (const edit of [...formatEdits(parse(text))].sort((a, b) => b.span.start - a.span.start)) {
    out = out.slice(0, edit.span.start) + edit.newText + out.slice(edit.span.end);
  }
  return out;
}

/** "Ln 3, Col 1" of the status bar: where the cursor is. */
async function cursor(): Promise<{ line: number; column: number }> {
  const text = await s().page.locator('[id="status.editor.selection"]').innerText();
  const match = /Ln (\d+), Col (\d+)/.exec(text);
  assert.ok(match, `status bar selection reads "${text}"`);
  return { line: Number(match[1]), column: Number(match[2]) };
}

/** The rendered colour of the first token on the line containing `lineText` whose text is `token` (or contains it, when `part`). */
async function colourOf(lineText: string, token: string, part = false): Promise<string> {
  const line = s().activeEditor.locator('.view-line', { hasText: lineText }).first();
  const spans = line.locator('span span');
  // Monaco renders spaces as no-break spaces.
  const texts = await spans.evaluateAll((els) => els.map((el) => ({ text: el.textContent?.replace(/\u00a0/g, ' ') ?? '', colour: getComputedStyle(el).color })));
  const found = texts.find((t) => (part ? t.text.includes(token) : t.text === token));
  assert.ok(found, `no token "${token}" on the line "${lineText}": ${JSON.stringify(texts.map((t) => t.text))}`);
  return found.colour;
}

test('the grammar colours names, operation strings, numbers and comments apart', async () => {
  await s().openFile('editing.genotype');
  await s().activeEditor.locator('.view-line', { hasText: 'OTHER = ALIAS' }).waitFor();
  await s().shot('colours');
  const line = 'ALIAS = MINE';
  const name = await colourOf(line, 'ALIAS');
  const comment = await colourOf('# editing', 'colours, outline', true);
  // The first line of MINE is long: its tokens are rendered even if the line wraps off screen.
  const op = await colourOf('MINE = Genotype(', "'sep_conv_3x3'");
  const callee = await colourOf('MINE = Genotype(', 'Genotype');
  const index = await colourOf('MINE = Genotype(', '0');
  const colours = { name, comment, op, callee, index };
  assert.equal(new Set(Object.values(colours)).size, 5, `expected five different colours: ${JSON.stringify(colours)}`);
});

test('Go to Symbol lists every genotype and alias of the file', async () => {
  await s().openFile('editing.genotype');
  await s().page.keyboard.press('Control+Shift+O');
  const rows = s().page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  await rows.first().waitFor();
  await s().until('the outline to list the three definitions', async () => {
    const labels = await rows.allTextContents();
    return ['MINE', 'ALIAS', 'OTHER'].every((n) => labels.some((l) => l.includes(n))) ? labels : undefined;
  });
  await s().shot('go-to-symbol');
  await s().page.keyboard.press('Escape');
});

test('Go to Definition on an alias target jumps to the definition it names', async () => {
  await s().openFile('editing.genotype');
  const at = await s().goToText('editing.genotype', 'ALIAS', 2); // in `OTHER = ALIAS`
  assert.equal(at.line, 4);
  await s().page.keyboard.press('F12');
  await s().until('the cursor to reach the definition of ALIAS', async () => ((await cursor()).line === 3 ? true : undefined));
  await s().shot('go-to-definition');
});

test('Rename of a genotype renames its definition and every alias naming it', async () => {
  await s().openFile('editing.genotype');
  // The server has analysed the file once its code lens shows.
  await s().activeEditor.locator('.codelens-decoration', { hasText: 'params' }).first().waitFor({ timeout: 30_000 });
  await s().goToText('editing.genotype', 'MINE', 1);
  const box = s().page.locator('.rename-box input');
  await s().until('the rename box', async () => {
    await s().page.keyboard.press('F2');
    return (await box.waitFor({ timeout: 3000 }).then(() => true, () => false)) ? true : undefined;
  });
  await box.fill('RENAMED');
  await s().page.keyboard.press('Enter');
  await box.waitFor({ state: 'hidden' });
  const saved = await s().saveUntil('editing.genotype', 'the renamed file to be saved', (t) => t.includes('ALIAS = RENAMED'));
  await s().shot('renamed');
  assert.match(saved, /^RENAMED = Genotype\(/m);
  assert.doesNotMatch(saved, /\bMINE\b/);
  assert.deepEqual(analyze(saved).diagnostics, []);
});

test('Format Document lays the file out as the core printer does', async () => {
  await s().openFile('editing.genotype');
  const before = await s().readWorkspaceFile('editing.genotype');
  const expected = formatted(before);
  assert.notEqual(expected, before, 'the fixture should need formatting');
  await s().runCommand('Format Document');
  const saved = await s().saveUntil('editing.genotype', 'the formatted file to be saved', (t) => t === expected);
  await s().shot('formatted');
  // The same genotypes, now one entry pair per line.
  assert.deepEqual(analyze(saved).byName.get('RENAMED')!.genotype, analyze(before).byName.get('RENAMED')!.genotype);
  assert.ok(saved.split('\n').length > before.split('\n').length + 8);
});

test('Go to References on an alias lists the aliases naming it', async () => {
  await s().openFile('editing.genotype');
  await s().goToText('editing.genotype', 'ALIAS =');
  await s().page.keyboard.press('Shift+F12');
  const rows = s().page.locator('.peekview-widget .monaco-list-row');
  const texts = await s().until('the references peek to list both uses', async () => {
    const t = (await rows.allTextContents()).map((x) => x.replace(/\u00a0/g, ' '));
    return t.some((x) => x.includes('OTHER = ALIAS')) && t.some((x) => x.includes('LAST = ALIAS')) ? t : undefined;
  });
  await s().shot('references');
  assert.ok(!texts.some((x) => x.includes('RENAMED =')), texts.join(' / '));
  await s().page.keyboard.press('Escape');
});

test('hovering a genotype name shows its widths, depths and cost', async () => {
  await s().openFile('darts.genotype');
  const text = await s().hoverOver('DARTS_V2', /params|parameters/i);
  await s().shot('hover-name');
  assert.match(text, /3\.5c/);
  assert.match(text, /2\.5c/);
});

test('quick fixes add a dead node to the concat and clamp an input; a refactor turns range(a, b) into a list', async () => {
  await s().openFile('fixes.genotype');
  await s().waitForProblems((r) => r.some((row) => /node 4 \(normal\) is dead/.test(row)) && r.some((row) => /input 9 of node 5/.test(row)));
  const fix = async (at: string, action: string) => {
    await s().goToText('fixes.genotype', at);
    // Right after an edit the editor may answer from the previous version ("No code actions
    // available"): ask again until the menu offers the action.
    await s().until(`the code action "${action}"`, async () => {
      await s().dismissWidgets();
      await s().page.keyboard.press('Control+.');
      const offered = s().page.locator('.action-widget .monaco-list-row.action', { hasText: action }).first();
      return (await offered.waitFor({ timeout: 3000 }).then(() => true, () => false)) ? true : undefined;
    });
    await s().chooseAction(action);
  };
  // Node 4's entries carry the dead-node warning.
  await fix("('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0)", 'Add node 4 to normal_concat');
  await s().activeEditor.locator('.view-line', { hasText: 'normal_concat=[2, 3, 4, 5]' }).waitFor();
  await fix('9)', 'Change input to 4 (node 4), the last valid node');
  await s().activeEditor.locator('.view-line', { hasText: "('skip_connect', 4)]" }).waitFor();
  await fix('range(2, 6)', 'Convert to the list [2, 3, 4, 5]');
  const saved = await s().saveUntil('fixes.genotype', 'the fixed file to be saved', (t) => t.includes('reduce_concat=[2, 3, 4, 5]'));
  await s().shot('fixed');
  assert.match(saved, /normal_concat=\[2, 3, 4, 5\]/);
  assert.match(saved, /\('skip_connect', 4\)\]/);
  assert.deepEqual(analyze(saved).diagnostics, []);
});

test('completion offers the operation names inside a cell list', async () => {
  await s().openFile('complete.genotype');
  await s().page.keyboard.press('Control+End');
  await s().page.keyboard.type("X = Genotype(normal=[('");
  await s().page.keyboard.press('Control+Space');
  const suggestions = s().page.locator('.suggest-widget .monaco-list-row');
  await suggestions.first().waitFor();
  const labels = await s().until('operation names in the suggestions', async () => {
    const l = await suggestions.allTextContents();
    return l.some((x) => x.includes('sep_conv_3x3')) ? l : undefined;
  });
  await s().shot('completion');
  assert.ok(labels.some((l) => l.includes('dil_conv_5x5') || l.includes('max_pool_3x3')), labels.join(' / '));
  // Leave the file as it was: the half-written genotype would otherwise stay open and dirty.
  await s().dismissWidgets();
  await s().runCommand('File: Revert File');
  await s().until('the file to be reverted', async () => ((await s().visibleText()).includes('X = Genotype') ? undefined : true));
});

test('changing the evaluation size in the settings changes the code lens numbers', async () => {
  await s().openFile('darts.genotype');
  const darts = analyze(await s().readWorkspaceFile('darts.genotype')).byName.get('DARTS_V2')!.genotype!;
  const small = { channels: 16, layers: 8, classes: 10 };
  const expected = lensTitle(summarize(darts, small));
  assert.notEqual(expected, lensTitle(summarize(darts, { channels: 36, layers: 20, classes: 10 })));
  await mkdir(join(s().workspace, '.vscode'), { recursive: true });
  await writeFile(
    join(s().workspace, '.vscode', 'settings.json'),
    JSON.stringify({ 'cellscope.evaluation.channels': small.channels, 'cellscope.evaluation.layers': small.layers }, null, 2),
  );
  const params = expected.slice(expected.lastIndexOf('|') + 1).trim();
  await s().activeEditor.locator('.codelens-decoration', { hasText: params }).first().waitFor({ timeout: 60_000 });
  await s().shot('lens-after-settings');
});

test('the language server runs with its node flags (nodeFlags.ts), as its start-up line in the Cellscope log says', async () => {
  // Opening a genotype file activates the extension, which starts the server.
  await s().openFile('darts.genotype');
  const line = await s().until(
    'the language server start-up line in the Cellscope log',
    async () => (await s().outputChannelText()).split('\n').find((l) => l.includes('Cellscope language server on node')),
    30_000,
  );
  for (const flag of SERVER_NODE_FLAGS) assert.ok(line.includes(flag), line);
});
