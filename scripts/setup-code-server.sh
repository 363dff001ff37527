#!/usr/bin/env bash
# Installs code-server 4.100.3 (VS Code 1.100 served to a browser) and the
# system packages the end-to-end tests need, without any download beyond the
# npm registry and Debian's apt. See shared/reference/real-vscode-offline.md for
# why each step is done by hand: code-server's own install scripts fetch
# binaries from the internet and refuse to run as root.
#
# The install lives outside the repository (it is ~1 GB) and is cached: a
# marker file is written only when every step succeeded, so a second run
# returns at once and a half-finished install is redone from scratch.
#
# Usage: scripts/setup-code-server.sh        (prints the install directory)
# Env:   CELLSCOPE_CACHE  cache root (default $HOME/.cache/cellscope)
set -euo pipefail

VERSION=4.100.3
CACHE_ROOT="${CELLSCOPE_CACHE:-$HOME/.cache/cellscope}"
DIR="$CACHE_ROOT/code-server-$VERSION"
MARKER="$DIR/.cellscope-setup-complete"
LOG="$CACHE_ROOT/setup-code-server.log"
ENTRY="$DIR/node_modules/code-server/out/node/entry.js"

if [[ -f "$MARKER" && -f "$ENTRY" && -x /usr/bin/chromium ]]; then
  echo "$DIR"
  exit 0
fi

mkdir -p "$CACHE_ROOT"
: >"$LOG"
step() { echo "[setup-code-server] $*" | tee -a "$LOG" >&2; }
fail() {
  echo "[setup-code-server] FAILED: $1" >&2
  echo "[setup-code-server] last lines of $LOG:" >&2
  tail -n 30 "$LOG" >&2 || true
  exit 1
}
run() { "$@" >>"$LOG" 2>&1; }

# 1. System packages, installed only when missing.
missing=()
for pkg in chromium ripgrep libkrb5-dev build-essential python3 pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]} > 0)); then
  [[ $(id -u) -eq 0 ]] || fail "missing Debian packages (${missing[*]}); run as root or install them"
  step "apt-get install ${missing[*]}"
  run apt-get update || fail "apt-get update"
  DEBIAN_FRONTEND=noninteractive run apt-get install -y --no-install-recommends "${missing[@]}" \
    || fail "apt-get install ${missing[*]}"
fi
[[ -x /usr/bin/chromium ]] || fail "/usr/bin/chromium not found after install"
RG="$(command -v rg)" || fail "ripgrep (rg) not found after install"

# node-pty's rebuild runs `npx node-gyp`; a global node-gyp avoids npx prompts.
if ! command -v node-gyp >/dev/null 2>&1; then
  step "npm install -g node-gyp"
  run npm install -g node-gyp || fail "npm install -g node-gyp"
fi

# 2. A previous run that did not finish leaves no marker: start over.
if [[ -d "$DIR" ]]; then
  step "removing unfinished install in $DIR"
  rm -rf "$DIR"
fi
mkdir -p "$DIR"
cd "$DIR"
echo '{"name":"cellscope-code-server","private":true}' >package.json

step "npm install code-server@$VERSION (scripts off)"
run npm install --ignore-scripts --no-audit --no-fund "code-server@$VERSION" \
  || fail "npm install code-server@$VERSION"

# 3. VS Code's own dependencies and its native modules.
VSC="$DIR/node_modules/code-server/lib/vscode"
[[ -d "$VSC" ]] || fail "$VSC missing: unexpected code-server package layout"
step "npm install in lib/vscode"
(cd "$VSC" && run npm install --omit=dev --ignore-scripts --no-audit --no-fund) \
  || fail "npm install in lib/vscode"
step "rebuilding native modules in lib/vscode"
(cd "$VSC" && npm_config_yes=true run npm rebuild node-pty @vscode/spdlog kerberos \
  native-watchdog @parcel/watcher @vscode/deviceid) || fail "npm rebuild of VS Code's native modules"
mkdir -p "$VSC/node_modules/@vscode/ripgrep/bin"
cp "$RG" "$VSC/node_modules/@vscode/ripgrep/bin/rg"
ln -sfn node_modules "$VSC/node_modules.asar"

# 4. The built-in extensions' dependencies.
step "npm install in lib/vscode/extensions"
(cd "$VSC/extensions" && run npm install --omit=dev --ignore-scripts --no-audit --no-fund) \
  || fail "npm install in lib/vscode/extensions"

# 5. Password hashing module used by code-server itself.
step "npm rebuild argon2"
run npm rebuild argon2 || fail "npm rebuild argon2"

[[ -f "$ENTRY" ]] || fail "$ENTRY missing after install"
run node "$ENTRY" --version || fail "code-server does not start (node $ENTRY --version)"

date -u +%FT%TZ >"$MARKER"
step "code-server $VERSION ready in $DIR"
echo "$DIR"
