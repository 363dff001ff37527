/**
 * Diagnostics latency of the genotype language server, run by hand:
 *   npx tsx bench/diagnostics-latency.ts [--runs N] [--node-defaults]
 *
 * Measured in a process with the node flags the server runs with
 * (src/server/nodeFlags.ts; the bench starts itself again with them), or with
 * node's defaults when asked (--node-defaults), to see what the flags buy.
 *
 * Files of 10 / 100 / 1,000 genotypes (built-in cells under fresh names, plus
 * aliases); medians of N runs, each with its ratio to the target and to the
 * old full path measured in the same run.
 *
 * 1. Full re-validation from scratch: analyze() of the whole file (what the
 *    server did on every change before incremental analysis, with the line
 *    index: "old full path"). Target: 50 ms.
 * 2. Incremental re-validation after a keystroke in the middle of the file
 *    (IncrementalAnalysis.update + LineIndex.afterEdit, from the diff of the
 *    two texts): a character replaced (nothing moves) and a character typed
 *    or deleted (every statement below moves). Same target.
 * 3. Keystroke → publishDiagnostics over a real LSP connection (the server's
 *    startServer on in-memory streams, JSON-RPC framing and all): one
 *    incremental didChange per keystroke (typing a character into an
 *    operation name, then deleting it), timed until the diagnostics of that
 *    version arrive. Measured for keystrokes in a burst (each sent as soon as
 *    the previous diagnostics arrive: within the debounce), for the first
 *    keystroke after a pause (validated at once), and with no debounce (pure
 *    processing). Target: 100 ms.
 */
import { spawnSync } from 'node:child_process';
import { PassThrough } from 'node:stream';
import { performance } from 'node:perf_hooks';
import {
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  InitializeRequest,
  InitializedNotification,
  ProposedFeatures,
  PublishDiagnosticsNotification,
  StreamMessageReader,
  StreamMessageWriter,
  createConnection,
  createProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver/node';
import { LineIndex } from '../src/genotype/ast.js';
import { analyze } from '../src/genotype/document.js';
import { IncrementalAnalysis, textChange } from '../src/genotype/incremental.js';
import { LIBRARY } from '../src/genotype/library.js';
import { printGenotype } from '../src/genotype/printer.js';
import { SERVER_NODE_FLAGS, hasServerNodeFlags } from '../src/server/nodeFlags.js';
import { DEFAULT_DIAGNOSTICS_DELAY_MS, startServer } from '../src/server/server.js';

const REVALIDATE_TARGET_MS = 50;
const KEYSTROKE_TARGET_MS = 100;
const SIZES = [10, 100, 1000];

const runsFlag = process.argv.indexOf('--runs');
const RUNS = runsFlag > 0 ? Math.max(1, Number(process.argv[runsFlag + 1]) || 20) : 20;

/** A file of `count` genotypes: every tenth an alias, the rest printed built-in cells. */
function makeFile(count: number): string {
  const parts: string[] = ['# benchmark file', "PRIMITIVES = ['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5']"];
  for (let i = 0; i < count; i++) {
    const entry = LIBRARY[i % LIBRARY.length]!;
    if (i % 10 === 9) parts.push(`G${i} = G${i - 1}`);
    else parts.push(printGenotype(`G${i}`, entry.genotype));
  }
  return `${parts.join('\n')}\n`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function p95(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]!;
}

function ms(x: number): string {
  return `${x.toFixed(2).padStart(8)} ms`;
}

function timed(fn: () => void): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** A position inside an operation name in the middle of the file: edits there make and mend an unknown-op error. */
function middleOp(text: string): number {
  return text.indexOf("'sep_conv_3x3'", text.length >> 1) + 10;
}

/** The old full path of one size, for the ratios of the other measurements. */
const oldFullMs = new Map<number, number>();

function revalidation(): void {
  console.log(`full re-validation from scratch: analyze() + LineIndex, median of ${RUNS} runs (target ${REVALIDATE_TARGET_MS} ms)`);
  for (const size of SIZES) {
    const text = makeFile(size);
    analyze(text); // warm-up (JIT)
    const times: number[] = [];
    for (let r = 0; r < RUNS; r++) {
      // A fresh string each run, as after an edit: no caching by identity.
      const edited = `${text}# run ${r}\n`;
      times.push(timed(() => {
        analyze(edited);
        new LineIndex(edited);
      }));
    }
    const m = median(times);
    oldFullMs.set(size, m);
    console.log(`  ${String(size).padStart(5)} genotypes  ${String(text.length).padStart(8)} chars  median ${ms(m)}  p95 ${ms(p95(times))}  ratio to target ${(m / REVALIDATE_TARGET_MS).toFixed(3)}`);
  }
}

function incremental(): void {
  console.log(`incremental re-validation after a keystroke: diff + IncrementalAnalysis.update + LineIndex.afterEdit, median of ${RUNS} runs (target ${REVALIDATE_TARGET_MS} ms)`);
  for (const kind of ['replace', 'type/delete'] as const) {
    for (const size of SIZES) {
      const text = makeFile(size);
      const at = middleOp(text);
      let state = IncrementalAnalysis.of(text);
      let lines = new LineIndex(text);
      const times: number[] = [];
      // Warm-up runs first (JIT), then the measured ones.
      for (let r = -10; r < RUNS; r++) {
        const odd = (r & 1) !== 0;
        const next = kind === 'replace' ? `${text.slice(0, at)}${odd ? '4' : '3'}${text.slice(at + 1)}` : odd ? `${text.slice(0, at)}x${text.slice(at)}` : text;
        const t = timed(() => {
          const change = textChange(state.text, next);
          state = state.update(next, undefined, change);
          lines = LineIndex.afterEdit(lines, next, change);
        });
        if (r >= 0) times.push(t);
        if (odd !== state.doc.diagnostics.some((d) => d.code === 'unknown-op')) throw new Error('diagnostics do not match the edit');
      }
      const m = median(times);
      const old = oldFullMs.get(size)!;
      console.log(
        `  ${kind.padEnd(11)} ${String(size).padStart(5)} genotypes  median ${ms(m)}  p95 ${ms(p95(times))}  ratio to target ${(m / REVALIDATE_TARGET_MS).toFixed(3)}  old full path ${ms(old)}  speed-up ${(old / m).toFixed(1)}×`,
      );
    }
  }
}

async function keystrokes(delayMs: number, pauseMs: number): Promise<void> {
  const up = new PassThrough();
  const down = new PassThrough();
  const server = createConnection(ProposedFeatures.all, new StreamMessageReader(up), new StreamMessageWriter(down));
  startServer(server, { diagnosticsDelayMs: delayMs });
  const client = createProtocolConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
  const waiting = new Map<string, (p: PublishDiagnosticsParams) => void>();
  client.onNotification(PublishDiagnosticsNotification.type, (p) => {
    const key = `${p.uri}#${p.version}`;
    waiting.get(key)?.(p);
    waiting.delete(key);
  });
  client.listen();
  await client.sendRequest(InitializeRequest.type, { processId: null, rootUri: null, capabilities: { textDocument: { publishDiagnostics: { relatedInformation: true } } } });
  await client.sendNotification(InitializedNotification.type, {});
  const published = (uri: string, version: number) => new Promise<PublishDiagnosticsParams>((resolve) => waiting.set(`${uri}#${version}`, resolve));

  const how = pauseMs > 0 ? `each after a ${pauseMs} ms pause` : 'in a burst';
  console.log(`keystroke → publishDiagnostics over LSP, debounce ${delayMs} ms, keystrokes ${how}, median of ${RUNS} (target ${KEYSTROKE_TARGET_MS} ms)`);
  for (const size of SIZES) {
    const uri = `file:///bench-${size}-${delayMs}-${pauseMs}.genotype`;
    const text = makeFile(size);
    let version = 1;
    const opened = published(uri, version);
    await client.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'genotype', version, text } });
    await opened;
    // Type in the middle of the file: a character typed into an operation name (an error), then deleted.
    const { line, character } = new LineIndex(text).positionAt(middleOp(text));
    const times: number[] = [];
    let broken = false;
    for (let r = 0; r < RUNS; r++) {
      version++;
      broken = !broken;
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      const arrived = published(uri, version);
      const start = performance.now();
      await client.sendNotification(DidChangeTextDocumentNotification.type, {
        textDocument: { uri, version },
        contentChanges: [{ range: { start: { line, character }, end: { line, character: broken ? character : character + 1 } }, text: broken ? 'x' : '' }],
      });
      const p = await arrived;
      times.push(performance.now() - start);
      if (broken !== p.diagnostics.some((d) => d.code === 'unknown-op')) throw new Error('diagnostics do not match the edit');
    }
    const m = median(times);
    console.log(`  ${String(size).padStart(5)} genotypes  median ${ms(m)}  p95 ${ms(p95(times))}  ratio to target ${(m / KEYSTROKE_TARGET_MS).toFixed(3)}`);
  }
  client.dispose();
  server.dispose();
}

async function main(): Promise<void> {
  const nodeDefaults = process.argv.includes('--node-defaults');
  if (!nodeDefaults && !hasServerNodeFlags(process.execArgv, process.env.NODE_OPTIONS)) {
    // process.execArgv carries tsx's loader: the child runs this TypeScript file as the parent does.
    const child = spawnSync(process.execPath, [...SERVER_NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)], { stdio: 'inherit' });
    process.exit(child.status ?? 1);
  }
  const flags = process.execArgv.filter((a) => !a.includes('tsx') && !a.startsWith('--require') && !a.startsWith('--import'));
  console.log(`node ${process.version}, ${RUNS} runs, ${nodeDefaults ? "node's default flags" : `the language server's node flags: ${flags.join(' ')}`}\n`);
  revalidation();
  console.log('');
  incremental();
  console.log('');
  await keystrokes(DEFAULT_DIAGNOSTICS_DELAY_MS, 0);
  console.log('');
  await keystrokes(DEFAULT_DIAGNOSTICS_DELAY_MS, 2 * DEFAULT_DIAGNOSTICS_DELAY_MS);
  console.log('');
  await keystrokes(0, 0);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
