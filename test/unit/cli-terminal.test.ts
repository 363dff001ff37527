/**
 * What the CLI echoes from files, run folders and arguments reaches a
 * terminal: escape sequences in operation strings, genotype references,
 * file names, run ids and a run's failure reason are printed escaped
 * (`\u001b`), by every command, and `--json` output stays valid JSON that
 * means the same while carrying no raw C1 or bidi control either.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli-helpers.js';
import { terminalSafe } from '../../src/cli/terminalText.js';
import { presetSettings } from '../../src/runs/presets.js';
import { RUN_FORMAT } from '../../src/shared/runTypes.js';

const ESC = '\u001b';
// Red text, a new window title, an OSC 52 clipboard write, a C1 CSI, a carriage return, a right-to-left override.
const EVIL = `${ESC}[31mred${ESC}]0;pwned\u0007${ESC}]52;c;ZWNobyBoaQ==\u0007\u009b2J\rhidden\u202eevil`;

/** No control character a terminal acts on, other than the output's own newlines and tabs. */
function assertTerminalSafe(text: string, what: string): void {
  const bad = [...text].filter((ch) => /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/.test(ch));
  assert.deepEqual(bad.map((c) => c.codePointAt(0)!.toString(16)), [], `${what}: ${JSON.stringify(text)}`);
}

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'cellscope-term-'));
}

test('terminalSafe writes controls as \\uXXXX and leaves newlines, tabs and other text alone', () => {
  assert.equal(terminalSafe(`a${ESC}[31mb\tc\nd\u009be\u202ef\rg`), 'a\\u001b[31mb\tc\nd\\u009be\\u202ef\\u000dg');
  assert.equal(terminalSafe('ÉCHANTILLON → 3.5c'), 'ÉCHANTILLON → 3.5c');
});

test('check: an operation string with escape sequences is quoted escaped, in text and in --json', async () => {
  const dir = workspace();
  // A Python string cannot hold a line break, so the CR stays out of the file.
  const op = EVIL.replace('\r', '');
  writeFileSync(join(dir, 'evil.genotype'), `X = Genotype(normal=[('${op}', 0), ('skip_connect', 1)], normal_concat=[2],\n  reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])\n`);
  const text = await cli(['check', 'evil.genotype'], dir);
  assert.equal(text.code, 1);
  assertTerminalSafe(text.out + text.err, 'check');
  assert.match(text.out, /\\u001b\[31mred/, 'the escape is shown, not acted on');
  const json = await cli(['check', 'evil.genotype', '--json'], dir);
  assertTerminalSafe(json.out, 'check --json');
  const diagnostics = JSON.parse(json.out) as { message: string }[];
  assert.ok(diagnostics.some((d) => d.message.includes(op)), 'JSON still holds the exact text');
});

test('metrics, variants and diagram: a reference with escape sequences is echoed escaped in their errors', async () => {
  const dir = workspace();
  writeFileSync(join(dir, 'g.genotype'), "G = Genotype(normal=[('skip_connect', 0), ('skip_connect', 1)], normal_concat=[2], reduce=[('skip_connect', 0), ('skip_connect', 1)], reduce_concat=[2])\n");
  for (const argv of [
    ['metrics', `g.genotype#${EVIL}`],
    ['metrics', EVIL],
    ['variants', `${EVIL}.genotype`, '--kind', 'connections'],
    ['diagram', `${EVIL}`, '--out', 'x.svg'],
    ['check', `${EVIL}.genotype`],
    ['metrics', 'g.genotype', `--${EVIL}`],
  ]) {
    const r = await cli(argv, dir);
    assert.notEqual(r.code, 0, argv.join(' '));
    assertTerminalSafe(r.out + r.err, argv[0]!);
    assert.match(r.err, /\\u001b/, `${argv[0]} names what it was given: ${r.err}`);
  }
});

test('runs: hostile genotype names and failure reasons are listed escaped (and a hostile id is refused, escaped); --json parses to the same values', async () => {
  const dir = workspace();
  const runs = join(dir, 'runs');
  const runDir = join(runs, 'r1');
  mkdirSync(runDir, { recursive: true });
  const now = '2025-01-31T14:25:01.000Z';
  const record = {
    format: RUN_FORMAT,
    id: 'r1',
    status: 'failed',
    reason: `out of memory${EVIL}`,
    genotype: { name: `N${EVIL}`, text: 'G = ...', ref: `N${EVIL}`, origin: EVIL, normal: { width: 3, depth: 2 }, reduce: { width: 2, depth: 3 } },
    params: 10,
    config: { ...presetSettings('quick', 'synthetic'), dataset: 'synthetic', dataDir: null, download: false, preset: 'quick', seed: 0, backend: 'cpu' },
    seed: 0,
    backend: null,
    dataset: null,
    versions: { cellscope: '0', node: process.version, tfjs: '4' },
    pid: 4242,
    host: 'elsewhere',
    startedAt: now,
    updatedAt: now,
    finishedAt: now,
    epochsCompleted: 1,
    resumes: [],
  };
  writeFileSync(join(runDir, 'run.json'), JSON.stringify(record));
  // A run id is a folder name (runPaths.ts refuses others); the refusal quotes the id, escaped too.
  mkdirSync(join(runs, 'r2'));
  writeFileSync(join(runs, 'r2', 'run.json'), JSON.stringify({ ...record, id: `r2${EVIL}` }));
  const text = await cli(['runs', '--runs', runs], dir);
  assert.equal(text.code, 0, text.err);
  assertTerminalSafe(text.out + text.err, 'runs');
  assert.match(text.out, /N\\u001b\[31mred/);
  assert.match(text.out, /out of memory\\u001b\[31mred/);
  const json = await cli(['runs', '--runs', runs, '--json'], dir);
  assertTerminalSafe(json.out, 'runs --json');
  const [entry] = JSON.parse(json.out) as { id: string; reason: string; genotype: { name: string } }[];
  assert.equal(entry!.id, record.id);
  assert.equal(entry!.genotype.name, record.genotype.name);
  assert.equal(entry!.reason, record.reason);
});
