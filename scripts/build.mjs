// Bundles every entry point with esbuild. One bundle per process: the
// extension host, the language server, the CLI (also the trainer process) and
// the browser code of the webview panels. Type checking is `tsc --noEmit`.
import * as esbuild from 'esbuild';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const production = process.argv.includes('--production');
const common = {
  bundle: true,
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};

/** Node entry points that exist so far (later layers add theirs). */
const nodeEntries = [
  { in: 'src/extension/main.ts', out: 'extension' },
  // Big cell drawings, in a worker thread of the extension host.
  { in: 'src/extension/cellRenderWorker.ts', out: 'cellRenderWorker' },
  { in: 'src/server/main.ts', out: 'server' },
  { in: 'src/cli/main.ts', out: 'cli' },
  // Data-parallel training threads of the trainer (src/train/parallel/pool.ts starts them beside dist/cli.js).
  { in: 'src/train/parallel/worker.ts', out: 'trainWorker' },
].filter((e) => existsSync(e.in));

const webEntries = [
  { in: 'src/webview/cellPanel.ts', out: 'webview/cellPanel' },
  { in: 'src/webview/resultsPanel.ts', out: 'webview/resultsPanel' },
].filter((e) => existsSync(e.in));

await Promise.all([
  nodeEntries.length > 0 &&
    esbuild.build({
      ...common,
      entryPoints: nodeEntries,
      outdir: 'dist',
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      // vscode is provided by the host; TensorFlow's native and GPU packages
      // are optional and loaded at run time by the trainer only.
      external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'],
      // dist/cli.js is the package's `bin`: it must start with a shebang.
      banner: { js: '#!/usr/bin/env node' },
    }),
  webEntries.length > 0 &&
    esbuild.build({
      ...common,
      entryPoints: webEntries,
      outdir: 'dist',
      platform: 'browser',
      format: 'iife',
      target: 'es2022',
    }),
]);

// The trainer's wasm backend loads its .wasm binaries from beside the running
// script (src/train/backend.ts): ship them next to dist/cli.js so that an
// installed extension, which has no node_modules, can train on wasm.
const require = createRequire(import.meta.url);
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
mkdirSync('dist', { recursive: true });
for (const file of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) {
  copyFileSync(join(wasmDir, file), join('dist', file));
}

// `--dawn=<platform>-<arch>`: also ship Dawn's prebuilt binary for that
// platform (from the optional `webgpu` package) as dist/node_modules/webgpu,
// where the bundled CLI's import('webgpu') finds it. Only with it can an
// installed extension list WebGPU adapters and train on them; it makes the
// package platform-specific (scripts/package.mjs passes vsce --target).
const dawnFlag = process.argv.find((a) => a.startsWith('--dawn='));
if (dawnFlag) {
  const [platform, arch] = dawnFlag.slice('--dawn='.length).split('-');
  const source = dirname(require.resolve('webgpu/package.json'));
  const binaries = platform === 'darwin' ? 'darwin-universal' : `${platform}-${arch}`;
  if (!existsSync(join(source, 'dist', binaries))) throw new Error(`webgpu has no binaries for ${binaries} (${join(source, 'dist')})`);
  const target = join('dist', 'node_modules', 'webgpu');
  rmSync(target, { recursive: true, force: true });
  cpSync(join(source, 'dist', binaries), join(target, 'dist', binaries), { recursive: true });
  for (const file of ['package.json', 'index.js', 'LICENSE.md']) copyFileSync(join(source, file), join(target, file));
}
