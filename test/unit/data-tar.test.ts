import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pack as tarPack } from 'tar-stream';
import { readTar, type TarEntry } from '../../src/train/data/tar.js';
import { DataFileError } from '../../src/train/data/errors.js';
import { makeTar, tempDir } from './data-helpers.js';

async function* chunked(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size);
}

async function entries(bytes: Buffer, chunk = 1000, want?: (n: string) => boolean): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  for await (const e of readTar(chunked(bytes, chunk), 'x.tar', want)) out.push(e);
  return out;
}

const longName = `deep/${'d'.repeat(60)}/${'e'.repeat(50)}/file.bin`;
const payload = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * seed + 7) & 0xff));

test('reads names, types and exact bytes, whatever the chunking', async () => {
  const files = [
    { name: 'top', directory: true },
    { name: 'top/a.bin', data: payload(3073, 3) },
    { name: 'top/empty', data: Buffer.alloc(0) },
    { name: 'top/b.bin', data: payload(512, 5) },
    { name: longName, data: payload(700, 11) },
  ];
  const tar = makeTar(files);
  for (const chunk of [1, 511, 512, 4096, tar.length]) {
    const got = await entries(tar, chunk);
    assert.deepEqual(got.map((e) => [e.name, e.type, e.size]), [
      ['top', 'directory', 0],
      ['top/a.bin', 'file', 3073],
      ['top/empty', 'file', 0],
      ['top/b.bin', 'file', 512],
      [longName, 'file', 700],
    ], `chunk ${chunk}`);
    assert.ok(got[1]!.data!.equals(files[1]!.data!));
    assert.ok(got[3]!.data!.equals(files[3]!.data!));
    assert.ok(got[4]!.data!.equals(files[4]!.data!));
  }
});

test('members not wanted are skipped without their bytes', async () => {
  const tar = makeTar([{ name: 'a', data: payload(100, 1) }, { name: 'b', data: payload(100, 2) }]);
  const got = await entries(tar, 64, (n) => n === 'b');
  assert.equal(got[0]!.data, undefined);
  assert.ok(got[1]!.data!.equals(payload(100, 2)));
});

test('reads what GNU tar writes (./ prefixes, long names, pax)', async (t) => {
  let version = '';
  try {
    version = execFileSync('tar', ['--version'], { encoding: 'utf8' });
  } catch {
    t.skip('no tar command here');
    return;
  }
  if (!/GNU tar/.test(version)) {
    t.skip('tar is not GNU tar');
    return;
  }
  const dir = tempDir(t);
  const src = join(dir, 'src');
  const long = join(src, 'x'.repeat(90), 'y'.repeat(90));
  mkdirSync(long, { recursive: true });
  writeFileSync(join(src, 'small.txt'), 'hello\n');
  writeFileSync(join(long, 'z'.repeat(120) + '.bin'), payload(5000, 9));
  for (const format of ['gnu', 'pax', 'ustar']) {
    const file = join(dir, `${format}.tar`);
    try {
      execFileSync('tar', ['-cf', file, `--format=${format}`, '-C', src, '.'], { stdio: 'pipe' });
    } catch {
      // ustar cannot store a 120-character last path component: that is tar's limit, not ours.
      assert.equal(format, 'ustar');
      continue;
    }
    const got = await entries(readFileSync(file), 777);
    const big = got.find((e) => e.name.endsWith('.bin'))!;
    assert.equal(big.name, `${'x'.repeat(90)}/${'y'.repeat(90)}/${'z'.repeat(120)}.bin`, format);
    assert.ok(big.data!.equals(payload(5000, 9)), format);
    assert.equal(got.find((e) => e.name === 'small.txt')!.data!.toString(), 'hello\n', format);
  }
});

/** Whether GNU tar is here; skips the test where it is not. */
function gnuTar(t: { skip(message: string): void }): boolean {
  try {
    if (/GNU tar/.test(execFileSync('tar', ['--version'], { encoding: 'utf8' }))) return true;
  } catch {
    // no tar command
  }
  t.skip('no GNU tar here');
  return false;
}

test('GNU headers are not read as ustar: an incremental archive keeps its names (atime and ctime sit where ustar has its prefix)', async (t) => {
  if (!gnuTar(t)) return;
  const dir = tempDir(t);
  const src = join(dir, 'src');
  mkdirSync(join(src, 'batches'), { recursive: true });
  writeFileSync(join(src, 'batches', 'data.bin'), payload(1500, 13));
  const file = join(dir, 'incremental.tar');
  // --incremental writes each member's atime and ctime into the old-GNU header fields at offset 345.
  execFileSync('tar', ['-c', '--format=gnu', '--incremental', '-f', file, '-C', src, 'batches'], { stdio: 'pipe' });
  const got = await entries(readFileSync(file), 4096);
  const data = got.find((e) => e.type === 'file')!;
  assert.equal(data.name, 'batches/data.bin');
  assert.ok(data.data!.equals(payload(1500, 13)));
  assert.deepEqual(got.map((e) => e.name), ['batches', 'batches/data.bin']);
});

test('GNU long link names are metadata, not members', async (t) => {
  if (!gnuTar(t)) return;
  const dir = tempDir(t);
  const src = join(dir, 'src');
  mkdirSync(src);
  const target = `${'t'.repeat(120)}.bin`;
  const link = `${'l'.repeat(110)}.bin`;
  writeFileSync(join(src, target), payload(10, 2));
  symlinkSync(target, join(src, link));
  const file = join(dir, 'links.tar');
  execFileSync('tar', ['-c', '--format=gnu', '-f', file, '-C', src, target, link], { stdio: 'pipe' });
  const got = await entries(readFileSync(file), 300);
  assert.deepEqual(got.map((e) => [e.name, e.type]), [[target, 'file'], [link, 'other']]);
});

test('archives from tar-stream\'s packer: long and non-ASCII names through pax headers', async () => {
  const pack = tarPack();
  const long = `${'p'.repeat(150)}/${'q'.repeat(130)}.bin`;
  pack.entry({ name: long, size: 700 }, payload(700, 5));
  pack.entry({ name: 'ünïcode/' + 'ü'.repeat(80) + '.bin', size: 3 }, Buffer.from('abc'));
  pack.finalize();
  const parts: Buffer[] = [];
  for await (const chunk of pack) parts.push(chunk as Buffer);
  const got = await entries(Buffer.concat(parts), 100);
  assert.deepEqual(got.map((e) => [e.name, e.size]), [[long, 700], ['ünïcode/' + 'ü'.repeat(80) + '.bin', 3]]);
  assert.ok(got[0]!.data!.equals(payload(700, 5)));
});

test('an error of the byte stream itself (e.g. gunzip) is passed on as it is', async () => {
  const tar = makeTar([{ name: 'a.bin', data: payload(2000, 3) }]);
  const failing = new DataFileError('x.tar.gz', 'truncated gzip data');
  async function* broken(): AsyncGenerator<Buffer> {
    yield tar.subarray(0, 700);
    throw failing;
  }
  await assert.rejects(
    (async () => {
      for await (const e of readTar(broken(), 'x.tar')) void e;
    })(),
    (err: unknown) => err === failing,
  );
});

test('breaking off early closes the byte stream', async () => {
  const tar = makeTar([{ name: 'a', data: payload(100, 1) }, { name: 'b', data: payload(100, 2) }]);
  let closed = false;
  async function* source(): AsyncGenerator<Buffer> {
    try {
      for (let i = 0; i < tar.length; i += 512) yield tar.subarray(i, i + 512);
    } finally {
      closed = true;
    }
  }
  for await (const e of readTar(source(), 'x.tar')) {
    assert.equal(e.name, 'a');
    break;
  }
  assert.ok(closed);
});

test('a truncated archive is an error naming the file and the member', async () => {
  const tar = makeTar([{ name: 'a.bin', data: payload(2000, 3) }, { name: 'b.bin', data: payload(2000, 4) }]);
  await assert.rejects(entries(tar.subarray(0, 512 + 1000)), (err: unknown) => {
    assert.ok(err instanceof DataFileError);
    assert.match(err.message, /^x\.tar: truncated tar archive: member a\.bin has 1000 of its 2000 bytes/);
    return true;
  });
  await assert.rejects(entries(tar.subarray(0, 512 + 2048 + 100)), /x\.tar: truncated tar archive: it ends inside a header after member a\.bin \(offset 2560\)/);
  // Skipped members are checked too.
  await assert.rejects(entries(tar.subarray(0, 512 + 2048 + 512 + 10), 100, () => false), /member b\.bin has 10 of its 2000 bytes/);
});

test('a damaged header is reported with its offset', async () => {
  const tar = makeTar([{ name: 'a.bin', data: payload(10, 3) }, { name: 'b.bin', data: payload(10, 4) }]);
  tar[1024 + 3] ^= 0x20; // second header, inside the name
  await assert.rejects(entries(tar), (err: unknown) => {
    assert.ok(err instanceof DataFileError);
    assert.match(err.message, /^x\.tar: corrupt tar header after member a\.bin \(offset 1024\)/);
    return true;
  });
});
