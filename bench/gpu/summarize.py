#!/usr/bin/env python3
"""Markdown summary of bench/gpu/run.sh: both engines' images/s, the ratio
WebGPU / PyTorch against the 0.5× target, and the WebGPU step's GPU time by
kernel. Missing or failed sides are said so, not hidden.

  summarize.py webgpu.json torch.json nvidia-smi.txt
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


def main(webgpu_path, torch_path, smi_path):
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
        print(f"| tfjs webgpu (Dawn, {a['backend']}), node {w['node']} | {a['name']} ({a['kind']}) | {w['imagesPerSecond']:.1f} | {w['secondsPerStep']:.4f} | {w['firstStepSeconds']:.1f} |")
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


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    main(*sys.argv[1:])
