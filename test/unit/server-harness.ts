/**
 * An LSP client for the server tests: the real server (startServer) on one
 * end of a pair of in-memory streams, a protocol connection on the other,
 * speaking JSON-RPC exactly as an editor would. No VS Code involved.
 */
import { PassThrough } from 'node:stream';
import {
  ConfigurationRequest,
  DidChangeConfigurationNotification,
  DidChangeTextDocumentNotification,
  DidCloseTextDocumentNotification,
  DidOpenTextDocumentNotification,
  InitializeRequest,
  InitializedNotification,
  ProposedFeatures,
  PublishDiagnosticsNotification,
  RegistrationRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createConnection,
  createProtocolConnection,
  type ClientCapabilities,
  type InitializeResult,
  type LogMessageParams,
  type Position,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
  type TextEdit,
} from 'vscode-languageserver/node';
import { startServer } from '../../src/server/server.js';

export const DEFAULT_CAPABILITIES: ClientCapabilities = {
  workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } },
  textDocument: {
    publishDiagnostics: { relatedInformation: true },
    completion: { completionItem: { snippetSupport: true } },
    documentSymbol: { hierarchicalDocumentSymbolSupport: true },
    rename: { prepareSupport: true },
  },
};

export interface HarnessOptions {
  readonly capabilities?: ClientCapabilities;
  readonly initializationOptions?: unknown;
  /** Value returned for the `cellscope` configuration section. */
  readonly settings?: unknown;
  readonly diagnosticsDelayMs?: number;
}

export class Harness {
  readonly published: PublishDiagnosticsParams[] = [];
  readonly logs: string[] = [];
  settings: unknown;
  configurationRequests = 0;
  initializeResult!: InitializeResult;
  private readonly waiters: Array<() => void> = [];
  private readonly versions = new Map<string, number>();

  constructor(
    readonly client: ProtocolConnection,
    private readonly dispose: () => void,
    settings: unknown,
  ) {
    this.settings = settings;
    client.onNotification(PublishDiagnosticsNotification.type, (params) => {
      this.published.push(params);
      for (const wake of this.waiters.splice(0)) wake();
    });
    client.onNotification('window/logMessage', (params: LogMessageParams) => {
      this.logs.push(params.message);
    });
    client.onRequest(ConfigurationRequest.type, (params) => {
      this.configurationRequests++;
      return params.items.map((item) => (item.section === 'cellscope' ? this.settings : null));
    });
    client.onRequest(RegistrationRequest.type, () => undefined);
  }

  /** The latest diagnostics published for `uri` that satisfy `accept`, waiting for them if need be. */
  async diagnostics(uri: string, accept: (p: PublishDiagnosticsParams) => boolean = () => true, timeoutMs = 5000): Promise<PublishDiagnosticsParams> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = [...this.published].reverse().find((p) => p.uri === uri);
      if (found && accept(found)) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching diagnostics for ${uri}; last: ${JSON.stringify(found)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** The first diagnostics for `uri` published after `mark` (a value of `published.length` taken earlier). */
  async diagnosticsAfter(uri: string, mark: number, timeoutMs = 5000): Promise<PublishDiagnosticsParams> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.published.slice(mark).find((p) => p.uri === uri);
      if (found) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no diagnostics for ${uri} after #${mark}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Diagnostics of exactly this version of the document. */
  diagnosticsOf(uri: string, version: number): Promise<PublishDiagnosticsParams> {
    return this.diagnostics(uri, (p) => p.version === version);
  }

  async open(uri: string, text: string, version = 1): Promise<void> {
    this.versions.set(uri, version);
    await this.client.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'genotype', version, text } });
  }

  /** Replaces the whole text; returns the new version. */
  async replace(uri: string, text: string): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    await this.client.sendNotification(DidChangeTextDocumentNotification.type, { textDocument: { uri, version }, contentChanges: [{ text }] });
    return version;
  }

  /** Applies incremental edits; returns the new version. */
  async edit(uri: string, edits: readonly TextEdit[]): Promise<number> {
    const version = (this.versions.get(uri) ?? 0) + 1;
    this.versions.set(uri, version);
    await this.client.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: edits.map((e) => ({ range: e.range, text: e.newText })),
    });
    return version;
  }

  async close(uri: string): Promise<void> {
    await this.client.sendNotification(DidCloseTextDocumentNotification.type, { textDocument: { uri } });
  }

  async changeSettings(settings: unknown): Promise<void> {
    this.settings = settings;
    await this.client.sendNotification(DidChangeConfigurationNotification.type, { settings: { cellscope: settings } });
  }

  stop(): void {
    this.dispose();
  }
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const up = new PassThrough();
  const down = new PassThrough();
  // Reader/writer objects (not raw streams), so that closing them never makes the library exit the process.
  const server = createConnection(ProposedFeatures.all, new StreamMessageReader(up), new StreamMessageWriter(down));
  startServer(server, { diagnosticsDelayMs: options.diagnosticsDelayMs ?? 20 });
  const client = createProtocolConnection(new StreamMessageReader(down), new StreamMessageWriter(up));
  const harness = new Harness(
    client,
    () => {
      client.dispose();
      server.dispose();
      up.destroy();
      down.destroy();
    },
    options.settings ?? {},
  );
  client.listen();
  harness.initializeResult = await client.sendRequest(InitializeRequest.type, {
    processId: null,
    rootUri: null,
    capabilities: options.capabilities ?? DEFAULT_CAPABILITIES,
    initializationOptions: options.initializationOptions,
  });
  await client.sendNotification(InitializedNotification.type, {});
  return harness;
}

/** Applies non-overlapping text edits to a text (as an editor does). */
export function applyEdits(text: string, edits: readonly TextEdit[]): string {
  const offsetAt = (position: Position): number => {
    let offset = 0;
    for (let line = 0; line < position.line; line++) {
      const next = text.indexOf('\n', offset);
      if (next < 0) return text.length;
      offset = next + 1;
    }
    const lineEnd = text.indexOf('\n', offset);
    return Math.min(offset + position.character, lineEnd < 0 ? text.length : lineEnd);
  };
  const sorted = edits.map((e) => ({ start: offsetAt(e.range.start), end: offsetAt(e.range.end), text: e.newText })).sort((a, b) => b.start - a.start);
  let out = text;
  for (const e of sorted) out = out.slice(0, e.start) + e.text + out.slice(e.end);
  return out;
}

/** Position of the `nth` (0-based) occurrence of `needle` in `text`, plus `delta` characters. */
export function positionOf(text: string, needle: string, delta = 0, nth = 0): Position {
  let index = -1;
  for (let i = 0; i <= nth; i++) {
    index = text.indexOf(needle, index + 1);
    if (index < 0) throw new Error(`'${needle}' (#${nth}) not in text`);
  }
  const offset = index + delta;
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

/** The text a range covers. */
export function textAt(text: string, range: { start: Position; end: Position }): string {
  const lines = text.split('\n');
  const offset = (p: Position): number => lines.slice(0, p.line).reduce((n, l) => n + l.length + 1, 0) + p.character;
  return text.slice(offset(range.start), offset(range.end));
}

/** A diagnostic's message as text (LSP 3.18 also allows markup). */
export function messageOf(d: { message: string | { value: string } }): string {
  return typeof d.message === 'string' ? d.message : d.message.value;
}
