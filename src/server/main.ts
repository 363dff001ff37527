/**
 * Entry of dist/server.js. The transport comes from the command line, as
 * vscode-languageclient passes it: `--node-ipc` from the VS Code client,
 * `--stdio` for other editors, `--socket=PORT`.
 */
import { ProposedFeatures, createConnection } from 'vscode-languageserver/node';
import { startServer } from './server.js';
import { createStdioConnection } from './stdioConnection.js';

startServer(process.argv.includes('--stdio') ? createStdioConnection() : createConnection(ProposedFeatures.all));
