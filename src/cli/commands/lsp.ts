/**
 * `cellscope lsp --stdio`: the genotype language server for editors other
 * than VS Code (Neovim, Emacs, Helix, Sublime LSP, …). It is the same server
 * as dist/server.js; the transport flags are the ones vscode-languageserver
 * reads from the command line.
 */
import { spawn } from 'node:child_process';
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { SERVER_NODE_FLAGS, hasServerNodeFlags } from '../../server/nodeFlags.js';
import { startServer } from '../../server/server.js';
import { createStdioConnection } from '../../server/stdioConnection.js';
import { flagBoolean, flagNumber, flagString, parseArgs, UsageError } from '../args.js';
import type { Command } from '../command.js';

export const lspCommand: Command = {
  name: 'lsp',
  summary: 'run the genotype language server (stdio by default)',
  usage: 'cellscope lsp [--stdio | --node-ipc | --socket=PORT | --pipe=NAME]',
  async run(argv) {
    const args = parseArgs(argv, {
      stdio: { type: 'boolean' },
      'node-ipc': { type: 'boolean' },
      socket: { type: 'int', min: 1, max: 65535 },
      pipe: { type: 'string' },
      // Passed by some clients so that the server exits with its parent; read by vscode-languageserver itself.
      clientProcessId: { type: 'int', min: 0 },
    });
    if (args.positional.length > 0) throw new UsageError(`lsp takes no arguments, got '${args.positional[0]}'`);
    const transports = [flagBoolean(args, 'stdio'), flagBoolean(args, 'node-ipc'), flagNumber(args, 'socket') !== undefined, flagString(args, 'pipe') !== undefined];
    if (transports.filter(Boolean).length > 1) throw new UsageError('give one transport: --stdio, --node-ipc, --socket or --pipe');
    // Over --node-ipc the client's IPC channel belongs to this process and would not reach a
    // restarted one: a client that forks the server sets the flags itself, as VS Code's does.
    if (!flagBoolean(args, 'node-ipc') && !hasServerNodeFlags(process.execArgv, process.env.NODE_OPTIONS)) return runWithServerFlags(argv);
    // stdio (the default) through our own reader, which logs a client's broken framing;
    // the other transports as vscode-languageserver reads them from process.argv.
    const stdio = flagBoolean(args, 'stdio') || !transports.some(Boolean);
    startServer(stdio ? createStdioConnection() : createConnection(ProposedFeatures.all));
    // The server runs until the client sends `exit` or closes the stream; the library then exits the process.
    return new Promise<number>(() => undefined);
  },
};

/**
 * The server needs node flags (nodeFlags.ts) that only a process start can
 * set, and `cellscope` starts as a plain `node` script: the command starts
 * itself again with them. The child shares this process's stdin, stdout and
 * stderr (so the stdio transport and the logs pass straight through; socket
 * and pipe transports it opens itself), gets the signals this process
 * receives, and its exit status becomes this one's.
 */
function runWithServerFlags(argv: readonly string[]): Promise<number> {
  const script = process.argv[1];
  if (!script) throw new Error('cannot restart the language server: the path of the cellscope script is unknown');
  const child = spawn(process.execPath, [...SERVER_NODE_FLAGS, ...process.execArgv, script, 'lsp', ...argv], { stdio: 'inherit' });
  const forward = (signal: NodeJS.Signals) => child.kill(signal);
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  for (const signal of signals) process.on(signal, forward);
  return new Promise<number>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      for (const s of signals) process.off(s, forward);
      resolve(code ?? (signal ? 128 + (signalNumber(signal) ?? 0) : 1));
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number | undefined {
  return ({ SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 } as Partial<Record<NodeJS.Signals, number>>)[signal];
}
