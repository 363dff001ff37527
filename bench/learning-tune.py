#!/usr/bin/env python3
"""Tunes the Fashion-MNIST learning test (test/unit/train-loop-learning.test.ts)
on the PyTorch reference network (test/reference/darts_torch.py), which is
much cheaper to run than the product on wasm. Not part of the test suite.

Reproduces what the product does for that test, except the initialisation
and data-order streams (torch's generator instead of mulberry32; the data
order is numpy's, seeded like the product's DATA_STREAM):

- Debian's Fashion-MNIST IDX files, 28×28, ONE input channel, pixel/255
  normalised by mean 0.286, std 0.353 (src/train/data/fashionMnist.ts);
- the same class-balanced subsets (src/train/data/subset.ts: numpy
  RandomState(seed), per-class shuffles, rounds of shuffled classes, first N
  kept in file order), training and test subsets each from their own
  generator;
- DARTS_V2 NetworkCIFAR with the stem taking 1 channel, no auxiliary head,
  no drop path, no augmentation;
- SGD momentum 0.9, weight decay 3e-4, clip_grad_norm 5, cosine annealing
  stepped once per EPOCH (src/train/optim.ts cosineLr), last partial batch
  kept, batch norm momentum 0.1 (PyTorch's).

  learning-tune.py [--threads T] CONFIG...
      CONFIG: comma-separated key=value over the defaults below, e.g.
      "train=3000,epochs=4,lr=0.1,seed=1". Prints one JSON line per config:
      the config, the final test accuracy, the per-epoch accuracies and the
      seconds it took.

  e.g. the test's shape over three initialisations with its seed-0 subsets:
      learning-tune.py "layers=4,epochs=4" "layers=4,epochs=4,init=1" \
                       "layers=4,epochs=4,init=2"
  The results that chose it are in the test's comment.
"""
import gzip
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "reference"))
from darts_torch import NetworkCIFAR  # noqa: E402

DATA = "/usr/share/datasets/fashion-mnist"
MEAN, STD = 0.286, 0.353
DARTS_V2 = {
    "normal": {
        "edges": [["sep_conv_3x3", 0], ["sep_conv_3x3", 1], ["sep_conv_3x3", 0], ["sep_conv_3x3", 1],
                  ["sep_conv_3x3", 1], ["skip_connect", 0], ["skip_connect", 0], ["dil_conv_3x3", 2]],
        "concat": [2, 3, 4, 5],
    },
    "reduce": {
        "edges": [["max_pool_3x3", 0], ["max_pool_3x3", 1], ["skip_connect", 2], ["max_pool_3x3", 1],
                  ["max_pool_3x3", 0], ["skip_connect", 2], ["skip_connect", 2], ["max_pool_3x3", 1]],
        "concat": [2, 3, 4, 5],
    },
}
DEFAULTS = {
    "train": 4000, "test": 1000, "epochs": 3, "batch": 32, "lr": 0.05, "lrmin": 0.0,
    "wd": 3e-4, "momentum": 0.9, "clip": 5.0, "channels": 8, "layers": 5, "seed": 0,
    # Initialisation and data-order seed; defaults to `seed`. The learning test
    # pins seed 0, so its subsets are fixed: vary only this to see the spread
    # the test itself would see from a change of kernels.
    "init": None,
    # The product's data stream seed is seed + 0x9e3779b9 (loop.ts streamSeed, DATA_STREAM = 1).
}


def read_idx(name):
    with gzip.open(os.path.join(DATA, name)) as f:
        raw = f.read()
    ndims = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndims).reshape(dims)


def class_balanced_subset(labels, n, seed, classes=10):
    """src/train/data/subset.ts takeSubset, draw for draw."""
    rng = np.random.RandomState(seed)
    by_class = [[] for _ in range(classes)]
    for i, label in enumerate(labels):
        by_class[int(label)].append(i)
    for members in by_class:
        rng.shuffle(members)
    order = []
    rnd = 0
    while len(order) < len(labels):
        present = [c for c in range(classes) if len(by_class[c]) > rnd]
        rng.shuffle(present)
        order.extend(by_class[c][rnd] for c in present)
        rnd += 1
    return np.sort(np.array(order[:n]))


def load(split, n, seed):
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(prefix + "-images-idx3-ubyte.gz")
    labels = read_idx(prefix + "-labels-idx1-ubyte.gz")
    chosen = class_balanced_subset(labels, n, seed)
    x = (images[chosen].astype(np.float32) / 255.0 - MEAN) / STD
    return torch.from_numpy(x[:, None, :, :].copy()), torch.from_numpy(labels[chosen].astype(np.int64))


def cosine_lr(epoch, epochs, lr0, lr_min):
    return lr_min + (lr0 - lr_min) * (1 + math.cos(math.pi * epoch / epochs)) / 2


def evaluate(model, x, y, batch):
    model.eval()
    correct = 0
    with torch.no_grad():
        for s in range(0, len(y), batch):
            logits, _ = model(x[s: s + batch])
            correct += int((logits.argmax(1) == y[s: s + batch]).sum())
    return correct / len(y)


def run(cfg, data):
    init = cfg["seed"] if cfg["init"] is None else cfg["init"]
    torch.manual_seed(init)
    model = NetworkCIFAR(DARTS_V2, int(cfg["channels"]), int(cfg["layers"]), 10, False, 28)
    # The product's stem takes its input channels from the data: one for Fashion-MNIST.
    stem_c = model.stem[0].out_channels
    model.stem[0] = nn.Conv2d(1, stem_c, 3, stride=1, padding=1, bias=False)
    xtr, ytr, xte, yte = data
    opt = torch.optim.SGD(model.parameters(), lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["wd"])
    order_rng = np.random.RandomState((int(init) + 0x9E3779B9) & 0xFFFFFFFF)
    batch = int(cfg["batch"])
    epochs = int(cfg["epochs"])
    accs = []
    t0 = time.perf_counter()
    for e in range(epochs):
        lr = cosine_lr(e, epochs, cfg["lr"], cfg["lrmin"])
        for group in opt.param_groups:
            group["lr"] = lr
        model.train()
        order = torch.from_numpy(order_rng.permutation(len(ytr)))
        loss_sum = 0.0
        for s in range(0, len(ytr), batch):
            idx = order[s: s + batch]
            opt.zero_grad()
            logits, _ = model(xtr[idx])
            loss = F.cross_entropy(logits, ytr[idx])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
            opt.step()
            loss_sum += float(loss) * len(idx)
        if e == epochs - 1 or cfg.get("every"):
            accs.append(round(evaluate(model, xte, yte, 100), 4))
        else:
            accs.append(None)
        print(json.dumps({"epoch": e + 1, "lr": lr, "trainLoss": loss_sum / len(ytr), "testAcc": accs[-1],
                          "seconds": round(time.perf_counter() - t0, 1)}), file=sys.stderr, flush=True)
    return {"config": cfg, "testAcc": accs[-1], "epochAccs": accs, "seconds": round(time.perf_counter() - t0, 1),
            "imagesSeen": len(ytr) * epochs, "threads": torch.get_num_threads()}


def main(argv):
    threads = 1
    if len(argv) >= 2 and argv[0] == "--threads":
        threads, argv = int(argv[1]), argv[2:]
    if not argv:
        sys.exit(__doc__)
    torch.set_num_threads(threads)
    cache = {}
    for spec in argv:
        cfg = dict(DEFAULTS)
        for item in filter(None, spec.split(",")):
            key, value = item.split("=")
            if key not in DEFAULTS and key != "every":
                sys.exit("unknown key " + key)
            cfg[key] = float(value) if "." in value or "e-" in value else int(value)
        # Subsets use the run's seed, as the product's applySubsets does.
        key = (cfg["train"], cfg["test"], cfg["seed"])
        if key not in cache:
            cache[key] = load("train", cfg["train"], cfg["seed"]) + load("test", cfg["test"], cfg["seed"])
        print(json.dumps(run(cfg, cache[key])), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
