/**
 * Genotype names are Python identifiers, Unicode letters included (XID_Start
 * XID_Continue*, PEP 3131): `ÉCHANTILLON = Genotype(…)` parses, is found
 * by `FILE#NAME`, by the CLI and by the language server (definition,
 * rename). References split at the last `#` only where what follows is a
 * name, so a path that holds `#` itself (`run#1/g#2.genotype`) still
 * resolves, with or without a `#NAME`.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DefinitionRequest, RenameRequest, type Location } from 'vscode-languageserver/node';
import { analyze } from '../../src/genotype/document.js';
import { isIdentifier } from '../../src/genotype/identifier.js';
import { builtin } from '../../src/genotype/library.js';
import { printGenotype } from '../../src/genotype/printer.js';
import { parseGenotypeRef, RefError } from '../../src/genotype/ref.js';
import { cli } from './cli-helpers.js';
import { Harness, applyEdits, positionOf, startHarness } from './server-harness.js';

const darts = builtin('DARTS_V2')!.genotype;
const TEXT = `${printGenotype('ÉCHANTILLON', darts)}\nΔ_2 = ÉCHANTILLON\n𝔘𝔫𝔦 = Δ_2\n`;

test('identifiers: Unicode letters and digits as Python has them; not #, -, a leading digit or a symbol', () => {
  for (const ok of ['ÉCHANTILLON', 'Δ_2', '𝔘𝔫𝔦', '_x', 'café_v2', 'x\u0301', '名前']) assert.ok(isIdentifier(ok), ok);
  for (const bad of ['A#B', 'a-b', '2x', '€', '', 'a b', '😀']) assert.ok(!isIdentifier(bad), bad);
});

test('the parser reads Unicode names: genotypes and aliases, no diagnostics, printed and parsed back', () => {
  const doc = analyze(TEXT);
  assert.deepEqual(doc.diagnostics, []);
  assert.deepEqual([...doc.byName.keys()], ['ÉCHANTILLON', 'Δ_2', '𝔘𝔫𝔦']);
  assert.ok(doc.byName.get('𝔘𝔫𝔦') !== undefined);
  const reparsed = analyze(printGenotype('ÉCHANTILLON', doc.genotypes[0]!.genotype!));
  assert.deepEqual(reparsed.genotypes.map((g) => g.name), ['ÉCHANTILLON']);
});

test("the editor's word pattern takes a Unicode name as one word (VS Code compiles it with its flags)", () => {
  const config = JSON.parse(readFileSync(join(__dirname, '..', '..', 'language-configuration.json'), 'utf8')) as { wordPattern: { pattern: string; flags: string } };
  const word = new RegExp(config.wordPattern.pattern, config.wordPattern.flags);
  assert.deepEqual('Δ_2 = ÉCHANTILLON'.match(new RegExp(word.source, `${word.flags}g`)), ['Δ_2', 'ÉCHANTILLON']);
});

test('references: the last # splits FILE#NAME only before a name; paths holding # or ~ stay paths', () => {
  const files = new Set(['run#1/g#2.genotype', '~/cells/g.genotype', 'backup~1.genotype']);
  const looks = (s: string) => files.has(s) || /\.genotype$/.test(s) || s.includes('/');
  const exists = (s: string) => files.has(s);
  const parse = (t: string) => parseGenotypeRef(t, looks, exists);
  assert.deepEqual(parse('run#1/g#2.genotype#ÉCHANTILLON'), { file: 'run#1/g#2.genotype', name: 'ÉCHANTILLON', variant: undefined });
  assert.deepEqual(parse('run#1/g#2.genotype'), { file: 'run#1/g#2.genotype' });
  assert.deepEqual(parse('run#1/g#2.genotype#Δ_2~connections:3'), { file: 'run#1/g#2.genotype', name: 'Δ_2', variant: { kind: 'connections', seed: 3 } });
  assert.deepEqual(parse('~/cells/g.genotype#X'), { file: '~/cells/g.genotype', name: 'X', variant: undefined });
  assert.deepEqual(parse('backup~1.genotype'), { file: 'backup~1.genotype' });
  assert.deepEqual(parse('ÉCHANTILLON'), { name: 'ÉCHANTILLON', variant: undefined });
  assert.throws(() => parse('run#1/g#2.genotype#a-b'), (e: unknown) => e instanceof RefError && /'a-b' .* is not a genotype name/.test(e.message));
  assert.throws(() => parse('DARTS_V2~conections:3'), /unknown variant kind 'conections'/);
});

test('CLI: metrics and check find Unicode names in a file whose path holds #', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-names-'));
  mkdirSync(join(dir, 'run#1'));
  writeFileSync(join(dir, 'run#1', 'g#2.genotype'), TEXT);
  const one = await cli(['metrics', 'run#1/g#2.genotype#ÉCHANTILLON', '--json'], dir);
  assert.equal(one.code, 0, one.err);
  assert.deepEqual((JSON.parse(one.out) as { name: string }[]).map((r) => r.name), ['ÉCHANTILLON']);
  const all = await cli(['metrics', 'run#1/g#2.genotype', '--json'], dir);
  assert.equal(all.code, 0, all.err);
  assert.deepEqual((JSON.parse(all.out) as { name: string }[]).map((r) => r.name), ['ÉCHANTILLON', 'Δ_2', '𝔘𝔫𝔦']);
  const variant = await cli(['variants', 'run#1/g#2.genotype#𝔘𝔫𝔦', '--kind', 'connections', '--seed', '1', '--json'], dir);
  assert.equal(variant.code, 0, variant.err);
  const check = await cli(['check', 'run#1/g#2.genotype'], dir);
  assert.deepEqual([check.code, check.out, check.err], [0, '', '']);
  // Table columns count code points (astral letters are two UTF-16 units): the second column lines up with its header.
  const [, header, row] = (await cli(['metrics', 'run#1/g#2.genotype#𝔘𝔫𝔦'], dir)).out.split('\n');
  const cps = [...row!];
  assert.equal(cps.findIndex((c, k) => k > 0 && c !== ' ' && cps[k - 1] === ' '), header!.indexOf('normal'));
});

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.stop());

test('language server: no diagnostics, definition and rename with Unicode names', async () => {
  const uri = 'file:///unicode.genotype';
  await h.open(uri, TEXT);
  assert.deepEqual((await h.diagnosticsOf(uri, 1)).diagnostics, []);
  const def = (await h.client.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: positionOf(TEXT, '𝔘𝔫𝔦 = Δ_2', '𝔘𝔫𝔦 = '.length + 1) })) as Location[];
  assert.equal(def.length, 1);
  assert.deepEqual(def[0]!.range.start, positionOf(TEXT, 'Δ_2 ='));
  const edit = await h.client.sendRequest(RenameRequest.type, { textDocument: { uri }, position: positionOf(TEXT, 'Δ_2 = ', 1), newName: 'ÉTAPE_δ' });
  assert.ok(edit?.changes);
  assert.equal(applyEdits(TEXT, edit.changes[uri]!), TEXT.replaceAll('Δ_2', 'ÉTAPE_δ'));
});
