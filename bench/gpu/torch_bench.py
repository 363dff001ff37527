#!/usr/bin/env python3
"""PyTorch side of bench/gpu/run.sh: the same DARTS evaluation network
(test/reference/darts_torch.py's NetworkCIFAR) and the same training step as
bench/gpu/webgpu-bench.ts (forward, cross-entropy, backward,
clip_grad_norm_ 5, SGD with momentum 0.9 and weight decay 3e-4), eager, in
float32, with cuDNN (benchmark mode: it picks the fastest convolution
algorithms, as a user's training would). On a machine without CUDA it runs
on the CPU, which is only good for checking the script.

  torch_bench.py JOB.json    (JOB from `webgpu-bench torch-job`)

prints one JSON line: imagesPerSecond, secondsPerStep, firstStepSeconds,
device, torch, cudnn, params.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "reference"))
from darts_torch import NetworkCIFAR  # noqa: E402


def main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    torch.backends.cudnn.benchmark = True
    # float32 as tfjs computes: no TF32 shortcuts in matrix products or convolutions.
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    model = NetworkCIFAR(job["genotype"], job["channels"], job["layers"], job["classes"], False, job["inputSize"]).to(device)
    model.train()
    params = sum(p.numel() for p in model.parameters())
    opt = torch.optim.SGD(model.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    side = job["inputSize"]
    x = (torch.rand(job["batch"], 3, side, side, device=device) * 2 - 1)
    y = torch.arange(job["batch"], device=device) % job["classes"]

    def sync():
        if cuda:
            torch.cuda.synchronize()

    def step():
        opt.zero_grad(set_to_none=True)
        logits, _ = model(x)
        loss = F.cross_entropy(logits, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        return loss

    t0 = time.perf_counter()
    step()
    sync()
    first = time.perf_counter() - t0
    # cuDNN's benchmark mode times algorithms on the first calls of each shape: warm up past them.
    for _ in range(job["warmup"] + 2):
        step()
    sync()
    t1 = time.perf_counter()
    for _ in range(job["steps"]):
        step()
    sync()
    seconds = (time.perf_counter() - t1) / job["steps"]
    print(json.dumps({
        "engine": "PyTorch eager" + (" (cuDNN)" if cuda else " (CPU)"),
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "torch": torch.__version__,
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        "params": params,
        "batch": job["batch"],
        "firstStepSeconds": first,
        "secondsPerStep": seconds,
        "imagesPerSecond": job["batch"] / seconds,
    }))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
