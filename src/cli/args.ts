/**
 * A small, strict flag parser for the `cellscope` commands: every command
 * declares its flags, and an unknown flag or a bad value is a one-line error
 * (UsageError) that main.ts prints before exiting non-zero.
 */

export class UsageError extends Error {}

export type FlagType = 'string' | 'int' | 'number' | 'boolean' | 'list';

export interface FlagSpec {
  readonly type: FlagType;
  /** For int/number: inclusive lower bound. */
  readonly min?: number;
  readonly max?: number;
  /** For string: the accepted values. */
  readonly choices?: readonly string[];
}

export type FlagValue = string | number | boolean | string[];

export interface ParsedArgs {
  readonly positional: string[];
  readonly flags: Map<string, FlagValue>;
}

/** Parses `--name value`, `--name=value` and boolean `--name`; `--` ends flags. */
export function parseArgs(argv: readonly string[], specs: Readonly<Record<string, FlagSpec>>): ParsedArgs {
  const positional: string[] = [];
  const flags = new Map<string, FlagValue>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positional.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '--') {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    const spec = specs[name];
    if (!spec) {
      const known = Object.keys(specs).map((k) => `--${k}`).join(', ');
      throw new UsageError(`unknown flag --${name}${known ? ` (known: ${known})` : ''}`);
    }
    let raw: string | undefined = eq >= 0 ? arg.slice(eq + 1) : undefined;
    if (spec.type === 'boolean') {
      if (raw === undefined) flags.set(name, true);
      else if (raw === 'true' || raw === 'false') flags.set(name, raw === 'true');
      else throw new UsageError(`--${name} takes true or false, not '${raw}'`);
      continue;
    }
    if (raw === undefined) {
      raw = argv[i + 1];
      if (raw === undefined || raw.startsWith('--')) throw new UsageError(`--${name} needs a value`);
      i++;
    }
    flags.set(name, convert(name, raw, spec));
  }
  return { positional, flags };
}

function convert(name: string, raw: string, spec: FlagSpec): FlagValue {
  switch (spec.type) {
    case 'string':
      if (spec.choices && !spec.choices.includes(raw)) {
        throw new UsageError(`--${name} must be one of ${spec.choices.join(', ')}, not '${raw}'`);
      }
      return raw;
    case 'list':
      return raw.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
    case 'int':
    case 'number': {
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value) || (spec.type === 'int' && !Number.isInteger(value))) {
        throw new UsageError(`--${name} needs ${spec.type === 'int' ? 'an integer' : 'a number'}, not '${raw}'`);
      }
      if (spec.min !== undefined && value < spec.min) throw new UsageError(`--${name} must be at least ${spec.min}, not ${raw}`);
      if (spec.max !== undefined && value > spec.max) throw new UsageError(`--${name} must be at most ${spec.max}, not ${raw}`);
      return value;
    }
    default:
      return raw;
  }
}

/** Typed accessors so commands read flags without casts. */
export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}
export function flagNumber(args: ParsedArgs, name: string): number | undefined {
  const v = args.flags.get(name);
  return typeof v === 'number' ? v : undefined;
}
export function flagBoolean(args: ParsedArgs, name: string): boolean {
  return args.flags.get(name) === true;
}
export function flagList(args: ParsedArgs, name: string): string[] | undefined {
  const v = args.flags.get(name);
  return Array.isArray(v) ? v : undefined;
}
