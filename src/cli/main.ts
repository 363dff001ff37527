/**
 * `cellscope` — the command line over the same core as the editor, for
 * headless GPU servers, CI and scripts. Each subcommand lives in
 * src/cli/commands/<name>.ts and is registered in `commands` below.
 */
import { UsageError } from './args.js';
import { ResolveError } from './resolve.js';
import type { CliIO } from './command.js';
import { terminalSafe } from './terminalText.js';
import { allCommands as commands } from './commands/index.js';

function help(io: CliIO): void {
  io.stdout('usage: cellscope <command> [options]\n\ncommands:\n');
  for (const c of commands) io.stdout(`  ${c.name.padEnd(10)} ${c.summary}\n`);
  io.stdout('\n`cellscope help <command>` shows a command\'s options.\n');
}

/**
 * Everything a command writes passes through terminalSafe, so no command can
 * echo an escape sequence from a file, a run folder or an argument; JSON
 * output stays valid (see terminalText.ts). `lsp` does not write through io.
 */
function terminalIO(io: CliIO): CliIO {
  return { ...io, stdout: (t) => io.stdout(terminalSafe(t)), stderr: (t) => io.stderr(terminalSafe(t)) };
}

export async function runCli(argv: readonly string[], rawIO: CliIO): Promise<number> {
  const io = terminalIO(rawIO);
  const [name, ...rest] = argv;
  if (name === undefined || name === 'help' || name === '--help' || name === '-h') {
    const target = rest[0] && commands.find((c) => c.name === rest[0]);
    if (target) io.stdout(`${target.usage}\n`);
    else help(io);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr(`cellscope: unknown command '${name}' (try 'cellscope help')\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`cellscope ${name}: ${error.message}\nusage: ${command.usage.split('\n')[0]}\n`);
      return 2;
    }
    if (error instanceof ResolveError) {
      io.stderr(`cellscope ${name}: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

if (require.main === module) {
  const io: CliIO = {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    cwd: process.cwd(),
  };
  runCli(process.argv.slice(2), io).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(terminalSafe(`cellscope: ${error instanceof Error ? error.message : String(error)}\n`));
      process.exitCode = 1;
    },
  );
}
