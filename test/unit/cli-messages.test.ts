/**
 * Messages a researcher meets when a path is not what a command expects:
 * `check` given a folder checks the .genotype files under it (and says so
 * when there are none), `--data` given a file says that it is a file, not a
 * folder, instead of a bare EISDIR / EEXIST.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli } from './cli-helpers.js';
import { builtin } from '../../src/genotype/library.js';
import { printGenotype } from '../../src/genotype/printer.js';
import { loadDataset } from '../../src/train/data/registry.js';
import { DataFileError } from '../../src/train/data/errors.js';

const good = printGenotype('MINE', builtin('DARTS_V2')!.genotype);
const bad = "X = Genotype(normal=[('sep_conv_3x4', 0), ('skip_connect', 1)], normal_concat=[2], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1)], reduce_concat=[2])\n";

function workspace(): string {
  return mkdtempSync(join(tmpdir(), 'cellscope-msg-'));
}

test('check FOLDER checks every .genotype file under it, recursively, in order, skipping hidden folders', async () => {
  const dir = workspace();
  mkdirSync(join(dir, 'cells', 'nested'), { recursive: true });
  mkdirSync(join(dir, 'cells', '.git'));
  writeFileSync(join(dir, 'cells', 'a.genotype'), good);
  writeFileSync(join(dir, 'cells', 'nested', 'b.genotype'), bad);
  writeFileSync(join(dir, 'cells', '.git', 'c.genotype'), bad);
  writeFileSync(join(dir, 'cells', 'notes.py'), 'this is not a genotype file (\n');
  // A link back up must not loop.
  symlinkSync(join(dir, 'cells'), join(dir, 'cells', 'nested', 'up'));
  const r = await cli(['check', 'cells'], dir);
  assert.equal(r.code, 1, r.err);
  assert.equal(r.err, '');
  assert.match(r.out, /^cells\/nested\/b\.genotype:1:\d+: error unknown-op /m);
  assert.doesNotMatch(r.out, /\.git|notes\.py|up\//);
  const json = JSON.parse((await cli(['check', 'cells', '--json'], dir)).out) as { file: string }[];
  assert.deepEqual([...new Set(json.map((d) => d.file))], ['cells/nested/b.genotype']);
  const clean = await cli(['check', join('cells', 'a.genotype'), 'cells/nested/..'], dir);
  assert.equal(clean.code, 1, 'b.genotype is still under cells/nested/..');
});

test('check on a folder without .genotype files names it and fails; an unreadable argument is named too', async () => {
  const dir = workspace();
  mkdirSync(join(dir, 'empty'));
  const r = await cli(['check', 'empty'], dir);
  assert.equal(r.code, 1);
  assert.equal(r.err, 'empty: a folder with no .genotype files in it\n');
  assert.doesNotMatch(r.err, /EISDIR/);
  writeFileSync(join(dir, 'file'), good);
  const under = await cli(['check', 'file/x.genotype'], dir);
  assert.equal(under.code, 1);
  assert.match(under.err, /^file\/x\.genotype: /);
});

test('train and experiment --data FILE: the path is a file, not a folder (before anything is trained)', async () => {
  const dir = workspace();
  writeFileSync(join(dir, 'cifar.tar.gz'), 'not a folder');
  for (const [command, where] of [
    ['train', '--runs'],
    ['experiment', '--dir'],
  ] as const) {
    const r = await cli([command, 'DARTS_V2', '--dataset', 'cifar10', '--data', 'cifar.tar.gz', '--offline', where, join(dir, 'out')], dir);
    assert.equal(r.code, 2, `${command}: ${r.err}`);
    assert.match(r.err, /--data cifar\.tar\.gz: is a file, not a folder/);
    assert.doesNotMatch(r.err, /EEXIST|ENOTDIR/);
  }
});

test('a dataset folder that is a file is named by the loader too (as $CELLSCOPE_DATA would give it)', async () => {
  const dir = workspace();
  const file = join(dir, 'data');
  writeFileSync(file, '');
  for (const dataDir of [file, join(file, 'below')]) {
    await assert.rejects(loadDataset('cifar10', { dataDir, download: false }), (error: unknown) => {
      assert.ok(error instanceof DataFileError, String(error));
      assert.equal(error.file, dataDir);
      assert.match(error.message, /not a folder/);
      return true;
    });
  }
});
