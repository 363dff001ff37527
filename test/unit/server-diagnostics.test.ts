/**
 * Diagnostics over the LSP protocol: published on open and as the text
 * changes (debounced), with the core's codes, severities and related
 * information; re-validated when the extra-operations setting changes;
 * cleared on close.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagnosticSeverity } from 'vscode-languageserver/node';
import { Harness, messageOf, positionOf, startHarness, textAt } from './server-harness.js';

const GOOD = `DARTS_V2 = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)],
    reduce_concat=[2, 3, 4, 5],
)
`;

// Node 4 (third pair of the normal cell) feeds nothing and is not in the concat.
const DEAD = `LOOSE = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2), ('my_custom_op', 1), ('avg_pool_3x3', 0)],
    normal_concat=[2, 3],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)],
    reduce_concat=[2],
)
`;

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.stop());

test('a correct file publishes no diagnostics, with the document version', async () => {
  await h.open('file:///good.genotype', GOOD, 3);
  const published = await h.diagnosticsOf('file:///good.genotype', 3);
  assert.deepEqual(published.diagnostics, []);
});

test('unknown operation: error with code, source, exact range and suggestion data', async () => {
  const text = GOOD.replace("('dil_conv_3x3', 2)", "('dil_conv_3x4', 2)");
  await h.open('file:///typo.genotype', text);
  const { diagnostics } = await h.diagnosticsOf('file:///typo.genotype', 1);
  assert.equal(diagnostics.length, 1);
  const [d] = diagnostics;
  assert.equal(d!.code, 'unknown-op');
  assert.equal(d!.source, 'cellscope');
  assert.equal(d!.severity, DiagnosticSeverity.Error);
  assert.equal(textAt(text, d!.range), 'dil_conv_3x4');
  assert.match(messageOf(d!), /dil_conv_3x3/);
  assert.equal((d!.data as { suggestion?: string }).suggestion, 'dil_conv_3x3');
});

test('dead node: warning whose related information points at the concat; custom op unknown until configured', async () => {
  await h.open('file:///dead.genotype', DEAD);
  const { diagnostics } = await h.diagnosticsOf('file:///dead.genotype', 1);
  const dead = diagnostics.find((d) => d.code === 'dead-node');
  assert.ok(dead, JSON.stringify(diagnostics));
  assert.equal(dead.severity, DiagnosticSeverity.Warning);
  assert.match(messageOf(dead), /node 4/);
  const related = dead.relatedInformation?.[0];
  assert.ok(related);
  assert.equal(related.location.uri, 'file:///dead.genotype');
  assert.equal(textAt(DEAD, related.location.range), '[2, 3]');
  // The dead node's two entries are what the warning covers.
  assert.match(textAt(DEAD, dead.range), /my_custom_op[\s\S]*avg_pool_3x3/);
  assert.ok(diagnostics.some((d) => d.code === 'unknown-op' && textAt(DEAD, d.range).includes('my_custom_op')));
});

test('changes re-validate: fixing the typo clears the error; a burst of edits is debounced', async () => {
  const uri = 'file:///typing.genotype';
  const broken = GOOD.replace("('dil_conv_3x3', 2)", "('dil_conv_3x4', 2)");
  await h.open(uri, broken);
  assert.equal((await h.diagnosticsOf(uri, 1)).diagnostics.length, 1);
  const before = h.published.filter((p) => p.uri === uri).length;
  let version = 1;
  for (let i = 0; i < 20; i++) version = await h.replace(uri, i % 2 === 0 ? GOOD : broken);
  version = await h.replace(uri, GOOD);
  const last = await h.diagnosticsOf(uri, version);
  assert.deepEqual(last.diagnostics, []);
  const during = h.published.filter((p) => p.uri === uri).length - before;
  assert.ok(during < 21, `${during} publications for 21 changes`);
});

test('incremental edits are applied to the right characters', async () => {
  const uri = 'file:///incremental.genotype';
  await h.open(uri, GOOD);
  await h.diagnosticsOf(uri, 1);
  const at = positionOf(GOOD, 'dil_conv_3x3');
  const version = await h.edit(uri, [{ range: { start: { line: at.line, character: at.character + 4 }, end: { line: at.line, character: at.character + 8 } }, newText: 'conf' }]);
  const { diagnostics } = await h.diagnosticsOf(uri, version);
  assert.equal(diagnostics.length, 1);
  assert.match(messageOf(diagnostics[0]!), /'dil_conf_3x3'/);
});

test('cellscope.extraOperations makes a custom operation valid, after a configuration change', async () => {
  const uri = 'file:///dead.genotype';
  await h.changeSettings({ extraOperations: ['my_custom_op'] });
  const published = await h.diagnostics(uri, (p) => !p.diagnostics.some((d) => d.code === 'unknown-op'));
  assert.deepEqual(
    published.diagnostics.map((d) => d.code),
    ['dead-node'],
  );
  await h.changeSettings({});
  await h.diagnostics(uri, (p) => p.diagnostics.some((d) => d.code === 'unknown-op'));
});

test('closing a document clears its diagnostics', async () => {
  await h.close('file:///typo.genotype');
  const published = await h.diagnostics('file:///typo.genotype', (p) => p.diagnostics.length === 0);
  assert.equal(published.version, undefined);
});

test('without workspace/configuration support the settings come with didChangeConfiguration', async () => {
  const plain = await startHarness({ capabilities: { textDocument: { publishDiagnostics: {} } } });
  try {
    await plain.open('file:///dead.genotype', DEAD);
    const first = await plain.diagnosticsOf('file:///dead.genotype', 1);
    assert.ok(first.diagnostics.some((d) => d.code === 'unknown-op'));
    // No relatedInformation capability: the server leaves it out.
    assert.ok(first.diagnostics.every((d) => d.relatedInformation === undefined));
    await plain.changeSettings({ extraOperations: ['my_custom_op'] });
    await plain.diagnostics('file:///dead.genotype', (p) => !p.diagnostics.some((d) => d.code === 'unknown-op'));
    assert.equal(plain.configurationRequests, 0);
  } finally {
    plain.stop();
  }
});
