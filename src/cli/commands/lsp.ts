/**
 * `cellscope lsp --stdio`: the genotype language server for editors other
 * than VS Code (Neovim, Emacs, Helix, Sublime LSP, …). It is the same server
 * as dist/server.js; the transport flags are the ones vscode-languageserver
 * reads from the command line.
 */
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { startServer } from '../../server/server.js';
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
    // vscode-languageserver picks the transport from process.argv (and, for stdio,
    // moves console output off stdout); with no flag, stdio is the default.
    if (!transports.some(Boolean)) process.argv.push('--stdio');
    startServer(createConnection(ProposedFeatures.all));
    // The server runs until the client sends `exit` or closes the stream; the library then exits the process.
    return new Promise<number>(() => undefined);
  },
};
