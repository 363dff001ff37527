/**
 * Installs a native TensorFlow engine (@tensorflow/tfjs-node-gpu or
 * @tensorflow/tfjs-node) into a per-user folder (enginePaths.ts), in the
 * layout tfjs-node's own install produces, so the package loads unchanged:
 *
 *   node_modules/@tensorflow/tfjs-node-gpu/           npm install --ignore-scripts (npm.ts)
 *     deps/lib/libtensorflow.so.2 …                   the libtensorflow archive, unpacked into deps/
 *     lib/napi-v8/tfjs_binding.node                   the prebuilt addon (node-pre-gyp's tarball, first folder stripped)
 *
 * The addon finds libtensorflow through its rpath ($ORIGIN/../../deps/lib).
 * Steps: requirements (before any download), npm, the two archives through
 * the resumable downloader (retried with resume when the connection drops),
 * unpack, verify, manifest, then one rename makes it live. Everything happens
 * in a staging folder; a failure or cancel removes it and leaves an earlier
 * install as it was. Downloaded archives stay in <home>/downloads until the
 * install succeeds, so running again resumes them.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, promises as fs } from 'node:fs';
import { basename, join } from 'node:path';
import {
  ENGINE_MANIFEST,
  ENGINE_MANIFEST_SCHEMA,
  ENGINE_PACKAGE,
  ENGINE_VERSION,
  LIBTENSORFLOW_VERSION,
  type EngineFlavour,
  type EngineManifest,
  type InstallProgress,
  type RequirementsReport,
} from '../shared/engineTypes.js';
import { DownloadCancelled, DownloadFailed, fetchToFile } from './download.js';
import { downloadsDir, engineFolder, enginesDir, packageDirIn, readManifest, type InstalledEngine } from './enginePaths.js';
import { findNpm, npmInstall, type NpmCommand } from './npm.js';
import { checkRequirements, formatRequirements, systemProbe, type SystemProbe } from './requirements.js';
import { fileNameOf, resolveSources, type ResolvedSources, type SourceSettings } from './sources.js';

export interface InstallOptions {
  readonly flavour: EngineFlavour;
  /** The per-user folder (engines/ and downloads/ go under it). */
  readonly home: string;
  readonly sources?: SourceSettings;
  readonly env?: NodeJS.ProcessEnv;
  readonly onProgress?: (p: InstallProgress) => void;
  /** Each line of npm's output and other details, for a log. */
  readonly onLog?: (line: string) => void;
  readonly signal?: AbortSignal;
  readonly npm?: NpmCommand;
  readonly probe?: SystemProbe;
  /** Install although the requirements are not met (e.g. to export the install for another machine). */
  readonly ignoreRequirements?: boolean;
  /** Attempts per download; each resumes the last one's partial file (default 4). */
  readonly attempts?: number;
  /** The platform the parts are for (default this one). */
  readonly platform?: NodeJS.Platform;
  /** Node-API version of the addon (default: node-pre-gyp's choice for this Node). */
  readonly napi?: number;
}

/** The machine lacks what the engine needs; nothing was downloaded. */
export class RequirementsNotMet extends Error {
  constructor(readonly report: RequirementsReport) {
    super(`${ENGINE_PACKAGE[report.flavour]} cannot run here:\n  ${formatRequirements(report).join('\n  ')}`);
    this.name = 'RequirementsNotMet';
  }
}

export class InstallCancelled extends Error {
  constructor() {
    super('install cancelled; nothing was changed (downloads so far are kept and resume next time)');
    this.name = 'InstallCancelled';
  }
}

function run(command: string, args: readonly string[], signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, [...args], { maxBuffer: 16 << 20, ...(signal ? { signal } : {}) }, (error, _stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')}: ${(stderr || error.message).trim().split('\n')[0]}`));
      else resolve();
    });
  });
}

/** Unpacks a .tar.gz / .tgz / .tar with the system's tar (it keeps libtensorflow's symlinks; GNU and bsdtar refuse `..` members). */
async function untar(archive: string, into: string, strip: number, signal?: AbortSignal): Promise<void> {
  if (!/\.(tar\.gz|tgz|tar)$/i.test(archive)) throw new Error(`${archive}: not a .tar.gz, .tgz or .tar archive`);
  await fs.mkdir(into, { recursive: true });
  await run('tar', ['-xf', archive, '-C', into, ...(strip > 0 ? [`--strip-components=${strip}`] : [])], signal);
}

const isCancel = (err: unknown, signal?: AbortSignal) => signal?.aborted === true || err instanceof DownloadCancelled || (err as Error)?.name === 'AbortError';

/** A local source: a folder or archive holding a Cellscope install, or holding the archives by their published names. */
interface LocalSource {
  /** A complete engine install to copy. */
  readonly install?: string;
  /** The folder to look in for the libtensorflow and addon archives. */
  readonly archives?: string;
}

async function openLocal(from: string, scratch: string, signal?: AbortSignal): Promise<LocalSource> {
  let stat;
  try {
    stat = await fs.stat(from);
  } catch {
    throw new Error(`${from}: no such file or folder to install from`);
  }
  let dir = from;
  if (stat.isFile()) {
    dir = join(scratch, 'from');
    await untar(from, dir, 0, signal);
  }
  const candidates = [dir, ...(await fs.readdir(dir)).map((n) => join(dir, n))];
  for (const c of candidates) if (existsSync(join(c, ENGINE_MANIFEST))) return { install: c };
  return { archives: dir };
}

/** Fetches `url` into downloads/, retrying with resume; a file there with the final name is complete already. */
async function download(url: string, phase: 'libtensorflow' | 'addon', options: InstallOptions, local: LocalSource | undefined): Promise<{ path: string; source: string }> {
  const name = fileNameOf(url);
  if (local?.archives !== undefined) {
    const path = join(local.archives, name);
    if (!existsSync(path)) throw new Error(`${local.archives}: has no ${name} (the ${phase === 'addon' ? 'prebuilt addon' : 'libtensorflow archive'} from ${url}); put it there, or install from the network`);
    options.onProgress?.({ phase, message: `${name} from ${local.archives}` });
    return { path, source: path };
  }
  const dest = join(downloadsDir(options.home), name);
  if (existsSync(dest)) return { path: dest, source: url };
  const attempts = options.attempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    try {
      await fetchToFile({
        url,
        dest,
        checksum: null,
        ...(options.signal ? { signal: options.signal } : {}),
        onProgress: (p) => options.onProgress?.({ phase, message: `downloading ${name}`, file: name, ...p }),
      });
      return { path: dest, source: url };
    } catch (err) {
      if (isCancel(err, options.signal)) throw new InstallCancelled();
      if (!(err instanceof DownloadFailed) || attempt >= attempts) throw err;
      options.onLog?.(`${err.message}; retrying (${attempt + 1} of ${attempts})`);
      await new Promise((r) => setTimeout(r, Math.min(500 * attempt, 3000)));
    }
  }
}

/** The files the package loads, checked before the install goes live. */
function expectedFiles(packageDir: string, platform: NodeJS.Platform, napi: number): string[] {
  const lib = platform === 'darwin' ? 'libtensorflow.2.dylib' : 'libtensorflow.so.2';
  return [join(packageDir, 'package.json'), join(packageDir, 'dist', 'index.js'), join(packageDir, 'deps', 'lib', lib), join(packageDir, 'lib', `napi-v${napi}`, 'tfjs_binding.node')];
}

async function verify(root: string, flavour: EngineFlavour, platform: NodeJS.Platform, napi: number): Promise<void> {
  const pkg = ENGINE_PACKAGE[flavour];
  const packageDir = packageDirIn(root, pkg);
  const missing = expectedFiles(packageDir, platform, napi).filter((f) => !existsSync(f));
  if (missing.length > 0) throw new Error(`the install is incomplete, missing ${missing.join(', ')}`);
  const manifest = JSON.parse(await fs.readFile(join(packageDir, 'package.json'), 'utf8')) as { name?: string; version?: string };
  if (manifest.name !== pkg || manifest.version !== ENGINE_VERSION) {
    throw new Error(`${join(packageDir, 'package.json')}: is ${manifest.name}@${manifest.version}, expected ${pkg}@${ENGINE_VERSION}`);
  }
}

/**
 * Replaces `final` with `staging` so that at every instant `final` is either
 * the old complete install or the new one.
 */
async function activate(staging: string, final: string): Promise<void> {
  const old = `${final}.old-${randomBytes(4).toString('hex')}`;
  const hadOld = existsSync(final);
  if (hadOld) await fs.rename(final, old);
  try {
    await fs.rename(staging, final);
  } catch (err) {
    if (hadOld) await fs.rename(old, final).catch(() => {});
    throw err;
  }
  if (hadOld) await fs.rm(old, { recursive: true, force: true });
}

export async function installEngine(options: InstallOptions): Promise<InstalledEngine> {
  const { flavour, signal } = options;
  const env = options.env ?? process.env;
  const platform = options.platform ?? process.platform;
  const pkg = ENGINE_PACKAGE[flavour];
  const report = (phase: InstallProgress['phase'], message: string) => options.onProgress?.({ phase, message });

  report('requirements', `checking what ${pkg} needs`);
  const requirements = await checkRequirements(flavour, options.probe ?? systemProbe({ env }));
  if (!requirements.ok && !options.ignoreRequirements) throw new RequirementsNotMet(requirements);
  for (const line of formatRequirements(requirements)) options.onLog?.(line);

  const sources: ResolvedSources = resolveSources(flavour, options.sources, env, platform, ...(options.napi !== undefined ? [options.napi] : []));
  const engines = enginesDir(options.home);
  const final = engineFolder(engines, flavour);
  const staging = join(engines, `.staging-${basename(final)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await fs.mkdir(staging, { recursive: true });
  try {
    const local = options.sources?.from !== undefined ? await openLocal(options.sources.from, staging, signal) : undefined;
    let manifest: EngineManifest;
    const root = join(staging, 'engine');
    if (local?.install !== undefined) {
      // A complete install carried from another machine: copied, then checked like a new one.
      report('package', `copying the install at ${local.install}`);
      const carried = readManifest(local.install);
      if (carried === undefined || carried.flavour !== flavour) throw new Error(`${local.install}: holds ${carried?.package ?? 'no engine'}, not ${pkg}`);
      if (carried.platform !== `${platform}-${process.arch}`) throw new Error(`${local.install}: was installed for ${carried.platform}, this machine is ${platform}-${process.arch}`);
      await fs.cp(local.install, root, { recursive: true, verbatimSymlinks: true });
      await fs.rm(join(root, ENGINE_MANIFEST));
      report('verify', 'checking the files');
      await verify(root, flavour, platform, carried.napi);
      manifest = { ...carried, installedAt: new Date().toISOString() };
    } else {
      await fs.mkdir(root, { recursive: true });
      await fs.writeFile(join(root, 'package.json'), JSON.stringify({ name: 'cellscope-engine', private: true, description: `${pkg} for Cellscope`, dependencies: { [pkg]: ENGINE_VERSION } }, null, 2) + '\n');
      report('package', `npm install ${pkg}@${ENGINE_VERSION}${sources.registry ? ` from ${sources.registry}` : ''}`);
      await npmInstall({
        npm: options.npm ?? findNpm(),
        cwd: root,
        env,
        ...(sources.registry !== undefined ? { registry: sources.registry } : {}),
        ...(signal ? { signal } : {}),
        ...(options.onLog ? { onLine: options.onLog } : {}),
      }).catch((err: unknown) => {
        throw isCancel(err, signal) ? new InstallCancelled() : err;
      });
      const libtensorflow = await download(sources.libtensorflowUrl, 'libtensorflow', options, local);
      const addon = await download(sources.addonUrl, 'addon', options, local);
      const packageDir = packageDirIn(root, pkg);
      report('unpack', `unpacking ${basename(libtensorflow.path)} and ${basename(addon.path)}`);
      await untar(libtensorflow.path, join(packageDir, 'deps'), 0, signal);
      await untar(addon.path, join(packageDir, 'lib', `napi-v${sources.napi}`), 1, signal);
      report('verify', 'checking the files');
      await verify(root, flavour, platform, sources.napi);
      manifest = {
        schema: ENGINE_MANIFEST_SCHEMA,
        flavour,
        package: pkg,
        version: ENGINE_VERSION,
        libtensorflow: LIBTENSORFLOW_VERSION,
        napi: sources.napi,
        platform: `${platform}-${process.arch}`,
        installedAt: new Date().toISOString(),
        sources: { package: sources.registry ?? 'npm (its configured registry)', libtensorflow: libtensorflow.source, addon: addon.source },
      };
    }
    if (signal?.aborted) throw new InstallCancelled();
    // The manifest is what makes a folder an install: written last.
    await fs.writeFile(join(root, ENGINE_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
    report('activate', `installing into ${final}`);
    await activate(root, final);
    if (local === undefined) {
      for (const url of [sources.libtensorflowUrl, sources.addonUrl]) await fs.rm(join(downloadsDir(options.home), fileNameOf(url)), { force: true });
    }
    return { root: final, packageDir: packageDirIn(final, pkg), manifest };
  } catch (err) {
    throw isCancel(err, signal) && !(err instanceof InstallCancelled) ? new InstallCancelled() : err;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** Removes an installed engine; false when there was none. */
export async function uninstallEngine(home: string, flavour: EngineFlavour): Promise<boolean> {
  const final = engineFolder(enginesDir(home), flavour);
  if (!existsSync(final)) return false;
  // Renamed first, so no trainer starting now finds a half-removed install.
  const doomed = join(enginesDir(home), `.removing-${basename(final)}-${randomBytes(4).toString('hex')}`);
  await fs.rename(final, doomed);
  await fs.rm(doomed, { recursive: true, force: true });
  return true;
}
