/**
 * The editing features beyond diagnostics, as a user meets them in a real
 * VS Code: the grammar's colours, completion of operation names, the outline
 * (Go to Symbol), Go to Definition on an alias, Rename, Format Document, and
 * a setting (the evaluation size) changing the code lens numbers, and the
 * server's node flags. One code-server session; the tests run in order on
 * their own fixture files.
 */
import assert from 'node:assert/strict';
import { writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { analyze } from '../../src/genotype/document.js';
import { parse } from '../../src/genotype/parser.js';
import { formatEdits } from '../../src/genotype/printer.js';
import { SERVER_NODE_FLAGS } from '../../src/server/nodeFlags.js';
import { lensTitle, summarize } from '../../src/server/summary.js';
import { Session } from './harness.js';

let session: Session | undefined;

before(async () => {
  session = await Session.start({ name: 'editing' });
});

after(async () => {
  await session?.close();
});

function s(): Session {
  assert.ok(session, 'session did not start');
  return session;
}

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
  const at = await s().goToText('editing.genotype', 'ALIAS', 2); // in `OTHER = ALIAS`
  assert.equal(at.line, 4);
  await s().page.keyboard.press('F12');
  await s().until('the cursor to reach the definition of ALIAS', async () => ((await cursor()).line === 3 ? true : undefined));
  await s().shot('go-to-definition');
});

test('Rename of a genotype renames its definition and every alias naming it', async () => {
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
  await s().page.keyboard.press('Control+S');
  const saved = await s().until('the renamed file to be saved', async () => {
    const t = await s().readWorkspaceFile('editing.genotype');
    return t.includes('ALIAS = RENAMED') ? t : undefined;
  });
  await s().shot('renamed');
  assert.match(saved, /^RENAMED = Genotype\(/m);
  assert.doesNotMatch(saved, /\bMINE\b/);
  assert.deepEqual(analyze(saved).diagnostics, []);
});

test('Format Document lays the file out as the core printer does', async () => {
  const before = await s().readWorkspaceFile('editing.genotype');
  await s().runCommand('Format Document');
  await s().page.keyboard.press('Control+S');
  const expected = formatted(before);
  assert.notEqual(expected, before, 'the fixture should need formatting');
  const saved = await s().until('the formatted file to be saved', async () => {
    const t = await s().readWorkspaceFile('editing.genotype');
    return t === expected ? t : undefined;
  });
  await s().shot('formatted');
  // The same genotypes, now one entry pair per line.
  assert.deepEqual(analyze(saved).byName.get('RENAMED')!.genotype, analyze(before).byName.get('RENAMED')!.genotype);
  assert.ok(saved.split('\n').length > before.split('\n').length + 8);
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
  await s().page.keyboard.press('Escape');
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
