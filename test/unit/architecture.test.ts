/**
 * The layers of docs/architecture.md, checked on the import statements of
 * src/: a wrong-way import fails here before it ships (e.g. TensorFlow pulled
 * into the extension host, or vscode into the pure core).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { build } from 'esbuild';

const root = resolve(__dirname, '../..');
const src = join(root, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

interface Import { from: string; spec: string; typeOnly: boolean }

function imports(): Import[] {
  const out: Import[] = [];
  const re = /^\s*(import|export)\s+(type\s+)?[^'"]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/gm;
  for (const file of files(src)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(re)) {
      const spec = m[3] ?? m[4] ?? m[5] ?? m[6]!;
      out.push({ from: relative(src, file), spec, typeOnly: Boolean(m[2]) });
    }
  }
  return out;
}

/** The layer a source file or a relative import lands in: its first folder under src/. */
function layerOf(fromFile: string, spec?: string): string {
  const path = spec === undefined ? fromFile : relative(src, resolve(src, dirname(fromFile), spec));
  return path.split(/[\\/]/)[0]!;
}

const allowed: Record<string, string[]> = {
  genotype: ['genotype'],
  shared: ['shared', 'genotype'],
  render: ['render', 'genotype', 'shared'],
  server: ['server', 'genotype'],
  webview: ['webview', 'shared', 'render', 'genotype'],
  runs: ['runs', 'shared', 'genotype', 'render'],
  install: ['install', 'shared'],
  extension: ['extension', 'shared', 'genotype', 'render', 'server', 'runs', 'install'],
  train: ['train', 'runs', 'install', 'genotype', 'shared', 'render'],
  cli: ['cli', 'genotype', 'server', 'render', 'train', 'runs', 'install', 'shared'],
};

test('relative imports only go the directions of docs/architecture.md', () => {
  const wrong: string[] = [];
  for (const imp of imports()) {
    if (!imp.spec.startsWith('.')) continue;
    // The manifest, for the version recorded in runs.
    if (imp.spec.endsWith('/package.json')) continue;
    const from = layerOf(imp.from);
    const to = layerOf(imp.from, imp.spec);
    if (!(allowed[from] ?? []).includes(to)) wrong.push(`${imp.from} → ${imp.spec} (${from} → ${to})`);
  }
  assert.deepEqual(wrong, []);
});

test('the pure core imports no vscode, TensorFlow or node modules', () => {
  const wrong = imports().filter(
    (i) => layerOf(i.from) === 'genotype' && !i.spec.startsWith('.'),
  );
  assert.deepEqual(wrong.map((i) => `${i.from} → ${i.spec}`), []);
});

test('the extension-host and language-server bundles contain no TensorFlow', async () => {
  for (const entry of ['src/extension/main.ts', 'src/server/main.ts']) {
    const result = await build({
      entryPoints: [join(root, entry)],
      bundle: true,
      write: false,
      metafile: true,
      platform: 'node',
      external: ['vscode'],
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(inputs.length > 10, `${entry} bundled ${inputs.length} inputs`);
    const tf = inputs.filter((p) => p.includes('@tensorflow') || p.includes('src/train/'));
    assert.deepEqual(tf, [], entry);
  }
});
