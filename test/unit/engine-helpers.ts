/**
 * A fake npm registry and a fake Google Cloud Storage on 127.0.0.1 for the
 * engine installer's tests: the packument and tarball of a fake
 * @tensorflow/tfjs-node-gpu (with one npm dependency, so that npm resolves a
 * tree as for the real package), a fake libtensorflow archive and a fake
 * prebuilt addon, all built here with the system's tar. The fake package's
 * dist/index.js loads like the real one: it requires its dependency and
 * fails, naming the file, when deps/lib/libtensorflow.so.2 or
 * lib/napi-v8/tfjs_binding.node is missing.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { SystemProbe } from '../../src/install/requirements.js';
import { CUDA_LIBRARIES } from '../../src/install/requirements.js';

export function tempDir(t: { after: (fn: () => void) => void }, prefix = 'cellscope-engine-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `files` (path → text, or {link: target} for a symlink) under a fresh folder and tars `top` of it. */
function tarGz(files: Record<string, string | { link: string }>, top: string[]): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'cellscope-fake-'));
  try {
    for (const [path, body] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      if (typeof body === 'string') writeFileSync(join(dir, path), body);
      else symlinkSync(body.link, join(dir, path));
    }
    execFileSync('tar', ['-czf', join(dir, 'out.tgz'), '-C', dir, ...top]);
    return readFileSync(join(dir, 'out.tgz'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const FAKE_INDEX = `
const fs = require('fs');
const path = require('path');
const dep = require('cellscope-fake-dep');
const lib = path.join(__dirname, '..', 'deps', 'lib', 'libtensorflow.so.2');
const binding = path.join(__dirname, '..', 'lib', 'napi-v8', 'tfjs_binding.node');
if (!fs.existsSync(lib)) throw new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory');
if (!fs.existsSync(binding)) throw new Error('The Node.js native addon module (tfjs_binding.node) can not be found at path: ' + binding);
globalThis.__cellscopeFakeEngine = { loadedFrom: path.dirname(__dirname), dep: dep.name, lib: fs.readFileSync(lib, 'utf8') };
`;

export function fakePackageTarball(name: string): Buffer {
  return tarGz(
    {
      'package/package.json': JSON.stringify({ name, version: '4.22.0', main: 'dist/index.js', dependencies: { 'cellscope-fake-dep': '^1.0.0' }, scripts: { install: 'node -e "process.exit(1)"' } }),
      'package/dist/index.js': FAKE_INDEX,
    },
    ['package'],
  );
}

export function fakeDepTarball(): Buffer {
  return tarGz(
    { 'package/package.json': JSON.stringify({ name: 'cellscope-fake-dep', version: '1.2.0', main: 'index.js' }), 'package/index.js': "exports.name = 'cellscope-fake-dep';\n" },
    ['package'],
  );
}

/** Like the real archive: lib/ with the versioned library and its soname symlinks, include/, a licence; padded to `size` bytes of noise so a cut is mid-file. */
export function fakeLibtensorflow(size = 400_000): Buffer {
  let noise = '';
  for (let i = 0; noise.length < size; i++) noise += ((i * 2654435761) >>> 0).toString(36);
  return tarGz(
    {
      'lib/libtensorflow.so.2.9.1': 'fake libtensorflow 2.9.1\n',
      'lib/libtensorflow.so.2': { link: 'libtensorflow.so.2.9.1' },
      'lib/libtensorflow.so': { link: 'libtensorflow.so.2' },
      'lib/libtensorflow_framework.so.2.9.1': noise,
      'lib/libtensorflow_framework.so.2': { link: 'libtensorflow_framework.so.2.9.1' },
      'include/tensorflow/c/c_api.h': '/* fake */\n',
      LICENSE: 'fake\n',
    },
    ['lib', 'include', 'LICENSE'],
  );
}

/** node-pre-gyp's layout: one top folder holding the addon. */
export function fakeAddon(): Buffer {
  return tarGz({ 'napi-v8/tfjs_binding.node': 'fake addon\n' }, ['napi-v8']);
}

export const sha512 = (b: Buffer) => `sha512-${createHash('sha512').update(b).digest('base64')}`;
export const md5Base64 = (b: Buffer) => createHash('md5').update(b).digest('base64');

export interface FakeServer {
  readonly url: string;
  /** Every request's path and Range header. */
  readonly requests: Array<{ path: string; range?: string }>;
  /** Next response for a path: send this many bytes, then drop the connection. */
  readonly cutAfter: Map<string, number>;
  /** Paths whose responses stop after this many bytes and never finish (until closed). */
  readonly stallAfter: Map<string, number>;
  /** Paths answered with a wrong x-goog-hash md5. */
  readonly wrongHash: Set<string>;
  /** Called when a stalled response has sent its bytes. */
  onStall?: () => void;
  close(): Promise<void>;
}

export const LIBTF_PATH = '/gcs/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz';
export const LIBTF_CPU_PATH = '/gcs/tensorflow/libtensorflow/libtensorflow-cpu-linux-x86_64-2.9.1.tar.gz';
export const ADDON_PATH = '/addons/napi-v8/4.22.0/GPU-linux-4.22.0.tar.gz';
export const ADDON_CPU_PATH = '/addons/napi-v8/4.22.0/CPU-linux-4.22.0.tar.gz';

/**
 * The registry at <url>/npm/, the libtensorflow mirror at <url>/gcs/ (as
 * TFJS_NODE_CDN_STORAGE), the addon mirror at <url>/addons (as
 * npm_config_tfjs_binding_binary_host_mirror). Files carry GCS's
 * x-goog-hash md5, as storage.googleapis.com sends it.
 */
export async function serveFakeEngine(): Promise<FakeServer> {
  const files = new Map<string, Buffer>();
  const packuments = new Map<string, unknown>();
  const requests: FakeServer['requests'] = [];
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const publish = (name: string, version: string, tarball: Buffer, dependencies: Record<string, string> = {}) => {
    const file = `/npm/tarballs/${name.replace('/', '-')}-${version}.tgz`;
    files.set(file, tarball);
    packuments.set(name, {
      name,
      'dist-tags': { latest: version },
      versions: { [version]: { name, version, dependencies, dist: { tarball: `${url}${file}`, integrity: sha512(tarball), shasum: createHash('sha1').update(tarball).digest('hex') } } },
    });
  };
  for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) publish(name, '4.22.0', fakePackageTarball(name), { 'cellscope-fake-dep': '^1.0.0' });
  publish('cellscope-fake-dep', '1.2.0', fakeDepTarball());
  files.set(LIBTF_PATH, fakeLibtensorflow());
  files.set(LIBTF_CPU_PATH, fakeLibtensorflow(1000));
  files.set(ADDON_PATH, fakeAddon());
  files.set(ADDON_CPU_PATH, fakeAddon());

  const state: FakeServer = {
    url,
    requests,
    cutAfter: new Map(),
    stallAfter: new Map(),
    wrongHash: new Set(),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('request', (req, res) => {
    const path = decodeURIComponent((req.url ?? '').split('?')[0]!);
    const range = req.headers.range;
    requests.push(range ? { path, range } : { path });
    if (path.startsWith('/npm/') && !path.startsWith('/npm/tarballs/')) {
      const doc = packuments.get(path.slice('/npm/'.length));
      res.writeHead(doc ? 200 : 404, { 'content-type': 'application/json' });
      res.end(JSON.stringify(doc ?? { error: 'not found' }));
      return;
    }
    const body = files.get(path);
    if (!body) {
      res.writeHead(404);
      res.end('not found');
      return;
    }
    const hash = `crc32c=AAAAAA==,md5=${state.wrongHash.has(path) ? md5Base64(Buffer.from('something else')) : md5Base64(body)}`;
    let start = 0;
    const m = range ? /^bytes=(\d+)-$/.exec(range) : null;
    if (m) {
      start = Number(m[1]);
      if (start >= body.length) {
        res.writeHead(416, { 'content-range': `bytes */${body.length}` });
        res.end();
        return;
      }
      res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`, 'x-goog-hash': hash });
    } else {
      res.writeHead(200, { 'content-length': body.length, 'x-goog-hash': hash });
    }
    const rest = body.subarray(start);
    const cut = state.cutAfter.get(path);
    if (cut !== undefined) {
      state.cutAfter.delete(path);
      res.write(rest.subarray(0, cut), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    const stall = state.stallAfter.get(path);
    if (stall !== undefined) {
      res.write(rest.subarray(0, stall), () => state.onStall?.());
      return;
    }
    res.end(rest);
  });
  return state;
}

/** A machine where everything the GPU engine needs is present. */
export function readyMachine(env: NodeJS.ProcessEnv = {}): SystemProbe {
  return {
    platform: 'linux',
    arch: 'x64',
    env,
    nvidia: async () => ({ devices: [{ index: 0, name: 'Fake GPU', memoryMiB: 16384 }] }),
    ldconfigCache: async () => CUDA_LIBRARIES.map((l) => `\t${l} (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/${l}`).join('\n'),
    exists: () => false,
    toolkitDirs: () => [],
  };
}

/** The environment npm runs with in the tests: its cache and user config in `dir`, nothing from the caller's npm. */
export function npmEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  writeFileSync(join(dir, 'npmrc'), '');
  return { ...env, npm_config_cache: join(dir, 'npm-cache'), npm_config_userconfig: join(dir, 'npmrc'), npm_config_update_notifier: 'false' };
}
