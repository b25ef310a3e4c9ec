"""Writes tests/fixtures/<model>.safetensors: one training-mode step of a reduced-width model.

Run from the repository root with Debian's python3-torch:  python3 tests/reference/make_model_fixtures.py
Each file holds (PyTorch layouts, NCHW images):
  weights.<name>   the state dict before the step (random weights and BN state)
  images, labels   the batch
  logits, loss     training-mode forward (batch statistics)
  grad.<name>      d loss / d parameter
  state.<name>     every BN buffer after the step
  sgd.<name>       every parameter after one SGD step (lr 0.1, momentum 0.9, wd 1e-4)
  eval_logits      evaluation-mode logits of the state dict `weights.*` on the same images
The weights and images are float32; every expected value is computed and stored in float64, so a
float32 run is compared with exact values and a float64 run (probe --dtype float64) to ~1e-10.
Metadata: fixture_version, model, width, num_classes.
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402
from models import Network, randomise  # noqa: E402

FIXTURE_VERSION = "2"
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures")


def make(name, width, classes, batch, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net = Network(name, width, classes)
    randomise(net, gen)
    weights = {k: v.clone() for k, v in net.state_dict().items()}
    images = torch.randn(batch, 3, 32, 32, generator=gen)
    labels = torch.randint(0, classes, (batch,), generator=gen)

    # computed and stored in float64: the expected values carry no float32 rounding of their own
    net = net.double()
    x = images.double()
    net.eval()
    with torch.no_grad():
        eval_logits = net(x)

    net.train()
    logits = net(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out = {f"weights.{k}": v for k, v in weights.items()}
    out.update(images=images, labels=labels, logits=logits.detach(), loss=loss.detach(), eval_logits=eval_logits)
    out.update({f"grad.{k}": p.grad for k, p in net.named_parameters()})
    out.update({f"state.{k}": b for k, b in net.named_buffers()})
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    opt.step()
    out.update({f"sgd.{k}": p for k, p in net.named_parameters()})
    path = os.path.join(OUT, f"{name}.safetensors")
    st_io.save(path, out, {"fixture_version": FIXTURE_VERSION, "model": name, "width": width, "num_classes": classes})
    print(f"wrote {path}: loss {loss.item():.6f}")


if __name__ == "__main__":
    make("preactresnet18", 8, 10, 8, seed=1)
    make("wrn16_8", 1, 10, 8, seed=2)
