#!/usr/bin/env python3
"""Markdown summary of bench/gpu/run.sh: both engines' images/s, the ratio
WebGPU / PyTorch against the 0.5× target, and the WebGPU step's GPU time by
kernel, and (with kernels.json) the filter-gradient kernels of one step,
TensorFlow.js's against this project's, shape by shape. Missing or failed
sides are said so, not hidden.

  summarize.py webgpu.json torch.json nvidia-smi.txt [kernels.json]
      [--plan plan.json] [--plan-small plan-small.json] [--torch-small torch-small.json]
      [--plan-small-direct plan-small-direct.json]

The plan engine (src/train/gpuplan, bench/gpu/plan-bench.ts) gets its own
table: images/s, ratio to PyTorch on the same network, dispatches per step
(and tfjs-webgpu's launches where counted), CPU encode ms per step, planned
GPU bytes, and its step by kernel kind.
"""
import json
import sys


def load(path):
    try:
        with open(path) as f:
            text = f.read().strip()
        return json.loads(text.splitlines()[-1]) if text else None
    except (OSError, ValueError, IndexError):
        return None


def describe(call):
    a = call["attrs"]
    pad = a.get("pad")
    if isinstance(pad, list):
        pad = f"{pad[1][0]},{pad[2][0]}"
    stride = a.get("strides")
    stride = stride[0] if isinstance(stride, list) and stride[0] == stride[1] else stride
    dil = a.get("dilations")
    dil = dil[0] if isinstance(dil, list) and dil[0] == dil[1] else dil
    f = a.get("filterShape")
    extra = f", dilation {dil}" if dil not in (None, 1) else ""
    if call["kernel"] == "Conv2DBackpropFilter":
        filt = f"conv {f[0]}×{f[1]} {f[2]}→{f[3]}"
    else:
        filt = f"depthwise {f[0]}×{f[1]} C={f[2]}" + (f" ×{f[3]}" if f[3] != 1 else "")
    return f"{filt}, x {'×'.join(map(str, call['x']))}, stride {stride}, pad {pad}{extra}"


def kernels_table(k):
    s = k["perStep"]
    gpu = s["stockGpuMs"] > 0
    unit = "GPU ms (timestamp queries)" if gpu else "wall ms (to a read; no timestamp queries)"
    key, stock_key = ("gpuMs", "stockGpuMs") if gpu else ("wallMs", "stockWallMs")
    a = k["adapter"]
    print(f"\nFilter-gradient kernels of one step on {a['name']}, TensorFlow.js's (stock) against src/train/webgpu's, "
          f"{unit}, median of {k['repeats']} runs per shape (GPU time) or mean (wall):\n")
    print(f"per step: stock {s[stock_key]:.1f} ms, override {s[key]:.1f} ms ({s[stock_key] / max(s[key], 1e-9):.1f}× faster)\n")
    print("| call | per step | stock ms | override ms | speed-up | pointwise: matmul / direct ms | max rel. diff |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for c in k["calls"]:
        diff = "-" if c["relativeDifference"] is None else f"{c['relativeDifference']:.1e}"
        p = c.get("paths")
        paths = f"{p['matmul'][key]:.3f} / {p['direct'][key]:.3f}" if p else ""
        print(f"| {describe(c)} | {c['count']} | {c[stock_key]:.3f} | {c[key]:.3f} | {c[stock_key] / max(c[key], 1e-9):.1f}× | {paths} | {diff} |")


def plan_table(rows):
    """rows: (label, plan result or None, torch result or None)."""
    print("\nCompiled plan engine (src/train/gpuplan):\n")
    print("| network | adapter | images/s | × PyTorch eager | dispatches/step | tfjs-webgpu launches | encode ms/step | planned GPU bytes |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    def named(label, p):
        return f"C={p['channels']}, {p['layers']} cells, batch {p['batch']}{label}" if p else label or "plan"

    rows = [(named(label, p), p, t) for label, p, t in rows]
    for label, p, t in rows:
        if not p:
            print(f"| {label} | - | failed (see plan*.stderr) | | | | | |")
            continue
        ips = p.get("imagesPerSecond")
        ratio = f"{ips / t['imagesPerSecond']:.3f}×" if ips and t else "-"
        tf = p.get("tfjsWebgpuLaunchesPerStep", "-")
        print(f"| {label} | {p['adapter']['name']} | {'-' if ips is None else f'{ips:.1f}'} | {ratio} | {p['dispatchesPerStep']} | {tf} | "
              f"{p['encodeMsPerStep']:.2f} | {p['planBytes'] / 2**30:.2f} GiB |")
    for label, p, _ in rows:
        if p and p.get("profile"):
            print(f"\nPlan step by kernel kind, {label} (wall ms, each dispatch submitted and waited for alone):\n")
            print("| kernel | dispatches | entries | ms |")
            print("| --- | ---: | ---: | ---: |")
            for k in p["profile"]:
                print(f"| {k['kind']} | {k['dispatches']} | {k['entries']} | {k['ms']:.2f} |")


def main(webgpu_path, torch_path, smi_path, kernels_path=None, plan=None, plan_small=None, torch_small=None, plan_small_direct=None):
    w, t = load(webgpu_path), load(torch_path)
    try:
        gpu = open(smi_path).read().strip().splitlines()[0]
    except (OSError, IndexError):
        gpu = "unknown"
    print(f"GPU (nvidia-smi): {gpu}\n")
    print("| engine | device | images/s | s/step | first step s |")
    print("| --- | --- | ---: | ---: | ---: |")
    if t:
        print(f"| {t['engine']}, torch {t['torch']}, cuDNN {t['cudnn']} | {t['device']} | {t['imagesPerSecond']:.1f} | {t['secondsPerStep']:.4f} | {t['firstStepSeconds']:.1f} |")
    else:
        print("| PyTorch | - | failed | | |")
    if w:
        a = w["adapter"]
        print(f"| tfjs webgpu (Dawn, {a['backend']}), {w.get('filterGrads', 'stock')} filter gradients, node {w['node']} | {a['name']} ({a['kind']}) | {w['imagesPerSecond']:.1f} | {w['secondsPerStep']:.4f} | {w['firstStepSeconds']:.1f} |")
    else:
        print("| tfjs webgpu | - | failed | | |")
    if w and t:
        ratio = w["imagesPerSecond"] / t["imagesPerSecond"]
        print(f"\nwebgpu / PyTorch = {ratio:.3f}× (target ≥ 0.5×: {'met' if ratio >= 0.5 else 'not met'})")
        if w.get("params") != t.get("params"):
            print(f"\nWARNING: parameter counts differ: webgpu {w.get('params')}, PyTorch {t.get('params')}")
        else:
            print(f"\nsame network: {w['params']:,} parameters; batch {w['batch']}; {w['steps']} timed steps after {w['warmup']} (webgpu)")
    if w and w.get("profile"):
        total = w["profileKernelMs"]
        print(f"\nWebGPU step by kernel (GPU time from timestamp queries, one profiled step: {total:.1f} ms in "
              f"{w['kernelLaunchesPerStep']} kernel launches; the step's wall time is {1000 * w['secondsPerStep']:.1f} ms):\n")
        print("| kernel | launches | ms | % of GPU time |")
        print("| --- | ---: | ---: | ---: |")
        for k in w["profile"][:15]:
            print(f"| {k['kernel']} | {k['count']} | {k['ms']:.2f} | {k['percent']:.1f} |")
        print(f"\nrecording a step (JavaScript, TensorFlow.js, Dawn on the CPU) took {1000 * w['encodeSecondsPerStep']:.1f} ms of its {1000 * w['secondsPerStep']:.1f} ms")
        print(f"\ntensors stable across steps: {w['tensorsStable']}; GPU bytes in use {w['gpuBytesInUse']}, pooled {w['gpuBytesPooled']}")
    if plan is not None or plan_small is not None:
        rows = []
        if plan is not None:
            rows.append(("", load(plan), t))
        if plan_small is not None:
            rows.append(("", load(plan_small), load(torch_small) if torch_small else None))
        if plan_small_direct is not None:
            rows.append((", direct dense kernels", load(plan_small_direct), load(torch_small) if torch_small else None))
        plan_table(rows)
    if kernels_path is not None:
        k = load(kernels_path)
        if k:
            kernels_table(k)
        else:
            print("\nfilter-gradient kernels: not run or failed (KERNELS=1; see kernels.stderr)")


if __name__ == "__main__":
    args, opts = [], {}
    argv = sys.argv[1:]
    i = 0
    while i < len(argv):
        if argv[i] in ("--plan", "--plan-small", "--torch-small", "--plan-small-direct") and i + 1 < len(argv):
            opts[argv[i][2:].replace("-", "_")] = argv[i + 1]
            i += 2
        else:
            args.append(argv[i])
            i += 1
    if len(args) not in (3, 4):
        sys.exit(__doc__)
    main(*args, **opts)
