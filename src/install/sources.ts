/**
 * Where each part of an engine comes from: the npm package (a registry), the
 * libtensorflow archive and the prebuilt Node addon (Google Cloud Storage), or
 * their mirrors. The mirrors are the ones tfjs-node's own installer honours
 * (scripts/install.js, scripts/deps-constants.js and node-pre-gyp), so that a
 * cluster that already mirrors them for `npm install @tensorflow/tfjs-node-gpu`
 * works unchanged:
 *
 * - TFJS_NODE_CDN_STORAGE (also npm_config_TFJS_NODE_CDN_STORAGE, CDN_STORAGE):
 *   the host of `tensorflow/libtensorflow/libtensorflow-<system>-2.9.1.tar.gz`;
 * - TFJS_NODE_BASE_URI: the whole prefix before `<system>-2.9.1.tar.gz`;
 * - scripts/custom-binary.json: `{"tf-lib": URL, "addon": {host, remote_path, package_name}}`;
 * - npm_config_tfjs_binding_binary_host_mirror: node-pre-gyp's mirror of the addon host;
 * - npm_config_registry: the npm registry (npm itself reads it too).
 *
 * Settings (the CLI's flags, the editor's cellscope.gpu.* settings) win over
 * the environment.
 */
import { readFileSync } from 'node:fs';
import { ENGINE_PACKAGE, ENGINE_VERSION, LIBTENSORFLOW_VERSION, type EngineFlavour } from '../shared/engineTypes.js';

export interface SourceSettings {
  /** npm registry URL for the package and its dependencies. */
  readonly registry?: string;
  /** Host of the libtensorflow archives (like TFJS_NODE_CDN_STORAGE). */
  readonly libtensorflowMirror?: string;
  /** Host of the prebuilt addons (like npm_config_tfjs_binding_binary_host_mirror). */
  readonly addonMirror?: string;
  /** A custom-binary.json in tfjs-node's format. */
  readonly customBinary?: string;
  /** A local folder or archive to install from instead of the network (see installer.ts). */
  readonly from?: string;
}

export interface ResolvedSources {
  readonly packageName: string;
  readonly version: string;
  /** undefined: npm's own configuration decides (its .npmrc, npm_config_registry). */
  readonly registry?: string;
  readonly libtensorflowUrl: string;
  readonly addonUrl: string;
  /** The Node-API version the addon is built for. */
  readonly napi: number;
}

const GCS = 'https://storage.googleapis.com/';
const ADDON_HOST = 'https://storage.googleapis.com/tf-builds/pre-built-binary';
/** package.json "binary".napi_versions of tfjs-node 4.22.0. */
const ADDON_NAPI_VERSIONS = [3, 4, 5, 6, 7, 8];

/** node-pre-gyp's choice: the highest built Node-API version this Node supports. */
export function addonNapiVersion(nodeNapi: number = Number(process.versions.napi)): number {
  const fit = ADDON_NAPI_VERSIONS.filter((v) => v <= nodeNapi);
  if (fit.length === 0) throw new Error(`this Node supports Node-API ${nodeNapi}; the tfjs-node addon needs ${ADDON_NAPI_VERSIONS[0]} or later`);
  return Math.max(...fit);
}

const withSlash = (url: string) => (url.endsWith('/') ? url : `${url}/`);

function firstSet(...values: Array<string | undefined>): string | undefined {
  return values.find((v) => v !== undefined && v.trim() !== '')?.trim();
}

interface CustomBinary {
  readonly 'tf-lib'?: string;
  readonly addon?: { readonly host?: string; readonly remote_path?: string; readonly package_name?: string };
}

function readCustomBinary(path: string): CustomBinary {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`${path}: cannot read the custom binary file: ${(err as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${path}: a custom binary file is a JSON object with "tf-lib" and/or "addon"`);
  const v = value as Record<string, unknown>;
  if (v['tf-lib'] !== undefined && typeof v['tf-lib'] !== 'string') throw new Error(`${path}: "tf-lib" must be a URL string`);
  if (v.addon !== undefined && (v.addon === null || typeof v.addon !== 'object')) throw new Error(`${path}: "addon" must be an object {host, remote_path, package_name}`);
  return v as CustomBinary;
}

/** The libtensorflow system name of tfjs-node's install script, e.g. gpu-linux-x86_64. */
function libtensorflowSystem(flavour: EngineFlavour, platform: string): string {
  return `${flavour}-${platform === 'darwin' ? 'darwin' : 'linux'}-x86_64`;
}

/** node-pre-gyp's template variables as tfjs-node's package.json uses them. */
function template(text: string, napi: number): string {
  return text.replace(/\{napi_build_version\}/g, String(napi)).replace(/\{version\}/g, ENGINE_VERSION);
}

export function resolveSources(
  flavour: EngineFlavour,
  settings: SourceSettings = {},
  env: NodeJS.ProcessEnv = process.env,
  platform: string = process.platform,
  napi: number = addonNapiVersion(),
): ResolvedSources {
  const custom = settings.customBinary ? readCustomBinary(settings.customBinary) : {};
  const cdn = firstSet(settings.libtensorflowMirror, env.TFJS_NODE_CDN_STORAGE, env.npm_config_TFJS_NODE_CDN_STORAGE, env.npm_config_tfjs_node_cdn_storage, env.CDN_STORAGE);
  const baseUri = settings.libtensorflowMirror ? undefined : firstSet(env.TFJS_NODE_BASE_URI, env.npm_config_TFJS_NODE_BASE_URI, env.npm_config_tfjs_node_base_uri);
  const archive = `${libtensorflowSystem(flavour, platform)}-${LIBTENSORFLOW_VERSION}.tar.gz`;
  const libtensorflowUrl =
    custom['tf-lib'] ?? (baseUri !== undefined ? `${baseUri}${archive}` : `${withSlash(cdn ?? GCS)}tensorflow/libtensorflow/libtensorflow-${archive}`);

  const host = firstSet(settings.addonMirror, custom.addon?.host, env.npm_config_tfjs_binding_binary_host_mirror) ?? ADDON_HOST;
  const remotePath = template(custom.addon?.remote_path ?? './napi-v{napi_build_version}/{version}/', napi);
  const packageFile = template(custom.addon?.package_name ?? `${flavour === 'gpu' ? 'GPU' : 'CPU'}-${platform === 'darwin' ? 'darwin' : 'linux'}-{version}.tar.gz`, napi);
  const addonUrl = new URL(packageFile, new URL(remotePath, withSlash(host))).toString();

  const registry = firstSet(settings.registry, env.npm_config_registry);
  return {
    packageName: ENGINE_PACKAGE[flavour],
    version: ENGINE_VERSION,
    ...(registry !== undefined ? { registry } : {}),
    libtensorflowUrl,
    addonUrl,
    napi,
  };
}

/** The file name a URL ends with (where a downloaded or local copy of it is kept). */
export function fileNameOf(url: string): string {
  const name = new URL(url).pathname.split('/').pop() ?? '';
  if (name === '') throw new Error(`${url}: names no file`);
  return decodeURIComponent(name);
}
