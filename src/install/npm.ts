/**
 * Runs the real npm to put a package and its npm dependencies into a folder
 * (`npm install --ignore-scripts`): npm resolves the dependency tree, honours
 * the user's .npmrc (proxy, registry, certificates) and checks each tarball's
 * published integrity. `--ignore-scripts` skips tfjs-node's own install
 * script, whose download has no resume, no progress we can show and no
 * verification; installer.ts fetches those parts itself.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** How to start npm: a command and the arguments before npm's own. */
export interface NpmCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/**
 * npm beside `node` (a Node installation's lib/node_modules/npm, or
 * node_modules/npm next to node.exe), else `npm` from PATH.
 */
export function findNpm(node: string = process.execPath, platform: NodeJS.Platform = process.platform): NpmCommand {
  for (const cli of [join(dirname(node), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js'), join(dirname(node), 'node_modules', 'npm', 'bin', 'npm-cli.js')]) {
    if (existsSync(cli)) return { command: node, args: [cli] };
  }
  return { command: platform === 'win32' ? 'npm.cmd' : 'npm', args: [] };
}

export interface NpmInstallRequest {
  readonly npm: NpmCommand;
  /** The folder to install into (its package.json lists the package). */
  readonly cwd: string;
  readonly registry?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly signal?: AbortSignal;
  /** Each line npm prints, for the log. */
  readonly onLine?: (line: string) => void;
}

export async function npmInstall(request: NpmInstallRequest): Promise<void> {
  const args = [
    ...request.npm.args,
    'install',
    '--ignore-scripts',
    '--omit=dev',
    '--no-audit',
    '--no-fund',
    '--no-update-notifier',
    '--loglevel=warn',
    ...(request.registry !== undefined ? ['--registry', request.registry] : []),
  ];
  const env = { ...(request.env ?? process.env) };
  // An npm that started us (npm run, npx) passes its own settings down; the
  // install must use the user's configuration, not those of our caller.
  for (const key of Object.keys(env)) if (/^npm_(lifecycle|package|config_(prefix|global|cache_lock|save|workspace|include_workspace))/i.test(key)) delete env[key];
  const tail: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(request.npm.command, args, { cwd: request.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true, ...(request.signal ? { signal: request.signal } : {}) });
    const lines = (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split(/\r?\n/)) {
        if (line.trim() === '') continue;
        tail.push(line);
        if (tail.length > 12) tail.shift();
        request.onLine?.(line);
      }
    };
    child.stdout.on('data', lines);
    child.stderr.on('data', lines);
    child.on('error', (err) => {
      const code = (err as NodeJS.ErrnoException).code;
      reject(
        code === 'ENOENT'
          ? new Error(`npm not found (${request.npm.command}): install Node.js with npm, or install from a local folder or archive (cellscope gpu install --from PATH)`)
          : err.name === 'AbortError'
            ? Object.assign(new Error('npm install cancelled'), { name: 'AbortError' })
            : err,
      );
    });
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`npm install failed (exit ${code}) in ${request.cwd}: ${tail.join(' | ') || 'no output'}`));
    });
  });
}
