/**
 * Where per-user engines live and how a complete one is recognised. Never the
 * extension's or the CLI's own install folder (it may be read-only and is
 * replaced on update) and never anything that needs admin rights:
 *
 *   <home>/engines/<tfjs-node-gpu|tfjs-node>/   one complete install each:
 *       package.json, node_modules/@tensorflow/tfjs-node-gpu/…, cellscope-engine.json (written last)
 *   <home>/engines/.staging-*                   an install in progress (never loaded)
 *   <home>/downloads/                           archives being downloaded (resumable .part files)
 *
 * <home> is $CELLSCOPE_HOME or ~/.cellscope for the CLI, the extension's
 * global storage for the editor. The editor's trainer is told its folder
 * through CELLSCOPE_ENGINES (a path list searched before the CLI's own).
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { ENGINE_MANIFEST, ENGINE_MANIFEST_SCHEMA, ENGINE_PACKAGE, type EngineFlavour, type EngineManifest, type EnginePackageName } from '../shared/engineTypes.js';

/** The CLI's per-user folder. */
export function cellscopeHome(env: NodeJS.ProcessEnv = process.env): string {
  const set = env.CELLSCOPE_HOME?.trim();
  return set ? set : join(homedir(), '.cellscope');
}

export const enginesDir = (home: string) => join(home, 'engines');
export const downloadsDir = (home: string) => join(home, 'downloads');
/** The folder of one flavour's install under an engines folder. */
export const engineFolder = (dir: string, flavour: EngineFlavour) => join(dir, flavour === 'gpu' ? 'tfjs-node-gpu' : 'tfjs-node');
export const packageDirIn = (root: string, pkg: EnginePackageName) => join(root, 'node_modules', ...pkg.split('/'));

/** The engines folders the trainer searches, in order: CELLSCOPE_ENGINES, then the CLI's home. */
export function engineDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const listed = (env.CELLSCOPE_ENGINES ?? '').split(delimiter).filter((d) => d.trim() !== '');
  const own = enginesDir(cellscopeHome(env));
  return [...listed, ...(listed.includes(own) ? [] : [own])];
}

/** Reads a manifest; undefined when absent, throws with the file named when it is not one. */
export function readManifest(root: string): EngineManifest | undefined {
  const path = join(root, ENGINE_MANIFEST);
  if (!existsSync(path)) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: not JSON (${(err as Error).message})`);
  }
  const m = value as Partial<EngineManifest> | null;
  if (!m || m.schema !== ENGINE_MANIFEST_SCHEMA || (m.flavour !== 'gpu' && m.flavour !== 'cpu') || m.package !== ENGINE_PACKAGE[m.flavour] || typeof m.version !== 'string') {
    throw new Error(`${path}: not a ${ENGINE_MANIFEST_SCHEMA} manifest`);
  }
  return m as EngineManifest;
}

export interface InstalledEngine {
  /** The install's root (its node_modules resolves the package). */
  readonly root: string;
  readonly packageDir: string;
  readonly manifest: EngineManifest;
}

/**
 * The first complete install of `flavour` in `dirs`. A folder without its
 * manifest (an interrupted install, a copy in progress) is skipped, so a
 * half-done install is never loaded.
 */
export function findInstalled(flavour: EngineFlavour, dirs: readonly string[]): InstalledEngine | undefined {
  for (const dir of dirs) {
    const root = engineFolder(dir, flavour);
    let manifest: EngineManifest | undefined;
    try {
      manifest = readManifest(root);
    } catch {
      continue;
    }
    if (manifest === undefined || manifest.flavour !== flavour) continue;
    const packageDir = packageDirIn(root, manifest.package);
    if (existsSync(join(packageDir, 'package.json'))) return { root, packageDir, manifest };
  }
  return undefined;
}
