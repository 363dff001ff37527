/**
 * Hover, completion, code lenses and the outline through the LSP protocol.
 * Expected numbers come from the reference (DARTS_V2: normal 3.5c, depth 3;
 * 3,349,342 parameters at C=36, 20 cells; 246,106 at C=16, 8 cells) and from
 * the core's own metrics and cost functions, never from this server's output.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodeLensRequest,
  CompletionRequest,
  DocumentSymbolRequest,
  HoverRequest,
  InsertTextFormat,
  type CompletionItem,
  type CompletionList,
  type DocumentSymbol,
  type MarkupContent,
  type Position,
  type SymbolInformation,
  type TextEdit,
} from 'vscode-languageserver/node';
import { builtin } from '../../src/genotype/library.js';
import { CIFAR_EVALUATION, formatCount, networkCost, opParams } from '../../src/genotype/metrics.js';
import { opInfo } from '../../src/genotype/ops.js';
import { Harness, positionOf, startHarness } from './server-harness.js';

const URI = 'file:///cells.genotype';
const TEXT = `# cells of the paper
PRIMITIVES = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5', 'my_gated_op']

DARTS_V2 = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)],
    reduce_concat=range(2, 6),
)
DARTS = DARTS_V2
PC = PC_DARTS
`;

let h: Harness;
before(async () => {
  h = await startHarness({ initializationOptions: { clientCommands: ['cellscope.showCell', 'cellscope.sampleVariants'] } });
  await h.open(URI, TEXT);
  await h.diagnosticsOf(URI, 1);
});
after(() => h.stop());

async function hoverText(position: Position, uri = URI): Promise<string> {
  const result = await h.client.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
  assert.ok(result, 'no hover');
  return (result.contents as MarkupContent).value;
}

async function complete(uri: string, position: Position): Promise<CompletionItem[]> {
  const result = await h.client.sendRequest(CompletionRequest.type, { textDocument: { uri }, position });
  if (!result) return [];
  return Array.isArray(result) ? result : (result as CompletionList).items;
}

test('hover on an operation: description, kernel, dilation and parameters at the configured C', async () => {
  const text = await hoverText(positionOf(TEXT, 'dil_conv_3x3', 3, 1));
  assert.ok(text.includes(opInfo('dil_conv_3x3')!.description));
  assert.match(text, /kernel 3×3/);
  assert.match(text, /dilation 2/);
  const params = opParams('dil_conv_3x3', 36).toLocaleString('en-US');
  assert.ok(text.includes(params), `${params} not in ${text}`);
});

test('hover on a reduction-cell operation reading a cell input reports stride 2', async () => {
  const text = await hoverText(positionOf(TEXT, "('skip_connect', 2), ('max_pool_3x3', 1)", 4));
  assert.match(text, /skip_connect/);
  // skip_connect reading node 2 inside the reduction cell is an identity: stride 1.
  assert.doesNotMatch(text, /stride 2 \(reads a cell input/);
  const strided = await hoverText(positionOf(TEXT, "reduce=[('max_pool_3x3', 0)", 10));
  assert.match(strided, /stride 2 \(reads a cell input/);
});

test('hover on an input index names the node it reads', async () => {
  const c0 = await hoverText(positionOf(TEXT, "('sep_conv_3x3', 0)", 17));
  assert.match(c0, /c_\{k-2\}/);
  const c1 = await hoverText(positionOf(TEXT, "('sep_conv_3x3', 1)", 17));
  assert.match(c1, /c_\{k-1\}/);
  // ('dil_conv_3x3', 2): node 2 is the sum of the normal cell's first two entries.
  const n2 = await hoverText(positionOf(TEXT, "('dil_conv_3x3', 2)", 17));
  assert.match(n2, /node 2/);
  assert.match(n2, /\('sep_conv_3x3', 0\) \+ \('sep_conv_3x3', 1\)/);
});

test('hover on a genotype name: width, depth, parameters and MACs at the configured size', async () => {
  const cost = networkCost(builtin('DARTS_V2')!.genotype, CIFAR_EVALUATION);
  for (const position of [positionOf(TEXT, 'DARTS_V2', 2), positionOf(TEXT, 'DARTS = DARTS_V2', 10)]) {
    const text = await hoverText(position);
    assert.match(text, /\| normal \| 3\.5c \| 3 \|/);
    assert.match(text, /\| reduce \| 2\.5c \| 3 \|/);
    assert.ok(text.includes('3,349,342'), text);
    assert.ok(text.includes(formatCount(cost.macs)), text);
  }
  const alias = await hoverText(positionOf(TEXT, 'DARTS =', 1));
  assert.match(alias, /alias of \*\*DARTS_V2\*\*/);
});

test('hover on a built-in alias target: its paper and source', async () => {
  const entry = builtin('PC_DARTS')!;
  const text = await hoverText(positionOf(TEXT, 'PC_DARTS', 3));
  assert.ok(text.includes(entry.paper));
  assert.ok(text.includes(entry.source));
});

test('completion inside quotes offers known operations, the file PRIMITIVES and the extra operations', async () => {
  const uri = 'file:///complete-op.genotype';
  const text = `${TEXT}X = Genotype(normal=[('se`;
  await h.open(uri, text);
  await h.diagnosticsOf(uri, 1);
  const items = await complete(uri, positionOf(text, "[('se", 5));
  const labels = items.map((i) => i.label);
  for (const op of ['sep_conv_3x3', 'sep_conv_7x7', 'skip_connect', 'my_gated_op']) assert.ok(labels.includes(op), `${op} missing`);
  const edit = items.find((i) => i.label === 'sep_conv_3x3')!.textEdit as TextEdit;
  // The edit replaces what was typed inside the quotes.
  assert.deepEqual(edit.range.start, positionOf(text, "[('se", 3));
  const mark = h.published.length;
  await h.changeSettings({ extraOperations: ['mixed_op_x'] });
  // New extra operations re-validate every open document; after that the server uses them.
  await h.diagnosticsAfter(uri, mark);
  const withExtra = await complete(uri, positionOf(text, "[('se", 5));
  assert.ok(withExtra.some((i) => i.label === 'mixed_op_x'));
  const reset = h.published.length;
  await h.changeSettings({});
  await h.diagnosticsAfter(uri, reset);
});

test('completion of an input offers the nodes before the entry’s node', async () => {
  const uri = 'file:///complete-input.genotype';
  const text = "Y = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 1), ('sep_conv_5x5', ";
  await h.open(uri, text);
  // The fifth entry feeds node 4: it can read 0, 1, 2, 3.
  const items = await complete(uri, positionOf(text, "('sep_conv_5x5', ", 17));
  assert.deepEqual(items.map((i) => i.label), ['0', '1', '2', '3']);
  assert.equal(items[0]!.labelDetails?.description, 'c_{k-2}');
  assert.equal(items[1]!.labelDetails?.description, 'c_{k-1}');
  assert.equal(items[3]!.labelDetails?.description, 'node 3');
  // The second entry still feeds node 2: only the cell inputs.
  const first = "Z = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', ";
  await h.open('file:///complete-input2.genotype', first);
  const two = await complete('file:///complete-input2.genotype', positionOf(first, "('sep_conv_3x3', ", 17, 1));
  assert.deepEqual(two.map((i) => i.label), ['0', '1']);
});

test('completion after NAME = offers file and built-in genotypes and a Genotype(...) snippet', async () => {
  const uri = 'file:///complete-name.genotype';
  const text = `${TEXT}MINE = `;
  await h.open(uri, text);
  const items = await complete(uri, positionOf(text, 'MINE = ', 7));
  const labels = items.map((i) => i.label);
  for (const name of ['DARTS_V2', 'DARTS', 'PC', 'NASNet', 'PC_DARTS', 'SNAS']) assert.ok(labels.includes(name), `${name} missing`);
  assert.ok(!labels.includes('MINE'));
  const snippet = items.find((i) => i.label === 'Genotype(...)');
  assert.ok(snippet);
  assert.equal(snippet.insertTextFormat, InsertTextFormat.Snippet);
  assert.match((snippet.textEdit as TextEdit).newText, /normal=\[/);
  // Nothing to offer in a comment.
  assert.deepEqual(await complete(URI, positionOf(TEXT, '# cells', 4)), []);
});

test('code lens: metrics and parameter count at the configured size, then the declared commands', async () => {
  const lenses = await h.client.sendRequest(CodeLensRequest.type, { textDocument: { uri: URI } });
  assert.ok(lenses);
  const line = positionOf(TEXT, 'DARTS_V2 =').line;
  const onDarts = lenses.filter((l) => l.range.start.line === line);
  assert.equal(onDarts[0]!.command!.title, 'normal 3.5c · depth 3 | reduce 2.5c · depth 3 | 3.35M params');
  assert.equal(onDarts[0]!.command!.command, '');
  assert.deepEqual(
    onDarts.slice(1).map((l) => [l.command!.title, l.command!.command, l.command!.arguments]),
    [
      ['Show cell', 'cellscope.showCell', [URI, 'DARTS_V2']],
      ['Sample variants', 'cellscope.sampleVariants', [URI, 'DARTS_V2']],
    ],
  );
  // Aliases get lenses too: PC resolves to the built-in PC_DARTS.
  const pcLine = positionOf(TEXT, 'PC =').line;
  const pc = lenses.find((l) => l.range.start.line === pcLine);
  const pcParams = formatCount(networkCost(builtin('PC_DARTS')!.genotype, CIFAR_EVALUATION).params);
  assert.ok(pc?.command?.title.endsWith(`${pcParams} params`), pc?.command?.title);
});

test('code lens follows cellscope.evaluation: C=16, 8 cells gives 246K parameters', async () => {
  await h.changeSettings({ evaluation: { channels: 16, layers: 8, classes: 10 } });
  const deadline = Date.now() + 5000;
  let title = '';
  while (Date.now() < deadline) {
    const lenses = await h.client.sendRequest(CodeLensRequest.type, { textDocument: { uri: URI } });
    title = lenses?.[0]?.command?.title ?? '';
    if (title.includes('246K')) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.match(title, /\| 246K params$/);
  await h.changeSettings({});
});

test('a client that declares no commands gets only the numbers lens', async () => {
  const bare = await startHarness();
  try {
    await bare.open(URI, TEXT);
    const lenses = await bare.client.sendRequest(CodeLensRequest.type, { textDocument: { uri: URI } });
    assert.ok(lenses && lenses.length === 3);
    assert.ok(lenses.every((l) => l.command?.command === '' && /params$/.test(l.command.title)));
  } finally {
    bare.stop();
  }
});

test('document symbols: genotypes with normal and reduce children, aliases, PRIMITIVES', async () => {
  const symbols = (await h.client.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: URI } })) as DocumentSymbol[];
  assert.deepEqual(symbols.map((s) => s.name), ['PRIMITIVES', 'DARTS_V2', 'DARTS', 'PC']);
  const darts = symbols[1]!;
  assert.deepEqual(darts.children?.map((c) => c.name), ['normal', 'reduce']);
  assert.match(darts.children![0]!.detail!, /4 nodes/);
  assert.match(darts.children![1]!.detail!, /range\(2, 6\)/);
  assert.equal(darts.selectionRange.start.line, positionOf(TEXT, 'DARTS_V2 =').line);
  assert.equal(symbols[2]!.detail, '= DARTS_V2');
  // Flat symbols for a client without hierarchical support.
  const flat = await startHarness({ capabilities: {} });
  try {
    await flat.open(URI, TEXT);
    const info = (await flat.client.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri: URI } })) as SymbolInformation[];
    assert.ok(info.some((s) => s.name === 'normal' && s.containerName === 'DARTS_V2'));
  } finally {
    flat.stop();
  }
});
