/**
 * Where the trainer finds a native TensorFlow package: a node_modules that
 * resolves it from the running script (a developer's checkout, a CLI
 * installed beside it, as before), then the per-user installs
 * (enginePaths.ts). Each candidate says where it is and which version, so a
 * run records what computed it and a load failure names the copy that failed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ENGINE_PACKAGE, type EngineFlavour } from '../shared/engineTypes.js';
import type { NativePackageOrigin } from '../shared/backendTypes.js';
import { engineDirs, findInstalled } from './enginePaths.js';

export interface EngineCandidate extends NativePackageOrigin {
  /** The file to require. */
  readonly entry: string;
}

function versionAt(packageDir: string): string {
  try {
    return String((JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

/**
 * The copies of `flavour`'s package, in the order the trainer tries them.
 * `from`: the file node_modules resolution starts at (default this bundle).
 */
export function engineCandidates(flavour: EngineFlavour, env: NodeJS.ProcessEnv = process.env, from: string = __filename): EngineCandidate[] {
  const pkg = ENGINE_PACKAGE[flavour];
  const out: EngineCandidate[] = [];
  try {
    const manifest = createRequire(from).resolve(`${pkg}/package.json`);
    const packageDir = dirname(manifest);
    // A per-user install found through a parent node_modules is still listed once, as an install.
    out.push({ entry: createRequire(from).resolve(pkg), location: packageDir, version: versionAt(packageDir), source: 'node_modules' });
  } catch {
    // Not in any node_modules: the ordinary case for the packaged extension.
  }
  const installed = findInstalled(flavour, engineDirs(env));
  if (installed !== undefined) {
    const entry = join(installed.packageDir, 'dist', 'index.js');
    if (existsSync(entry) && !out.some((c) => c.location === installed.packageDir)) {
      out.push({ entry, location: installed.packageDir, version: installed.manifest.version, libtensorflow: installed.manifest.libtensorflow, source: 'cellscope-install' });
    }
  }
  return out;
}
