#!/usr/bin/env python3
"""PyTorch reference of the DARTS evaluation network (NetworkCIFAR), for tests
and benchmarks only: never a product dependency.

Written from the network's description in shared/reference/darts-network.md,
with the module tree (and so the state-dict names) of the DARTS PyTorch code,
so that weights exported by src/train/network (ParamStore.exportTorch) load
by name.

  darts_torch.py compare JOB.json OUT.json
      JOB: {"genotype": {"normal": {"edges": [[op, input], ...], "concat": [...]},
                          "reduce": {...}},
            "channels", "layers", "classes", "inputSize", "auxiliary",
            "auxWeight", "labels": [...],
            "tensors": "file.bin", "index": {name: {"offset", "shape"}}}
      The binary file holds float32 little-endian tensors in PyTorch layout:
      every parameter and buffer by state-dict name, and "input" (NCHW).
      One training-mode forward and backward in float64; OUT gets the logits,
      auxiliary logits, loss, every parameter's gradient and the running
      statistics after the step, and the evaluation-mode logits after it.

  darts_torch.py bench JOB.json
      JOB: {"genotype", "channels", "layers", "classes", "batch", "inputSize",
            "steps", "warmup", "threads"}
      Times training steps (forward, backward, SGD) in float32 on random data;
      prints {"imagesPerSecond", "secondsPerStep", "threads", "torch"}.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class ReLUConvBN(nn.Module):
    def __init__(self, c_in, c_out, kernel, stride, padding):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(c_out, affine=True),
        )

    def forward(self, x):
        return self.op(x)


class SepConv(nn.Module):
    def __init__(self, c, k, stride, padding):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, k, stride=stride, padding=padding, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c, affine=True),
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, k, stride=1, padding=padding, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c, affine=True),
        )

    def forward(self, x):
        return self.op(x)


class DilConv(nn.Module):
    def __init__(self, c, k, stride, padding, dilation):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, k, stride=stride, padding=padding, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False),
            nn.BatchNorm2d(c, affine=True),
        )

    def forward(self, x):
        return self.op(x)


class Conv7x1x7(nn.Module):
    def __init__(self, c, stride):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(c, c, (1, 7), stride=(1, stride), padding=(0, 3), bias=False),
            nn.Conv2d(c, c, (7, 1), stride=(stride, 1), padding=(3, 0), bias=False),
            nn.BatchNorm2d(c, affine=True),
        )

    def forward(self, x):
        return self.op(x)


class Identity(nn.Module):
    def forward(self, x):
        return x


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, :: self.stride, :: self.stride].mul(0.0)


class FactorizedReduce(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(c_in, c_out // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(c_out, affine=True)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


def make_op(name, c, stride):
    if name == "none":
        return Zero(stride)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=stride, padding=1, count_include_pad=False)
    if name == "max_pool_3x3":
        return nn.MaxPool2d(3, stride=stride, padding=1)
    if name == "skip_connect":
        return Identity() if stride == 1 else FactorizedReduce(c, c)
    if name.startswith("sep_conv_"):
        k = int(name[9])
        return SepConv(c, k, stride, k // 2)
    if name.startswith("dil_conv_"):
        k = int(name[9])
        return DilConv(c, k, stride, 2 * (k // 2), 2)
    if name == "conv_7x1_1x7":
        return Conv7x1x7(c, stride)
    raise ValueError("unknown operation " + name)


def drop_path(x, drop_prob):
    keep = 1.0 - drop_prob
    mask = torch.bernoulli(torch.full((x.size(0), 1, 1, 1), keep, dtype=x.dtype))
    return x / keep * mask


class Cell(nn.Module):
    def __init__(self, cell, c_prev_prev, c_prev, c, reduction, reduction_prev):
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(c_prev_prev, c)
        else:
            self.preprocess0 = ReLUConvBN(c_prev_prev, c, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(c_prev, c, 1, 1, 0)
        self.indices = [e[1] for e in cell["edges"]]
        self.concat = list(cell["concat"])
        self.steps = (len(self.indices) + 1) // 2
        self.multiplier = len(self.concat)
        self._ops = nn.ModuleList()
        for name, index in cell["edges"]:
            stride = 2 if reduction and index < 2 else 1
            self._ops.append(make_op(name, c, stride))

    def forward(self, s0, s1, drop_prob):
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self.steps):
            total = 0
            for k in (2 * i, 2 * i + 1):
                if k >= len(self._ops):
                    continue
                h = self._ops[k](states[self.indices[k]])
                if self.training and drop_prob > 0 and not isinstance(self._ops[k], Identity):
                    h = drop_path(h, drop_prob)
                total = total + h
            states.append(total)
        return torch.cat([states[i] for i in self.concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    def __init__(self, c, classes):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(c, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, classes)

    def forward(self, x):
        x = self.features(x)
        return self.classifier(x.view(x.size(0), -1))


class NetworkCIFAR(nn.Module):
    def __init__(self, genotype, channels, layers, classes, auxiliary, input_size=32):
        super().__init__()
        self._layers = layers
        self._auxiliary = auxiliary
        self.drop_path_prob = 0.0
        stem_c = 3 * channels
        stem_stride = 2 if input_size >= 64 else 1
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem_c, 3, stride=stem_stride, padding=1, bias=False),
            nn.BatchNorm2d(stem_c),
        )
        c_prev_prev, c_prev, c = stem_c, stem_c, channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        c_aux = None
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c *= 2
            cell = Cell(genotype["reduce" if reduction else "normal"], c_prev_prev, c_prev, c, reduction, reduction_prev)
            reduction_prev = reduction
            self.cells.append(cell)
            c_prev_prev, c_prev = c_prev, cell.multiplier * c
            if i == 2 * layers // 3:
                c_aux = c_prev
        if auxiliary:
            self.auxiliary_head = AuxiliaryHeadCIFAR(c_aux, classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_prev, classes)

    def forward(self, x):
        logits_aux = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == 2 * self._layers // 3 and self._auxiliary and self.training:
                logits_aux = self.auxiliary_head(s1)
        out = self.global_pooling(s1)
        return self.classifier(out.view(out.size(0), -1)), logits_aux


def read_tensors(job, base):
    blob = np.fromfile(base + job["tensors"], dtype="<f4")
    out = {}
    for name, entry in job["index"].items():
        size = int(np.prod(entry["shape"])) if entry["shape"] else 1
        out[name] = torch.from_numpy(blob[entry["offset"]: entry["offset"] + size].astype(np.float64).reshape(entry["shape"]))
    return out


def compare(job_path, out_path):
    with open(job_path) as f:
        job = json.load(f)
    base = job_path[: job_path.rfind("/") + 1]
    tensors = read_tensors(job, base)
    model = NetworkCIFAR(job["genotype"], job["channels"], job["layers"], job["classes"], job["auxiliary"], job.get("inputSize", 32)).double()
    state = model.state_dict()
    for name in state:
        if name.endswith("num_batches_tracked"):
            continue
        if name not in tensors:
            raise KeyError("exported state lacks " + name)
        if tuple(state[name].shape) != tuple(tensors[name].shape):
            raise ValueError("%s: %s vs %s" % (name, tuple(state[name].shape), tuple(tensors[name].shape)))
    model.load_state_dict({k: v for k, v in tensors.items() if k in state}, strict=False)
    x = tensors["input"]
    labels = torch.tensor(job["labels"], dtype=torch.long)
    model.train()
    logits, aux = model(x)
    loss = F.cross_entropy(logits, labels)
    if aux is not None:
        loss = loss + job.get("auxWeight", 0.4) * F.cross_entropy(aux, labels)
    loss.backward()
    grads = {}
    for name, p in model.named_parameters():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        grads[name] = g.reshape(-1).tolist()
    buffers = {name: b.reshape(-1).tolist() for name, b in model.named_buffers() if not name.endswith("num_batches_tracked")}
    model.eval()
    with torch.no_grad():
        eval_logits, _ = model(x)
    out = {
        "logits": logits.detach().reshape(-1).tolist(),
        "auxLogits": None if aux is None else aux.detach().reshape(-1).tolist(),
        "loss": float(loss.item()),
        "grads": grads,
        "buffers": buffers,
        "evalLogits": eval_logits.reshape(-1).tolist(),
    }
    with open(out_path, "w") as f:
        json.dump(out, f)


def bench(job_path):
    with open(job_path) as f:
        job = json.load(f)
    threads = job.get("threads")
    if threads:
        torch.set_num_threads(int(threads))
    torch.manual_seed(0)
    model = NetworkCIFAR(job["genotype"], job["channels"], job["layers"], job["classes"], False, job.get("inputSize", 32))
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.025, momentum=0.9, weight_decay=3e-4)
    side = job.get("inputSize", 32)
    x = torch.randn(job["batch"], 3, side, side)
    y = torch.randint(0, job["classes"], (job["batch"],))

    def step():
        opt.zero_grad()
        logits, _ = model(x)
        F.cross_entropy(logits, y).backward()
        opt.step()

    for _ in range(job.get("warmup", 1)):
        step()
    t0 = time.perf_counter()
    for _ in range(job["steps"]):
        step()
    seconds = (time.perf_counter() - t0) / job["steps"]
    print(json.dumps({
        "imagesPerSecond": job["batch"] / seconds,
        "secondsPerStep": seconds,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
    }))


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "compare" and len(sys.argv) == 4:
        compare(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 3 and sys.argv[1] == "bench":
        bench(sys.argv[2])
    else:
        sys.exit(__doc__)
