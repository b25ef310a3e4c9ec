"""How far PyTorch's own bfloat16 step lands from the exact one: the yardstick of the bfloat16
tolerances in tests/fixtures.h (expect_bf16_step_close). Not a fixture writer; it prints.

Run from the repository root with Debian's python3-torch:  python3 tests/reference/bf16_reference_errors.py
For the reduced models of make_model_fixtures.py (the same seeds), the whole network in bfloat16
(PyTorch's CPU kernels) against float64: the relative error (largest difference over largest
magnitude) of the per-position logits, the pooled logits, and each parameter's gradient (the
median and the worst tensor), at batch 8 (the fixtures') and 64.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from models import Network, randomise  # noqa: E402


def relative(a, e):
    return ((a - e).abs().max() / e.abs().max()).item()


def step(name, width, batch, dtype, seed=2):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    reference = Network(name, width, 10)
    randomise(reference, gen)
    images = torch.randn(batch, 3, 32, 32, generator=gen)
    labels = torch.randint(0, 10, (batch,), generator=gen)
    net = Network(name, width, 10)
    net.load_state_dict(reference.state_dict())
    net = net.to(dtype)
    net.train()
    features = net.features(images.to(dtype))
    positions = torch.einsum("ndhw,cd->nchw", features.double(), net.classifier.weight.double())
    logits = net.classifier(features.mean(dim=(2, 3)))
    F.cross_entropy(logits.float(), labels).backward()
    grads = {k: p.grad.double() for k, p in net.named_parameters()}
    return positions, logits.double(), grads


for name, width in [("preactresnet18", 8), ("wrn16_8", 1)]:
    for batch in (8, 64):
        exact, bf16 = step(name, width, batch, torch.float64), step(name, width, batch, torch.bfloat16)
        errors = sorted(relative(bf16[2][k], g) for k, g in exact[2].items() if g.abs().max() >= 1e-2)
        print(f"{name} batch {batch}: logits per position {relative(bf16[0], exact[0]):.3f}, pooled "
              f"{relative(bf16[1], exact[1]):.3f}; gradients median {errors[len(errors) // 2]:.2f}, worst {errors[-1]:.2f}")
