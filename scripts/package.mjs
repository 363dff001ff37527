// Packages the extension as cellscope.vsix for one platform (default: this
// machine's; `--target darwin-arm64` for another): the production bundles
// plus Dawn's binary for that platform (scripts/build.mjs --dawn), and vsce
// marks the package as that platform's, as VS Code's platform-specific
// extensions are. Offline: nothing is downloaded.
import { execFileSync } from 'node:child_process';

const i = process.argv.indexOf('--target');
const target = i >= 0 ? process.argv[i + 1] : `${process.platform}-${process.arch}`;
if (!target || !/^(linux|darwin|win32)-(x64|arm64)$/.test(target)) {
  throw new Error(`unsupported --target ${target}: one of linux|darwin|win32 - x64|arm64`);
}
const run = (command, args) => execFileSync(command, args, { stdio: 'inherit', shell: process.platform === 'win32' });
run(process.execPath, ['scripts/build.mjs', '--production', `--dawn=${target}`]);
run('npx', ['vsce', 'package', '--no-dependencies', '--allow-missing-repository', '--skip-license', '--no-rewrite-relative-links', '--target', target, '-o', 'cellscope.vsix']);
