/**
 * Names and edits through the LSP protocol: go to definition, references,
 * rename, formatting and code actions. Each edit is applied to the text and
 * the result sent back to the server, which must then report what the edit
 * promised (the diagnostic gone, the name everywhere, formatting stable).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodeActionKind,
  CodeActionRequest,
  DefinitionRequest,
  DocumentFormattingRequest,
  PrepareRenameRequest,
  ReferencesRequest,
  RenameRequest,
  ResponseError,
  type CodeAction,
  type Location,
  type Position,
  type TextEdit,
} from 'vscode-languageserver/node';
import { parse } from '../../src/genotype/parser.js';
import { Harness, applyEdits, positionOf, startHarness, textAt } from './server-harness.js';

const TEXT = `BASE = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 2)], normal_concat=[2, 3], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=range(2, 3))
ALIAS = BASE
SECOND = ALIAS
OTHER = BASE
LIB = DARTS_V2
`;

let h: Harness;
let counter = 0;
before(async () => {
  h = await startHarness();
});
after(() => h.stop());

async function openFresh(text: string): Promise<string> {
  const uri = `file:///edits-${++counter}.genotype`;
  await h.open(uri, text);
  await h.diagnosticsOf(uri, 1);
  return uri;
}

test('go to definition from an alias target lands on the definition name', async () => {
  const uri = await openFresh(TEXT);
  const result = (await h.client.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: positionOf(TEXT, 'ALIAS = BASE', 9) })) as Location[];
  assert.equal(result.length, 1);
  assert.deepEqual(result[0]!.range, { start: positionOf(TEXT, 'BASE'), end: positionOf(TEXT, 'BASE', 4) });
  // Chains resolve one step at a time: SECOND = ALIAS goes to ALIAS.
  const chain = (await h.client.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: positionOf(TEXT, 'SECOND = ALIAS', 10) })) as Location[];
  assert.equal(textAt(TEXT, chain[0]!.range), 'ALIAS');
  assert.equal(chain[0]!.range.start.line, 1);
  // A built-in has no location in the file.
  const lib = await h.client.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: positionOf(TEXT, 'DARTS_V2', 2) });
  assert.deepEqual(lib, []);
});

test('references of a genotype name: its definition and every alias naming it', async () => {
  const uri = await openFresh(TEXT);
  const refs = (await h.client.sendRequest(ReferencesRequest.type, {
    textDocument: { uri },
    position: positionOf(TEXT, 'BASE', 1),
    context: { includeDeclaration: true },
  })) as Location[];
  assert.deepEqual(refs.map((r) => [r.range.start.line, textAt(TEXT, r.range)]), [
    [0, 'BASE'],
    [1, 'BASE'],
    [3, 'BASE'],
  ]);
  const withoutDecl = (await h.client.sendRequest(ReferencesRequest.type, {
    textDocument: { uri },
    position: positionOf(TEXT, 'OTHER = BASE', 9),
    context: { includeDeclaration: false },
  })) as Location[];
  assert.deepEqual(withoutDecl.map((r) => r.range.start.line), [1, 3]);
});

test('rename a genotype: definition and aliases change; prepareRename gives the range; invalid names are refused', async () => {
  const uri = await openFresh(TEXT);
  const at: Position = positionOf(TEXT, 'OTHER = BASE', 10);
  const prepared = await h.client.sendRequest(PrepareRenameRequest.type, { textDocument: { uri }, position: at });
  assert.ok(prepared && 'range' in prepared);
  assert.equal(textAt(TEXT, prepared.range), 'BASE');
  const edit = await h.client.sendRequest(RenameRequest.type, { textDocument: { uri }, position: at, newName: 'DARTS_LIKE' });
  assert.ok(edit?.changes);
  const renamed = applyEdits(TEXT, edit.changes[uri]!);
  assert.equal(renamed, TEXT.replaceAll('BASE', 'DARTS_LIKE'));
  const version = await h.replace(uri, renamed);
  assert.deepEqual((await h.diagnosticsOf(uri, version)).diagnostics, []);

  await assert.rejects(
    h.client.sendRequest(RenameRequest.type, { textDocument: { uri }, position: positionOf(renamed, 'ALIAS =', 1), newName: '2bad' }),
    (error: unknown) => error instanceof ResponseError,
  );
  await assert.rejects(
    h.client.sendRequest(RenameRequest.type, { textDocument: { uri }, position: positionOf(renamed, 'ALIAS =', 1), newName: 'SECOND' }),
    (error: unknown) => error instanceof ResponseError && /already used/.test(error.message),
  );
  // Built-ins belong to the library, not to the file.
  await assert.rejects(
    h.client.sendRequest(PrepareRenameRequest.type, { textDocument: { uri }, position: positionOf(renamed, 'DARTS_V2', 1) }),
    (error: unknown) => error instanceof ResponseError,
  );
});

test('formatting: the printer layout, which parses to the same file and is stable', async () => {
  const messy = "X=Genotype( normal = [ ('sep_conv_3x3',0),('sep_conv_3x3' , 1) ] ,normal_concat=[ 2 ], reduce=[('max_pool_3x3',0),('max_pool_3x3',1)],reduce_concat=[2])\n";
  const uri = await openFresh(messy);
  const edits = (await h.client.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 4, insertSpaces: true } })) as TextEdit[];
  assert.ok(edits.length > 0);
  const formatted = applyEdits(messy, edits);
  assert.notEqual(formatted, messy);
  const strip = (f: ReturnType<typeof parse>) =>
    JSON.stringify(f.statements.map((s) => (s.kind === 'genotype' ? [s.name.text, s.call.normal?.entries.map((e) => [e.op?.value, e.input?.value]), s.call.normalConcat?.items.map((i) => i.value)] : s.kind)));
  assert.equal(strip(parse(formatted)), strip(parse(messy)));
  const version = await h.replace(uri, formatted);
  await h.diagnosticsOf(uri, version);
  const again = (await h.client.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 4, insertSpaces: true } })) as TextEdit[];
  assert.equal(applyEdits(formatted, again), formatted);
});

async function actionsAt(uri: string, text: string, needle: string, only?: string[]): Promise<CodeAction[]> {
  const start = positionOf(text, needle);
  const diagnostics = h.published.filter((p) => p.uri === uri).at(-1)?.diagnostics ?? [];
  const result = await h.client.sendRequest(CodeActionRequest.type, {
    textDocument: { uri },
    range: { start, end: start },
    context: { diagnostics, ...(only ? { only } : {}) },
  });
  return (result ?? []) as CodeAction[];
}

/** Applies a code action's edit, sends the new text, returns it with its diagnostics. */
async function apply(uri: string, text: string, action: CodeAction) {
  const next = applyEdits(text, action.edit!.changes![uri]!);
  const version = await h.replace(uri, next);
  return { text: next, diagnostics: (await h.diagnosticsOf(uri, version)).diagnostics };
}

test('quick fix: an unknown operation becomes the suggestion and the error goes away', async () => {
  const text = TEXT.replace("('skip_connect', 0)", "('skip_conect', 0)");
  const uri = await openFresh(text);
  const actions = await actionsAt(uri, text, 'skip_conect', [CodeActionKind.QuickFix]);
  const fix = actions.find((a) => a.kind === CodeActionKind.QuickFix);
  assert.ok(fix, JSON.stringify(actions));
  assert.equal(fix.diagnostics?.[0]?.code, 'unknown-op');
  const after = await apply(uri, text, fix);
  assert.equal(after.text, TEXT);
  assert.deepEqual(after.diagnostics, []);
});

test('quick fix: an out-of-range input is clamped to the last valid node', async () => {
  const text = TEXT.replace("('sep_conv_3x3', 2)]", "('sep_conv_3x3', 7)]");
  const uri = await openFresh(text);
  const fix = (await actionsAt(uri, text, "7)]")).find((a) => a.diagnostics?.[0]?.code === 'input-out-of-range');
  assert.ok(fix);
  const after = await apply(uri, text, fix);
  // The entry feeds node 3, which can read up to node 2.
  assert.ok(after.text.includes("('sep_conv_3x3', 2)]"));
  assert.ok(!after.diagnostics.some((d) => d.code === 'input-out-of-range'));
});

test('quick fix: a dead node is added to the concat', async () => {
  // Node 3 is neither in the concat nor read by another node.
  const text = TEXT.replace('normal_concat=[2, 3]', 'normal_concat=[2]');
  const uri = await openFresh(text);
  const published = await h.diagnosticsOf(uri, 1);
  assert.ok(published.diagnostics.some((d) => d.code === 'dead-node'));
  const fix = (await actionsAt(uri, text, "('skip_connect', 0)")).find((a) => a.diagnostics?.[0]?.code === 'dead-node');
  assert.ok(fix);
  assert.match(fix.title, /node 3/);
  const after = await apply(uri, text, fix);
  assert.ok(after.text.includes('normal_concat=[2, 3]'), after.text);
  assert.deepEqual(after.diagnostics, []);
});

test('rewrite: range(a, b) ↔ list on any concat', async () => {
  const uri = await openFresh(TEXT);
  const toList = (await actionsAt(uri, TEXT, 'range(2, 3)', [CodeActionKind.RefactorRewrite]))[0];
  assert.ok(toList);
  assert.equal(toList.kind, CodeActionKind.RefactorRewrite);
  const listed = await apply(uri, TEXT, toList);
  assert.ok(listed.text.includes('reduce_concat=[2]'));
  const toRange = (await actionsAt(uri, listed.text, 'normal_concat=[2, 3]', [CodeActionKind.RefactorRewrite]))[0];
  assert.ok(toRange);
  const ranged = await apply(uri, listed.text, toRange);
  assert.ok(ranged.text.includes('normal_concat=range(2, 4)'));
  assert.deepEqual(ranged.diagnostics, []);
  // A list with gaps has no range form: no rewrite offered.
  const gappy = TEXT.replace("('sep_conv_3x3', 2)]", "('sep_conv_3x3', 2), ('skip_connect', 3), ('skip_connect', 1)]").replace('normal_concat=[2, 3]', 'normal_concat=[2, 4]');
  const gappyUri = await openFresh(gappy);
  assert.deepEqual(await actionsAt(gappyUri, gappy, 'normal_concat=[2, 4]', [CodeActionKind.RefactorRewrite]), []);
});
