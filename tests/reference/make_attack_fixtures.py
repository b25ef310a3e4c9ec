"""Writes tests/fixtures/attacks_preactresnet18.safetensors: FGSM and PGD (docs/math.md §4) on a reduced-width model.

Run from the repository root with Debian's python3-torch:  python3 tests/reference/make_attack_fixtures.py
The file holds (PyTorch layouts, NCHW images):
  weights.<name>     the state dict (random weights and BN state; the model runs in evaluation mode)
  images, labels     the clean batch, pixels in [0, 1]
  start              PGD's random start, uniform in [-eps, eps]
  fgsm, pgd          the adversarial images
  fgsm_logits, pgd_logits   evaluation-mode logits of the adversarial images
Computed in float64 (stored as float32). The model normalises its input with the CIFAR mean and std.
Metadata: fixture_version, model, width, num_classes, fgsm_eps, pgd_eps, pgd_step, pgd_steps.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402
from models import Network, randomise  # noqa: E402

FIXTURE_VERSION = "1"
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures")
# float32 constants as the C++ code holds them (data/augment.h)
MEAN = torch.tensor([0.4914, 0.4822, 0.4465], dtype=torch.float32).double().view(1, 3, 1, 1)
STD = torch.tensor([0.2023, 0.1994, 0.2010], dtype=torch.float32).double().view(1, 3, 1, 1)
FGSM_EPS, PGD_EPS, PGD_STEP, PGD_STEPS = 8 / 255, 4 / 255, 2 / 255, 3


def input_gradient(net, x, labels):
    x = x.clone().requires_grad_(True)
    F.cross_entropy(net((x - MEAN) / STD), labels).backward()
    return x.grad


def main(model="preactresnet18", width=4, classes=10, batch=4, seed=11):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = Network(model, width, classes)
    randomise(net, gen)
    weights = {f"weights.{k}": v.clone() for k, v in net.state_dict().items()}
    images = torch.rand(batch, 3, 32, 32, generator=gen)
    labels = torch.randint(0, classes, (batch,), generator=gen)
    start = (torch.rand(batch, 3, 32, 32, generator=gen) * 2 - 1) * PGD_EPS
    net = net.double().eval()
    x = images.double()
    fgsm = (x + FGSM_EPS * input_gradient(net, x, labels).sign()).clamp(0, 1)
    adv = (x + start.double()).clamp(0, 1)
    for _ in range(PGD_STEPS):
        adv = adv + PGD_STEP * input_gradient(net, adv, labels).sign()
        adv = torch.min(torch.max(adv, x - PGD_EPS), x + PGD_EPS).clamp(0, 1)
    with torch.no_grad():
        out = dict(weights, images=images, labels=labels, start=start, fgsm=fgsm.float(), pgd=adv.float(),
                   fgsm_logits=net((fgsm - MEAN) / STD).float(), pgd_logits=net((adv - MEAN) / STD).float(),
                   clean_logits=net((x - MEAN) / STD).float())
    path = os.path.join(OUT, f"attacks_{model}.safetensors")
    st_io.save(path, out, {"fixture_version": FIXTURE_VERSION, "model": model, "width": width, "num_classes": classes,
                           "fgsm_eps": repr(FGSM_EPS), "pgd_eps": repr(PGD_EPS), "pgd_step": repr(PGD_STEP),
                           "pgd_steps": PGD_STEPS})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
