import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { downloadFile } from '../../src/train/data/download.js';
import { DataFileError, DataUnavailableError } from '../../src/train/data/errors.js';
import type { DownloadProgress } from '../../src/shared/datasetTypes.js';
import { deadUrl, md5, serveFiles, tempDir } from './data-helpers.js';

const body = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >> 9)) & 0xff));
const files = { 'thing.tar.gz': body };

test('downloads with progress, verifies the MD5, then gives the file its name', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles(files);
  t.after(() => server.close());
  const progress: DownloadProgress[] = [];
  const dest = join(dir, 'sub', 'thing.tar.gz');
  await downloadFile({ title: 'Thing', url: `${server.baseUrl}/thing.tar.gz`, dest, md5: md5(body), onProgress: (p) => progress.push(p) });
  assert.ok(readFileSync(dest).equals(body));
  assert.ok(!existsSync(`${dest}.part`));
  assert.ok(progress.length >= 2);
  assert.deepEqual(progress[0], { file: 'thing.tar.gz', received: 0, total: body.length });
  assert.deepEqual(progress.at(-1), { file: 'thing.tar.gz', received: body.length, total: body.length });
  assert.ok(progress.every((p, i) => i === 0 || p.received >= progress[i - 1]!.received));
  assert.equal(server.requests[0]!.range, undefined);
});

test('resumes a partial file with a Range request and reports from where it was', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles(files);
  t.after(() => server.close());
  const dest = join(dir, 'thing.tar.gz');
  writeFileSync(`${dest}.part`, body.subarray(0, 123_457));
  const progress: DownloadProgress[] = [];
  await downloadFile({ title: 'Thing', url: `${server.baseUrl}/thing.tar.gz`, dest, md5: md5(body), onProgress: (p) => progress.push(p) });
  assert.deepEqual(server.requests.map((r) => r.range), ['bytes=123457-']);
  assert.deepEqual(progress[0], { file: 'thing.tar.gz', received: 123_457, total: body.length });
  assert.ok(readFileSync(dest).equals(body));
});

test('an interrupted download keeps its partial file, says so, and the next call resumes', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles(files, { cutAfter: 100_000 });
  t.after(() => server.close());
  const dest = join(dir, 'thing.tar.gz');
  const url = `${server.baseUrl}/thing.tar.gz`;
  await assert.rejects(downloadFile({ title: 'Thing', url, dest, md5: md5(body) }), (err: unknown) => {
    assert.ok(err instanceof DataUnavailableError);
    assert.match(err.message, new RegExp(`^cannot download Thing from ${url.replace(/[.]/g, '\\.')}: .*; put thing\\.tar\\.gz into ${dir.replace(/[.]/g, '\\.')} or set CELLSCOPE_DATA$`));
    assert.match(err.message, /partial file .*thing\.tar\.gz\.part is kept; run again to resume/);
    return true;
  });
  assert.ok(!existsSync(dest));
  const kept = readFileSync(`${dest}.part`);
  assert.ok(kept.length > 0 && kept.length <= 100_000);
  assert.ok(kept.equals(body.subarray(0, kept.length)));
  await downloadFile({ title: 'Thing', url, dest, md5: md5(body) });
  assert.equal(server.requests.at(-1)!.range, `bytes=${kept.length}-`);
  assert.ok(readFileSync(dest).equals(body));
});

test('a server that ignores Range gets a fresh download, not a doubled file', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles(files, { noRanges: true });
  t.after(() => server.close());
  const dest = join(dir, 'thing.tar.gz');
  writeFileSync(`${dest}.part`, body.subarray(0, 5000));
  await downloadFile({ title: 'Thing', url: `${server.baseUrl}/thing.tar.gz`, dest, md5: md5(body) });
  assert.ok(readFileSync(dest).equals(body));
});

test('a complete partial file (416 on resume) is verified and kept', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles(files);
  t.after(() => server.close());
  const dest = join(dir, 'thing.tar.gz');
  writeFileSync(`${dest}.part`, body);
  await downloadFile({ title: 'Thing', url: `${server.baseUrl}/thing.tar.gz`, dest, md5: md5(body) });
  assert.ok(readFileSync(dest).equals(body));
});

test('a checksum mismatch names the file and both checksums, and removes only the download', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles(files);
  t.after(() => server.close());
  const dest = join(dir, 'thing.tar.gz');
  const wrong = '0123456789abcdef0123456789abcdef';
  await assert.rejects(downloadFile({ title: 'Thing', url: `${server.baseUrl}/thing.tar.gz`, dest, md5: wrong }), (err: unknown) => {
    assert.ok(err instanceof DataFileError);
    assert.equal(err.file, dest);
    assert.match(err.message, new RegExp(`checksum mismatch .*MD5 is ${md5(body)}, expected ${wrong}`));
    return true;
  });
  assert.ok(!existsSync(dest) && !existsSync(`${dest}.part`));
});

test('HTTP errors, redirects and an unreachable host', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles(files);
  t.after(() => server.close());
  await assert.rejects(
    downloadFile({ title: 'Thing', url: `${server.baseUrl}/missing.tar.gz`, dest: join(dir, 'missing.tar.gz'), md5: null }),
    /cannot download Thing from http:\/\/127\.0\.0\.1:\d+\/data\/missing\.tar\.gz: HTTP 404 Not Found; put missing\.tar\.gz into .* or set CELLSCOPE_DATA/,
  );
  await downloadFile({ title: 'Thing', url: `${server.baseUrl}/moved`, dest: join(dir, 'moved.bin'), md5: md5(body) });
  assert.ok(readFileSync(join(dir, 'moved.bin')).equals(body));
  const dead = await deadUrl();
  await assert.rejects(
    downloadFile({ title: 'Thing', url: `${dead}/thing.tar.gz`, dest: join(dir, 'thing.tar.gz'), md5: null }),
    /^DataUnavailableError: cannot download Thing from http:\/\/127\.0\.0\.1:\d+\/data\/thing\.tar\.gz: connection refused; put thing\.tar\.gz into/,
  );
  assert.ok(!existsSync(join(dir, 'thing.tar.gz.part')) || readFileSync(join(dir, 'thing.tar.gz.part')).length === 0);
});

test('never replaces an existing file of the same name', async (t) => {
  const dir = tempDir(t);
  const server = await serveFiles(files);
  t.after(() => server.close());
  const dest = join(dir, 'thing.tar.gz');
  writeFileSync(dest, 'mine');
  await assert.rejects(downloadFile({ title: 'Thing', url: `${server.baseUrl}/thing.tar.gz`, dest, md5: md5(body) }), /already exists/);
  assert.equal(readFileSync(dest, 'utf8'), 'mine');
});
