/**
 * The bundled server as editors start it: `node dist/server.js --stdio` and
 * `cellscope lsp --stdio` (the CLI bundle), each spawned as a process and
 * driven over its stdin/stdout: initialize, diagnostics for an opened file,
 * a hover, then shutdown and exit with status 0. The bundles are built here
 * with the project's esbuild settings into a temporary folder, so the test
 * never races a concurrent `npm run build` writing dist/.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { SERVER_NODE_FLAGS } from '../../src/server/nodeFlags.js';
import {
  ExitNotification,
  HoverRequest,
  IPCMessageReader,
  IPCMessageWriter,
  InitializeRequest,
  InitializedNotification,
  LogMessageNotification,
  PublishDiagnosticsNotification,
  ShutdownRequest,
  DidOpenTextDocumentNotification,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
  type MarkupContent,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver/node';

const root = join(__dirname, '..', '..');
let out: string;

before(async () => {
  out = mkdtempSync(join(tmpdir(), 'cellscope-lsp-'));
  await esbuild.build({
    entryPoints: [
      { in: join(root, 'src/server/main.ts'), out: 'server' },
      { in: join(root, 'src/cli/main.ts'), out: 'cli' },
    ],
    outdir: out,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'],
  });
});
after(() => rmSync(out, { recursive: true, force: true }));

const TEXT = "BAD = Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x5', 1)], normal_concat=[2], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])\n";

/** The server's start-up log line (its node and flags), once it comes. */
function startLine(client: ProtocolConnection): Promise<string> {
  return new Promise<string>((resolve) =>
    client.onNotification(LogMessageNotification.type, (p) => {
      if (p.message.startsWith('Cellscope language server on node')) resolve(p.message);
    }),
  );
}

/** `flags`: whether the server process must run with the language server's node flags (nodeFlags.ts). */
async function roundTrip(args: string[], flags: boolean): Promise<void> {
  const child: ChildProcess = spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const client = createProtocolConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const diagnostics = new Promise<PublishDiagnosticsParams>((resolve) => client.onNotification(PublishDiagnosticsNotification.type, resolve));
  const started = startLine(client);
  client.listen();
  try {
    const init = await client.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {} });
    assert.equal(init.serverInfo?.name, 'cellscope-genotype');
    assert.ok(init.capabilities.hoverProvider);
    await client.sendNotification(InitializedNotification.type, {});
    const startMessage = await started;
    for (const flag of SERVER_NODE_FLAGS) assert.equal(startMessage.includes(flag), flags, startMessage);
    const uri = 'file:///stdio.genotype';
    await client.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'genotype', version: 1, text: TEXT } });
    const published = await diagnostics;
    assert.equal(published.uri, uri);
    assert.deepEqual(published.diagnostics.map((d) => d.code), ['unknown-op']);
    const hover = await client.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 0, character: 1 } });
    assert.match((hover!.contents as MarkupContent).value, /\*\*BAD\*\*/);
    await client.sendRequest(ShutdownRequest.type);
    await client.sendNotification(ExitNotification.type);
    assert.equal(await exited, 0, stderr);
  } finally {
    client.dispose();
    child.kill();
  }
}

test('node dist/server.js --stdio: initialize, diagnostics, hover, shutdown, exit 0', async () => {
  await roundTrip([join(out, 'server.js'), '--stdio'], false);
});

test('cellscope lsp --stdio runs the same server, started again with the server\'s node flags', async () => {
  await roundTrip([join(out, 'cli.js'), 'lsp', '--stdio'], true);
});

test('cellscope lsp without a transport flag defaults to stdio', async () => {
  await roundTrip([join(out, 'cli.js'), 'lsp'], true);
});

test('cellscope lsp refuses two transports and stray arguments, without starting a server', async () => {
  const { runCli } = await import('../../src/cli/main.js');
  let err = '';
  const io = { stdout: () => undefined, stderr: (t: string) => (err += t), cwd: root };
  assert.equal(await runCli(['lsp', '--stdio', '--node-ipc'], io), 2);
  assert.match(err, /one transport/);
  assert.equal(await runCli(['lsp', 'extra'], io), 2);
});

test('the server flags count as given on the command line or in NODE_OPTIONS, at any value', async () => {
  const { hasServerNodeFlags } = await import('../../src/server/nodeFlags.js');
  assert.equal(hasServerNodeFlags([]), false);
  assert.equal(hasServerNodeFlags(['--inspect=6009']), false);
  assert.equal(hasServerNodeFlags([...SERVER_NODE_FLAGS]), true);
  // A user's own size, in node's spelling with underscores too, is kept rather than overridden.
  assert.equal(hasServerNodeFlags(['--max_semi_space_size=64']), true);
  assert.equal(hasServerNodeFlags([], '--max-old-space-size=4096 --max-semi-space-size=8'), true);
  assert.equal(hasServerNodeFlags([], '--max-old-space-size=4096'), false);
});

test('cellscope lsp --node-ipc serves over the IPC channel it was forked with (no restart: the channel would not reach one)', async () => {
  const child = spawn(process.execPath, [join(out, 'cli.js'), 'lsp', '--node-ipc'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe', 'ipc'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const client = createProtocolConnection(new IPCMessageReader(child), new IPCMessageWriter(child));
  const started = startLine(client);
  client.listen();
  try {
    const init = await client.sendRequest(InitializeRequest.type, { processId: process.pid, rootUri: null, capabilities: {} });
    assert.equal(init.serverInfo?.name, 'cellscope-genotype');
    await client.sendNotification(InitializedNotification.type, {});
    assert.match(await started, /flags: none/);
    await client.sendRequest(ShutdownRequest.type);
    await client.sendNotification(ExitNotification.type);
    assert.equal(await exited, 0);
  } finally {
    client.dispose();
    child.kill();
  }
});

/** Starts the server over stdio, writes `bytes` and resolves with its stderr once it names a broken message (10 s at most). */
async function stderrAfter(args: string[], bytes: string): Promise<string> {
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  try {
    const named = new Promise<void>((resolve) =>
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (stderr.includes('unreadable message')) resolve();
      }),
    );
    child.stdin!.write(bytes);
    await Promise.race([named, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    return stderr;
  } finally {
    child.kill();
  }
}

test('broken framing from a client is logged, naming what is wrong (cellscope lsp --stdio and dist/server.js --stdio)', async () => {
  for (const args of [[join(out, 'cli.js'), 'lsp', '--stdio'], [join(out, 'server.js'), '--stdio']]) {
    assert.match(await stderrAfter(args, 'Content-Length: many\r\n\r\n{}'), /unreadable message from the client on stdin: Content-Length value must be a number/, args.join(' '));
    assert.match(await stderrAfter(args, 'Content-Type: text/plain\r\n\r\n'), /unreadable message from the client on stdin: Header must provide a Content-Length/, args.join(' '));
  }
});
