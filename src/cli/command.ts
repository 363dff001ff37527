/** What every `cellscope` subcommand implements; main.ts holds the registry. */

export interface CliIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  readonly cwd: string;
}

export interface Command {
  readonly name: string;
  /** One line for `cellscope help`. */
  readonly summary: string;
  /** Usage line(s), printed by `cellscope help NAME` and after a usage error. */
  readonly usage: string;
  /** Returns the process exit code. Throws UsageError for bad arguments. */
  run(argv: readonly string[], io: CliIO): Promise<number>;
}
