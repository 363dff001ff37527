"""Independent cross-check of src/genotype/cost.ts (test-only tool, not a product dependency).

Builds the DARTS evaluation network NetworkCIFAR in PyTorch from the description in
shared/reference/darts-network.md, then counts trainable parameters (with and without the
auxiliary head) and, with forward hooks, the multiply-accumulates of Conv2d and Linear layers
for one image (the convention of cost.ts: BN, pools, ReLUs, sums excluded).

Needs Debian's python3-torch (apt-get install python3-torch). Run from the repository root:
    node --import tsx test/reference/compare_cost.ts
which feeds every built-in genotype through this script and compares with networkCost.
Input on stdin: JSON list of {"name", "genotype": {"normal": Cell, "reduce": Cell}, "size"}.
"""
import json
import sys

import torch
import torch.nn as nn


class FactorizedReduce(nn.Module):
    def __init__(self, c_in, c_out):
        super().__init__()
        self.relu = nn.ReLU()
        self.a = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.b = nn.Conv2d(c_in, c_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(c_out)

    def forward(self, x):
        x = self.relu(x)
        return self.bn(torch.cat([self.a(x), self.b(x[:, :, 1:, 1:])], dim=1))


def relu_conv_bn(c_in, c_out):
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out))


def dw_pw(c, k, stride, dilation):
    pad = dilation * (k // 2)
    return [nn.ReLU(), nn.Conv2d(c, c, k, stride, pad, dilation=dilation, groups=c, bias=False),
            nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c)]


class Zero(nn.Module):
    def __init__(self, stride):
        super().__init__()
        self.stride = stride

    def forward(self, x):
        return x[:, :, ::self.stride, ::self.stride] * 0.0


def make_op(name, c, stride):
    if name == 'none':
        return Zero(stride)
    if name == 'max_pool_3x3':
        return nn.MaxPool2d(3, stride, 1)
    if name == 'avg_pool_3x3':
        return nn.AvgPool2d(3, stride, 1, count_include_pad=False)
    if name == 'skip_connect':
        return nn.Identity() if stride == 1 else FactorizedReduce(c, c)
    if name.startswith('sep_conv_'):
        k = int(name[9])
        return nn.Sequential(*dw_pw(c, k, stride, 1), *dw_pw(c, k, 1, 1))
    if name.startswith('dil_conv_'):
        return nn.Sequential(*dw_pw(c, int(name[9]), stride, 2))
    if name == 'conv_7x1_1x7':
        return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, (1, 7), (1, stride), (0, 3), bias=False),
                             nn.Conv2d(c, c, (7, 1), (stride, 1), (3, 0), bias=False), nn.BatchNorm2d(c))
    raise ValueError(name)


class Cell(nn.Module):
    def __init__(self, cell, c_pp, c_p, c, reduction, reduction_prev):
        super().__init__()
        self.pre0 = FactorizedReduce(c_pp, c) if reduction_prev else relu_conv_bn(c_pp, c)
        self.pre1 = relu_conv_bn(c_p, c)
        self.inputs = [e['input'] for e in cell['edges']]
        self.ops = nn.ModuleList(
            make_op(e['op'], c, 2 if reduction and e['input'] < 2 else 1) for e in cell['edges'])
        self.concat = cell['concat']

    def forward(self, s0, s1):
        states = [self.pre0(s0), self.pre1(s1)]
        for i in range(0, len(self.ops), 2):
            states.append(self.ops[i](states[self.inputs[i]]) + self.ops[i + 1](states[self.inputs[i + 1]]))
        return torch.cat([states[n] for n in self.concat], dim=1)


class Network(nn.Module):
    def __init__(self, genotype, c, layers, classes, stem_stride):
        super().__init__()
        c_curr = 3 * c
        self.stem = nn.Sequential(nn.Conv2d(3, c_curr, 3, stem_stride, 1, bias=False), nn.BatchNorm2d(c_curr))
        c_pp, c_p, c_curr = c_curr, c_curr, c
        self.cells = nn.ModuleList()
        self.aux_index = 2 * layers // 3
        reduction_prev = False
        for i in range(layers):
            reduction = i in (layers // 3, 2 * layers // 3)
            if reduction:
                c_curr *= 2
            cell = genotype['reduce'] if reduction else genotype['normal']
            self.cells.append(Cell(cell, c_pp, c_p, c_curr, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, len(cell['concat']) * c_curr
            if i == self.aux_index:
                c_aux = c_p
        self.auxiliary = nn.Sequential(
            nn.ReLU(), nn.AvgPool2d(5, 3, 0, count_include_pad=False), nn.Conv2d(c_aux, 128, 1, bias=False),
            nn.BatchNorm2d(128), nn.ReLU(), nn.Conv2d(128, 768, 2, bias=False), nn.BatchNorm2d(768), nn.ReLU(),
            nn.Flatten(), nn.Linear(768, classes))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_p, classes)

    def forward(self, x):
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.pool(s1).flatten(1))


def count(entry):
    size = entry['size']
    input_size = size.get('inputSize', 32)
    net = Network(entry['genotype'], size['channels'], size['layers'], size['classes'], 2 if input_size >= 64 else 1)
    with_aux = sum(p.numel() for p in net.parameters())
    without = with_aux - sum(p.numel() for p in net.auxiliary.parameters())
    macs = 0

    def hook(module, inputs, output):
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1] * module.in_channels // module.groups
            macs += output.numel() * k
        else:
            macs += module.in_features * module.out_features

    for m in net.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)) and not any(m is a for a in net.auxiliary.modules()):
            m.register_forward_hook(hook)
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, 3, input_size, input_size))
    return {'name': entry['name'], 'params': without, 'paramsWithAuxiliary': with_aux, 'macs': macs}


if __name__ == '__main__':
    json.dump([count(e) for e in json.load(sys.stdin)], sys.stdout)
