/**
 * The TextMate grammar (syntaxes/genotype.tmLanguage.json) against the
 * scope assertions in test/grammar/*.genotype, run by vscode-tmgrammar-test
 * (vscode-textmate + oniguruma, the engine VS Code uses), plus the language
 * configuration's comment, bracket and folding settings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');
const grammarPath = join(root, 'syntaxes', 'genotype.tmLanguage.json');

function runGrammarTests(glob: string): { status: number | null; output: string } {
  const cli = join(root, 'node_modules', 'vscode-tmgrammar-test', 'dist', 'unit.js');
  const result = spawnSync(process.execPath, [cli, '-c', '-g', grammarPath, glob], { cwd: root, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('grammar scope assertions in test/grammar hold', () => {
  const { status, output } = runGrammarTests('test/grammar/*.genotype');
  assert.equal(status, 0, output);
  assert.match(output, /basics\.genotype/);
  assert.match(output, /multiline\.genotype/);
});

test('the grammar runner rejects a wrong scope assertion (the check is live)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'genotype-grammar-'));
  const file = join(dir, 'wrong.genotype');
  writeFileSync(
    file,
    [
      '# SYNTAX TEST "source.genotype" "a comment is not a genotype name"',
      '# just a comment',
      '# <- entity.name.type.genotype.genotype',
      "X = Genotype(normal=[('sep_conv_3x3', 0)])",
      '#                     ^^^^^^^^^^^^ constant.numeric.integer.decimal.genotype',
      '',
    ].join('\n'),
  );
  const { status, output } = runGrammarTests(file);
  assert.notEqual(status, 0, output);
  assert.match(output, /missing required scopes/i);
});

test('grammar declares source.genotype and is valid JSON', () => {
  const grammar = JSON.parse(readFileSync(grammarPath, 'utf8')) as { scopeName: string; patterns: unknown[] };
  assert.equal(grammar.scopeName, 'source.genotype');
  assert.ok(grammar.patterns.length > 0);
});

test('language configuration: # comments, bracket pairs, auto-closing quotes, folding', () => {
  const config = JSON.parse(readFileSync(join(root, 'language-configuration.json'), 'utf8')) as {
    comments: { lineComment: string };
    brackets: [string, string][];
    autoClosingPairs: { open: string; close: string }[];
    folding: { offSide: boolean; markers: { start: string; end: string } };
  };
  assert.equal(config.comments.lineComment, '#');
  assert.deepEqual(new Set(config.brackets.map((b) => b.join(''))), new Set(['()', '[]']));
  const closes = new Map(config.autoClosingPairs.map((p) => [p.open, p.close]));
  for (const [open, close] of [['(', ')'], ['[', ']'], ["'", "'"], ['"', '"']]) assert.equal(closes.get(open), close);
  // Indentation folds a multi-line Genotype(...) call; markers fold regions.
  assert.equal(config.folding.offSide, true);
  assert.match('# region DARTS family', new RegExp(config.folding.markers.start));
  assert.match('  # endregion', new RegExp(config.folding.markers.end));
});
