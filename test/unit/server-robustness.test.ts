/**
 * The server survives anything an editor can send: requests for documents
 * it never saw or already closed, positions past the end, garbage text, and
 * a seeded random stream of edits and pipelined requests. After all of it,
 * it still answers correctly, and no handler failed (the server logs every
 * handler that throws).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CodeActionRequest,
  CodeLensRequest,
  CompletionRequest,
  DefinitionRequest,
  DocumentFormattingRequest,
  DocumentSymbolRequest,
  HoverRequest,
  PrepareRenameRequest,
  ReferencesRequest,
  RenameRequest,
  ResponseError,
  type DocumentSymbol,
  type Position,
} from 'vscode-languageserver/node';
import { Harness, startHarness } from './server-harness.js';
import { mulberry32 as prng } from '../../src/shared/mulberry32.js';

const VALID = `# two cells and an alias
PRIMITIVES = ['none', 'max_pool_3x3', 'skip_connect', 'sep_conv_3x3']
A = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 2)],
    normal_concat=[2, 3],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1)],
    reduce_concat=range(2, 4),
)
B = A
C = DARTS_V2
`;

let h: Harness;
before(async () => {
  h = await startHarness({ initializationOptions: { clientCommands: ['cellscope.showCell'] } });
});
after(() => h.stop());

/** Every request the server implements, at one position. Resolves to [method, result | error]. */
function everyRequest(uri: string, position: Position): Array<Promise<[string, unknown]>> {
  const doc = { textDocument: { uri } };
  const at = { ...doc, position };
  const range = { start: position, end: position };
  const settle = (name: string, p: Promise<unknown>): Promise<[string, unknown]> => p.then((r) => [name, r] as [string, unknown], (e: unknown) => [name, e] as [string, unknown]);
  return [
    settle('hover', h.client.sendRequest(HoverRequest.type, at)),
    settle('completion', h.client.sendRequest(CompletionRequest.type, at)),
    settle('codeLens', h.client.sendRequest(CodeLensRequest.type, doc)),
    settle('symbols', h.client.sendRequest(DocumentSymbolRequest.type, doc)),
    settle('definition', h.client.sendRequest(DefinitionRequest.type, at)),
    settle('references', h.client.sendRequest(ReferencesRequest.type, { ...at, context: { includeDeclaration: true } })),
    settle('prepareRename', h.client.sendRequest(PrepareRenameRequest.type, at)),
    settle('rename', h.client.sendRequest(RenameRequest.type, { ...at, newName: 'RENAMED' })),
    settle('formatting', h.client.sendRequest(DocumentFormattingRequest.type, { ...doc, options: { tabSize: 4, insertSpaces: true } })),
    settle('codeAction', h.client.sendRequest(CodeActionRequest.type, { ...doc, range, context: { diagnostics: [] } })),
  ];
}

function isEmpty(result: unknown): boolean {
  if (result === null || result === undefined) return true;
  if (Array.isArray(result)) return result.length === 0;
  if (typeof result === 'object' && 'items' in result) return (result as { items: unknown[] }).items.length === 0;
  return false;
}

test('requests for a document never opened get empty answers', async () => {
  const results = await Promise.all(everyRequest('file:///never-opened.genotype', { line: 0, character: 0 }));
  for (const [name, result] of results) {
    assert.ok(!(result instanceof Error), `${name}: ${String(result)}`);
    assert.ok(isEmpty(result), `${name}: ${JSON.stringify(result)}`);
  }
});

test('positions past the end, negative positions and closed documents are harmless', async () => {
  const uri = 'file:///bounds.genotype';
  await h.open(uri, VALID);
  await h.diagnosticsOf(uri, 1);
  for (const position of [{ line: 9999, character: 9999 }, { line: 2, character: 5000 }, { line: -3, character: -1 }]) {
    const results = await Promise.all(everyRequest(uri, position));
    for (const [name, result] of results) {
      // Rename at a place with no name is refused with a ResponseError or null, never a crash.
      if (result instanceof Error) assert.ok(result instanceof ResponseError && /rename/i.test(name), `${name}: ${String(result)}`);
    }
  }
  await h.close(uri);
  const results = await Promise.all(everyRequest(uri, { line: 2, character: 1 }));
  for (const [name, result] of results) assert.ok(isEmpty(result), `${name} after close: ${JSON.stringify(result)}`);
  assert.deepEqual(h.logs.filter((l) => /failed/.test(l)), []);
});

test('garbage text: binary junk, lone surrogates, CRLF and CR line ends, unclosed everything', async () => {
  const texts = [
    '\u0000\u0001\uFFFF\uD800 = Genotype((((((\n',
    'X = Genotype(normal=[(\'sep_conv_3x3\', 0)\r\n  , (\'😀\', 1)], normal_concat=range(\r\nY = X\r\n',
    'A = B\rB = A\rC = C\r',
    ')]\'"#\n'.repeat(200),
    `${'Z = '.repeat(500)}Genotype(`,
    "Q = Genotype(normal=[('sep_conv_3x3', 99999999999999999999), ('x', -1), ('y', 1.5)], normal_concat=[0, 1, 2, 2, 99], reduce=[], reduce_concat=range(5, 2))",
  ];
  for (const [i, text] of texts.entries()) {
    const uri = `file:///garbage-${i}.genotype`;
    await h.open(uri, text);
    await h.diagnosticsOf(uri, 1);
    const lines = text.split(/\r\n|\r|\n/);
    const positions: Position[] = [];
    for (let line = 0; line < Math.min(lines.length, 5); line++) for (let character = 0; character <= Math.min(lines[line]!.length, 40); character += 3) positions.push({ line, character });
    await Promise.all(positions.flatMap((p) => everyRequest(uri, p)));
  }
  assert.deepEqual(h.logs.filter((l) => /failed/.test(l)), []);
});

const FRAGMENTS = [
  "'", '"', '(', ')', '[', ']', ',', '=', ' ', '\n', '\n    ', '#', '0', '1', '7', '-1', '2.5', 'range(2, 6)', 'Genotype(',
  "('sep_conv_3x3', 0)", "'skip_connect'", 'normal=', 'normal_concat=', 'reduce=', 'reduce_concat=', 'DARTS_V2', 'A', 'B = A\n',
  'PRIMITIVES = [', '\r\n', 'é', '😀', '\t',
];

function positionAt(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

test('fuzz: seeded random edits and pipelined random requests never bring the server down', async () => {
  for (const seed of [1, 2, 3]) {
    const random = prng(seed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const uri = `file:///fuzz-${seed}.genotype`;
    let text = VALID.repeat(3);
    await h.open(uri, text);
    const pending: Array<Promise<[string, unknown]>> = [];
    for (let step = 0; step < 150; step++) {
      // Keep offsets on UTF-16 boundaries the editor would produce: the server must cope either way.
      const start = Math.floor(random() * (text.length + 1));
      const end = Math.min(text.length, start + (random() < 0.5 ? 0 : Math.floor(random() * 12)));
      const insert = random() < 0.8 ? pick(FRAGMENTS) : '';
      const range = { start: positionAt(text, start), end: positionAt(text, end) };
      text = text.slice(0, start) + insert + text.slice(end);
      await h.edit(uri, [{ range, newText: insert }]);
      if (random() < 0.5) {
        const offset = Math.floor(random() * (text.length + 20));
        const position = random() < 0.1 ? { line: Math.floor(random() * 500), character: Math.floor(random() * 500) } : positionAt(text, Math.min(offset, text.length));
        pending.push(...everyRequest(uri, position));
        // Also ask about a document that is not open, out of order.
        if (random() < 0.1) pending.push(...everyRequest(`file:///fuzz-not-open-${step}.genotype`, position));
      }
    }
    const results = await Promise.all(pending);
    for (const [name, result] of results) {
      if (result instanceof Error) assert.ok(result instanceof ResponseError && /rename/i.test(name), `seed ${seed} ${name}: ${String(result)}`);
    }
    await h.close(uri);
  }
  assert.deepEqual(h.logs.filter((l) => /failed/.test(l)), []);
  // Still alive and still right.
  const uri = 'file:///after-fuzz.genotype';
  await h.open(uri, VALID);
  assert.deepEqual((await h.diagnosticsOf(uri, 1)).diagnostics, []);
  const symbols = (await h.client.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } })) as DocumentSymbol[];
  assert.deepEqual(symbols.map((s) => s.name), ['PRIMITIVES', 'A', 'B', 'C']);
});
