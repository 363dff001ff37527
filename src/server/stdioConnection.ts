/**
 * The language server's connection over stdin/stdout. vscode-languageserver
 * builds its own stdio reader when given `--stdio`, and the errors that reader
 * reports (a header without Content-Length, a length that is no number, a
 * header line without ':') reach no listener: a client with broken framing
 * gets silence. So the reader is ours, and its errors go to stderr and to the
 * client's log. What the library does for its own stdio transport is kept:
 * console output goes to the client's log instead of into the protocol
 * stream, and the end of stdin ends the server (status 0 after a shutdown
 * request, 1 otherwise).
 */
import { format } from 'node:util';
import { createConnection, ProposedFeatures, StreamMessageReader, StreamMessageWriter, type Connection, type Message } from 'vscode-languageserver/node';

export function createStdioConnection(): Connection {
  const reader = new StreamMessageReader(process.stdin);
  const writer = new StreamMessageWriter(process.stdout);
  let shutdownRequested = false;
  // Seen on the way in, so that the server's own onShutdown handler stays the only one.
  const listen = reader.listen.bind(reader);
  reader.listen = (callback) =>
    listen((message: Message) => {
      if ((message as { method?: unknown }).method === 'shutdown') shutdownRequested = true;
      callback(message);
    });
  const connection = createConnection(ProposedFeatures.all, reader, writer);
  reader.onError((error) => {
    const text = `cellscope language server: unreadable message from the client on stdin: ${error.message}`;
    process.stderr.write(`${text}\n`);
    connection.console.error(text);
  });
  for (const level of ['log', 'info', 'warn', 'error'] as const) {
    console[level] = (...args: unknown[]) => connection.console[level](format(...args));
  }
  const end = () => process.exit(shutdownRequested ? 0 : 1);
  process.stdin.on('end', end);
  process.stdin.on('close', end);
  return connection;
}
