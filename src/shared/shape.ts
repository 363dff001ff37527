/**
 * A small structural validator for the JSON files other people and machines
 * write into a runs folder (run.json, metrics.jsonl, experiment.json): a
 * shape describes what a consumer relies on, and checking a parsed value
 * against it gives the first problem as a field path and what was wrong
 * (`genotype.normal: expected an object, found nothing`), so that one broken
 * file is shown as broken instead of crashing whoever reads it.
 *
 * Fields a shape does not name are allowed: the files gain fields over time
 * (add fields, never rename them). Pure: the webviews may use it too.
 */

/** Where a value differs from its shape: a dotted field path ('' for the value itself) and how. */
export interface ShapeProblem {
  readonly path: string;
  readonly message: string;
}

/** Checks a value found at `path`; undefined when it fits. */
export type Shape = (value: unknown, path: string) => ShapeProblem | undefined;

/** 'a string', 'nothing', 'null', 'an array', … — how a found value is named in a message. */
export function describeValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isFinite(value) ? `the number ${value}` : String(value);
  if (typeof value === 'string') return value.length > 40 ? `a string` : `the string ${JSON.stringify(value)}`;
  return `${typeof value === 'object' ? 'an' : 'a'} ${typeof value}`;
}

function expected(what: string): (value: unknown, path: string) => ShapeProblem {
  return (value, path) => ({ path, message: `expected ${what}, found ${describeValue(value)}` });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export const string: Shape = (v, p) => (typeof v === 'string' ? undefined : expected('a string')(v, p));
export const boolean: Shape = (v, p) => (typeof v === 'boolean' ? undefined : expected('true or false')(v, p));
/** A finite number (JSON has no NaN; a NaN written by JSON.stringify arrives as null). */
export const number: Shape = (v, p) => (typeof v === 'number' && Number.isFinite(v) ? undefined : expected('a number')(v, p));

export function integer(min = Number.MIN_SAFE_INTEGER): Shape {
  const problem = expected(min === 0 ? 'a whole number ≥ 0' : min === 1 ? 'a positive whole number' : `a whole number ≥ ${min}`);
  return (v, p) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= min ? undefined : problem(v, p));
}

/** One of the given strings. */
export function oneOf(values: readonly string[]): Shape {
  const problem = expected(`one of ${values.join(', ')}`);
  return (v, p) => (typeof v === 'string' && values.includes(v) ? undefined : problem(v, p));
}

export function literal(value: string | number): Shape {
  const problem = expected(JSON.stringify(value));
  return (v, p) => (v === value ? undefined : problem(v, p));
}

export function nullable(shape: Shape): Shape {
  return (v, p) => (v === null ? undefined : shape(v, p));
}

/** A string that `refine` accepts (it returns what is wrong, or undefined). */
export function refinedString(refine: (value: string) => string | undefined): Shape {
  return (v, p) => {
    if (typeof v !== 'string') return expected('a string')(v, p);
    const why = refine(v);
    return why === undefined ? undefined : { path: p, message: why };
  };
}

export function arrayOf(item: Shape): Shape {
  return (v, p) => {
    if (!Array.isArray(v)) return expected('an array')(v, p);
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i], `${p}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  };
}

/** Marks an object field that may be absent (present, it must fit). */
export interface OptionalField {
  readonly optional: Shape;
}

export function optional(shape: Shape): OptionalField {
  return { optional: shape };
}

export function object(fields: Readonly<Record<string, Shape | OptionalField>>): Shape {
  return (v, p) => {
    if (!isPlainObject(v)) return expected('an object')(v, p);
    for (const [name, field] of Object.entries(fields)) {
      const path = p === '' ? name : `${p}.${name}`;
      const value = v[name];
      if (typeof field === 'function') {
        const problem = field(value, path);
        if (problem) return problem;
      } else if (value !== undefined) {
        const problem = field.optional(value, path);
        if (problem) return problem;
      }
    }
    return undefined;
  };
}

/** The problem of `value` as one line: `field genotype.normal: expected an object, found nothing`. */
export function problemText(problem: ShapeProblem): string {
  return problem.path === '' ? problem.message : `field ${problem.path}: ${problem.message}`;
}

/** The first problem of `value` against `shape`, as text; undefined when it fits. */
export function shapeProblem(shape: Shape, value: unknown): string | undefined {
  const problem = shape(value, '');
  return problem === undefined ? undefined : problemText(problem);
}

/** A JSON Lines file read as untrusted input: the lines that fit, and what was wrong with the others (`line 3: …`). */
export interface JsonLines<T> {
  readonly lines: T[];
  readonly problems: string[];
}

/**
 * Reads JSON Lines text (metrics.jsonl, hessian-epochs.jsonl). A line that
 * does not parse or does not fit is left out and named in `problems`, except
 * a last line without its newline that does not parse: a line cut by a
 * crash mid-write, which the trainer writes again on resume.
 */
export function parseJsonLines<T>(text: string, problemOf: (value: unknown) => string | undefined): JsonLines<T> {
  const lines: T[] = [];
  const problems: string[] = [];
  const rows = text.split('\n');
  rows.forEach((row, i) => {
    if (row.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(row);
    } catch {
      if (i < rows.length - 1) problems.push(`line ${i + 1}: not JSON`);
      return;
    }
    const problem = problemOf(value);
    if (problem === undefined) lines.push(value as T);
    else problems.push(`line ${i + 1}: ${problem}`);
  });
  return { lines, problems };
}
