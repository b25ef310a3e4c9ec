"""PyTorch reference implementation of the models of docs/math.md §1, written independently of the C++.

Parameter names follow the reference code: an `encoder` f_theta and a `classifier` g_W.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

# The smallest |input| any ReLU has seen since the last reset_relu_margin(). Fixture scripts use it
# to avoid batches where a ReLU input lies within float32 rounding of 0: there float32 and float64
# may take different sides of the kink, and a gradient moves by percents for any implementation.
# Tracked only once a script has called reset_relu_margin(): the pass over every ReLU input (and
# its host synchronisation) would cost the speed baseline (scripts/bench_torch.py) ~15 % of its step.
_relu_margin = [None]


def reset_relu_margin():
    _relu_margin[0] = float("inf")


def relu_margin():
    return _relu_margin[0]


def relu(x):
    if _relu_margin[0] is not None:
        _relu_margin[0] = min(_relu_margin[0], x.detach().abs().min().item())
    return F.relu(x)


class PreActBlock(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inp)
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        if stride != 1 or inp != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False))

    def forward(self, x):
        o = relu(self.bn1(x))
        sc = self.shortcut(o) if hasattr(self, "shortcut") else o  # identity carries the activated o
        o = self.conv1(o)
        o = self.conv2(relu(self.bn2(o)))
        return o + sc


class PreActEncoder(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.conv1 = nn.Conv2d(3, w, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(w)
        inp = w
        for s, planes in enumerate([w, 2 * w, 4 * w, 8 * w]):
            blocks = []
            for b in range(2):
                blocks.append(PreActBlock(inp, planes, 2 if (s > 0 and b == 0) else 1))
                inp = planes
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))

    def stages(self, h, frm, to):
        for s in range(frm, to):
            if s == 0:
                h = relu(self.bn1(self.conv1(h)))
            h = getattr(self, f"layer{s + 1}")(h)
        return h

    def head(self, h):
        return h


class WideBlock(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(inp)
        self.conv1 = nn.Conv2d(inp, planes, 3, 1, 1, bias=True)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=True)
        if stride != 1 or inp != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=True))

    def forward(self, x):
        o = self.conv1(relu(self.bn1(x)))
        o = self.conv2(relu(self.bn2(o)))
        return o + (self.shortcut(x) if hasattr(self, "shortcut") else x)


class WideEncoder(nn.Module):
    def __init__(self, k):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=True)
        inp = 16
        for s, (planes, stride) in enumerate([(16 * k, 1), (32 * k, 2), (64 * k, 2)]):
            blocks = []
            for b in range(2):
                blocks.append(WideBlock(inp, planes, stride if b == 0 else 1))
                inp = planes
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.bn1 = nn.BatchNorm2d(64 * k, momentum=0.9)

    def stages(self, h, frm, to):
        for s in range(frm, to):
            if s == 0:
                h = self.conv1(h)
            h = getattr(self, f"layer{s + 1}")(h)
        return h

    def head(self, h):
        return relu(self.bn1(h))


class Network(nn.Module):
    def __init__(self, name, width, num_classes):
        super().__init__()
        if name == "preactresnet18":
            self.encoder, d, self.num_stages = PreActEncoder(width), 8 * width, 4
        elif name == "wrn16_8":
            self.encoder, d, self.num_stages = WideEncoder(width), 64 * width, 3
        else:
            raise ValueError(name)
        self.classifier = nn.Linear(d, num_classes)

    def features(self, x):
        return self.encoder.head(self.encoder.stages(x, 0, self.num_stages))

    def forward(self, x):
        return self.classifier(self.features(x).mean(dim=(2, 3)))


def randomise(net, gen):
    """Random weights and BN state, so a fixture exercises every parameter and buffer."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if name.endswith("bn1.weight") or name.endswith("bn2.weight"):
                p.uniform_(0.5, 1.5, generator=gen)
            elif "bn" in name:
                p.uniform_(-0.2, 0.2, generator=gen)
        for name, b in net.named_buffers():
            if name.endswith("running_mean"):
                b.uniform_(-0.3, 0.3, generator=gen)
            elif name.endswith("running_var"):
                b.uniform_(0.5, 2.0, generator=gen)
            elif name.endswith("num_batches_tracked"):
                b.fill_(3)
