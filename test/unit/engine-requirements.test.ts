/**
 * What the installer says before downloading (requirements.ts, with a fake
 * ldconfig, nvidia-smi and library folders) and where it downloads from
 * (sources.ts: the mirrors tfjs-node's own installer honours, and ours).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkRequirements, CUDA_LIBRARIES, findLibraries, parseLdconfig, systemProbe } from '../../src/install/requirements.js';
import { addonNapiVersion, resolveSources } from '../../src/install/sources.js';
import { tempDir } from './engine-helpers.js';

function script(dir: string, name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

test('missing CUDA libraries are named with where they were looked for; one outside the loader\'s path is pointed at', async (t) => {
  const dir = tempDir(t);
  const ldPath = join(dir, 'ld-path');
  const toolkit = join(dir, 'cuda-11.8', 'lib64');
  mkdirSync(ldPath);
  mkdirSync(toolkit, { recursive: true });
  // In LD_LIBRARY_PATH: cudart. In the ld.so cache (the fake ldconfig): the cuBLAS pair, and a 32-bit cuFFT that does not count.
  writeFileSync(join(ldPath, 'libcudart.so.11.0'), '');
  writeFileSync(join(toolkit, 'libcudnn.so.8'), '');
  const ldconfig = script(
    dir,
    'ldconfig',
    `cat <<'OUT'
3 libs found in cache \`/etc/ld.so.cache'
	libcublas.so.11 (libc6,x86-64) => /opt/fake/libcublas.so.11
	libcublasLt.so.11 (libc6,x86-64) => /opt/fake/libcublasLt.so.11
	libcufft.so.10 (libc6) => /usr/lib32/libcufft.so.10
OUT`,
  );
  const nvidiaSmi = script(dir, 'nvidia-smi', "echo '0, NVIDIA Fake 100, 40960'");
  const env = { LD_LIBRARY_PATH: ldPath, PATH: process.env.PATH };
  const probe = { ...systemProbe({ env, ldconfig, nvidiaSmi }), platform: 'linux' as const, arch: 'x64', toolkitDirs: () => [toolkit] };

  const libs = await findLibraries(probe);
  assert.equal(libs.found.get('libcudart.so.11.0'), join(ldPath, 'libcudart.so.11.0'));
  assert.equal(libs.found.get('libcublas.so.11'), '/opt/fake/libcublas.so.11');
  assert.deepEqual(libs.missing, ['libcufft.so.10', 'libcurand.so.10', 'libcusolver.so.11', 'libcusparse.so.11', 'libcudnn.so.8']);
  assert.equal(libs.elsewhere.get('libcudnn.so.8'), join(toolkit, 'libcudnn.so.8'));

  const report = await checkRequirements('gpu', probe);
  assert.equal(report.ok, false);
  const byName = new Map(report.checks.map((c) => [c.name, c]));
  assert.equal(byName.get('NVIDIA driver')?.detail, 'nvidia-smi lists 0: NVIDIA Fake 100 (40960 MiB)');
  assert.equal(byName.get('libcudart.so.11.0')?.ok, true);
  const cufft = byName.get('libcufft.so.10')!;
  assert.equal(cufft.ok, false);
  assert.ok(cufft.detail.includes(`looked in LD_LIBRARY_PATH (${ldPath}); the ld.so cache (ldconfig -p); /lib, /usr/lib`), cufft.detail);
  assert.match(cufft.detail, /CUDA 11\.x and cuDNN 8\.x/);
  assert.equal(byName.get('libcudnn.so.8')?.detail, `not on the loader's path, but at ${join(toolkit, 'libcudnn.so.8')}: add ${toolkit} to LD_LIBRARY_PATH`);
  assert.match(report.advice ?? '', /install the CUDA 11\.x runtime and cuDNN 8\.x/);
});

test('everything present: the GPU engine\'s requirements are met', async (t) => {
  const dir = tempDir(t);
  const libs = join(dir, 'libs');
  mkdirSync(libs);
  for (const l of CUDA_LIBRARIES) writeFileSync(join(libs, l), '');
  const probe = {
    ...systemProbe({ env: { LD_LIBRARY_PATH: libs }, ldconfig: join(dir, 'no-ldconfig'), nvidiaSmi: script(dir, 'nvidia-smi', "echo '0, A, 1'; echo '1, B, 2'") }),
    platform: 'linux' as const,
    arch: 'x64',
  };
  const report = await checkRequirements('gpu', probe);
  assert.equal(report.ok, true, JSON.stringify(report.checks));
  assert.deepEqual(report.devices.map((d) => d.name), ['A', 'B']);
  assert.equal(report.advice, undefined);
});

test('no driver, and platforms without tfjs-node-gpu: WebGPU is offered', async (t) => {
  const dir = tempDir(t);
  const base = systemProbe({ env: {}, nvidiaSmi: join(dir, 'absent-nvidia-smi'), ldconfig: join(dir, 'absent') });
  const noDriver = await checkRequirements('gpu', { ...base, platform: 'linux', arch: 'x64' });
  assert.match(noDriver.checks.find((c) => c.name === 'NVIDIA driver')!.detail, /absent-nvidia-smi not found: no NVIDIA driver installed/);
  assert.match(noDriver.advice ?? '', /WebGPU engine/);
  assert.match(noDriver.checks.find((c) => c.name === 'libcudnn.so.8')!.detail, /the ld\.so cache \(no ldconfig found\)/);
  for (const [platform, arch] of [['darwin', 'arm64'], ['darwin', 'x64'], ['win32', 'x64'], ['linux', 'arm64']] as const) {
    const r = await checkRequirements('gpu', { ...base, platform, arch });
    assert.equal(r.ok, false);
    assert.equal(r.checks.length, 1);
    assert.equal(r.checks[0]!.detail, `${platform}-${arch}: @tensorflow/tfjs-node-gpu is published for linux-x64 only`);
    assert.match(r.advice ?? '', /WebGPU engine .*--backend webgpu/);
  }
  // The CPU package needs no driver; it exists for macOS on Intel too.
  assert.equal((await checkRequirements('cpu', { ...base, platform: 'darwin', arch: 'x64' })).ok, true);
  assert.equal((await checkRequirements('cpu', { ...base, platform: 'darwin', arch: 'arm64' })).ok, false);
});

test('ldconfig -p lines: name → 64-bit path', () => {
  const cache = parseLdconfig('2 libs found\n\tlibcudnn.so.8 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8\n\tlibcudnn.so.8 (libc6) => /usr/lib32/libcudnn.so.8\n\tlibfoo.so.1 (libc6,AArch64) => /usr/lib/aarch64-linux-gnu/libfoo.so.1\n');
  assert.deepEqual([...cache], [
    ['libcudnn.so.8', '/usr/lib/x86_64-linux-gnu/libcudnn.so.8'],
    ['libfoo.so.1', '/usr/lib/aarch64-linux-gnu/libfoo.so.1'],
  ]);
});

test('sources: the published URLs, tfjs-node\'s mirror variables, custom-binary.json, and settings over the environment', (t) => {
  const gpu = resolveSources('gpu', {}, {}, 'linux', 8);
  assert.equal(gpu.libtensorflowUrl, 'https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz');
  assert.equal(gpu.addonUrl, 'https://storage.googleapis.com/tf-builds/pre-built-binary/napi-v8/4.22.0/GPU-linux-4.22.0.tar.gz');
  assert.equal(gpu.registry, undefined);
  assert.equal(gpu.packageName, '@tensorflow/tfjs-node-gpu');
  const cpuMac = resolveSources('cpu', {}, {}, 'darwin', 8);
  assert.equal(cpuMac.libtensorflowUrl, 'https://storage.googleapis.com/tensorflow/libtensorflow/libtensorflow-cpu-darwin-x86_64-2.9.1.tar.gz');
  assert.equal(cpuMac.addonUrl, 'https://storage.googleapis.com/tf-builds/pre-built-binary/napi-v8/4.22.0/CPU-darwin-4.22.0.tar.gz');

  // The variables of tfjs-node's scripts/install.js and node-pre-gyp.
  const env = { TFJS_NODE_CDN_STORAGE: 'https://mirror.example/gcs', npm_config_tfjs_binding_binary_host_mirror: 'https://mirror.example/addons/', npm_config_registry: 'https://npm.example/' };
  const mirrored = resolveSources('gpu', {}, env, 'linux', 8);
  assert.equal(mirrored.libtensorflowUrl, 'https://mirror.example/gcs/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz');
  assert.equal(mirrored.addonUrl, 'https://mirror.example/addons/napi-v8/4.22.0/GPU-linux-4.22.0.tar.gz');
  assert.equal(mirrored.registry, 'https://npm.example/');
  assert.equal(resolveSources('gpu', {}, { CDN_STORAGE: 'http://10.0.0.1/' }, 'linux', 8).libtensorflowUrl, 'http://10.0.0.1/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz');
  assert.equal(resolveSources('gpu', {}, { TFJS_NODE_BASE_URI: 'http://x/lt-' }, 'linux', 8).libtensorflowUrl, 'http://x/lt-gpu-linux-x86_64-2.9.1.tar.gz');

  // Settings (CLI flags, the editor's cellscope.gpu.*) win.
  const set = resolveSources('gpu', { libtensorflowMirror: 'http://lan/tf/', addonMirror: 'http://lan/addons', registry: 'http://lan/npm/' }, { ...env, TFJS_NODE_BASE_URI: 'http://ignored/' }, 'linux', 8);
  assert.equal(set.libtensorflowUrl, 'http://lan/tf/tensorflow/libtensorflow/libtensorflow-gpu-linux-x86_64-2.9.1.tar.gz');
  assert.equal(set.addonUrl, 'http://lan/addons/napi-v8/4.22.0/GPU-linux-4.22.0.tar.gz');
  assert.equal(set.registry, 'http://lan/npm/');

  // custom-binary.json, as tfjs-node's scripts/ reads it, with node-pre-gyp's templates.
  const dir = tempDir(t);
  const custom = join(dir, 'custom-binary.json');
  writeFileSync(custom, JSON.stringify({ 'tf-lib': 'http://lan/my-libtensorflow.tar.gz', addon: { host: 'http://lan/bin', remote_path: 'n{napi_build_version}/', package_name: 'mine-{version}.tar.gz' } }));
  const fromCustom = resolveSources('gpu', { customBinary: custom }, {}, 'linux', 6);
  assert.equal(fromCustom.libtensorflowUrl, 'http://lan/my-libtensorflow.tar.gz');
  assert.equal(fromCustom.addonUrl, 'http://lan/bin/n6/mine-4.22.0.tar.gz');
  writeFileSync(custom, '["not an object"]');
  assert.throws(() => resolveSources('gpu', { customBinary: custom }, {}, 'linux', 8), new RegExp(`${custom.replace(/[.]/g, '\\.')}: a custom binary file is a JSON object`));
  assert.throws(() => resolveSources('gpu', { customBinary: join(dir, 'none.json') }, {}, 'linux', 8), /none\.json: cannot read the custom binary file/);
});

test('the addon\'s Node-API version is node-pre-gyp\'s choice', () => {
  assert.equal(addonNapiVersion(9), 8);
  assert.equal(addonNapiVersion(8), 8);
  assert.equal(addonNapiVersion(5), 5);
  assert.throws(() => addonNapiVersion(2), /Node-API 2; the tfjs-node addon needs 3 or later/);
});
