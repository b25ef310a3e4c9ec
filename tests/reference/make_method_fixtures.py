"""Writes tests/fixtures/method_<model>_<case>.safetensors: one training step of each method of docs/math.md §3.

Run from the repository root with Debian's python3-torch:  python3 tests/reference/make_method_fixtures.py
Per model: tests/fixtures/method_<model>_weights.safetensors holds `weights.<name>` and
`teacher.<name>` (a different random network). Per case the file holds the batch (images, labels,
images2, and the draws as probe reads them: lam, perm, layer, box, Lambda) and the expected
logits, loss, grad.<name> and state.<name>, computed and stored in float64 so that
the expected values carry no float32 rounding of their own (a float64 run matches them to ~1e-10). Metadata: fixture_version, model, width, num_classes,
method, distill, gamma, dense_resolution, attention.
"""
import copy
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(__file__))
import st_io  # noqa: E402
from methods import loss_and_logits, sample_draws  # noqa: E402
from models import Network, randomise, relu_margin, reset_relu_margin  # noqa: E402

FIXTURE_VERSION = "2"
OUT = os.path.join(os.path.dirname(__file__), "..", "fixtures")
CLASSES, M, N = 10, 4, 20
MARGIN = 3e-6  # see models.relu_margin

CASES = [  # (name, method, distill, attention)
    ("mixup", "mixup", False, "gap-relu"),
    ("manifold", "manifold", False, "gap-relu"),
    ("cutmix", "cutmix", False, "gap-relu"),
    ("multimix", "multimix", False, "gap-relu"),
    ("dense", "dense-multimix", False, "gap-relu"),
    ("dense_cam_softmax", "dense-multimix", False, "cam-softmax"),
    ("multimix_distill", "multimix", True, "gap-relu"),
    ("dense_distill", "dense-multimix", True, "gap-relu"),
]


def make(model, width, seed):
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    student, teacher = Network(model, width, CLASSES), Network(model, width, CLASSES)
    randomise(student, gen)
    randomise(teacher, gen)
    s0 = {k: v.clone() for k, v in student.state_dict().items()}
    t0 = {k: v.clone() for k, v in teacher.state_dict().items()}
    weights = {f"weights.{k}": v for k, v in s0.items()}
    weights.update({f"teacher.{k}": v for k, v in t0.items()})
    st_io.save(os.path.join(OUT, f"method_{model}_weights.safetensors"), weights,
               {"fixture_version": FIXTURE_VERSION, "model": model, "width": width, "num_classes": CLASSES})
    R = 4
    for name, method, distill, att in CASES:
        for attempt in range(1000):  # a batch whose ReLU inputs all keep MARGIN from the kink
            batch = {"images": torch.randn(M, 3, 32, 32, generator=gen),
                     "labels": torch.randint(0, CLASSES, (M,), generator=gen),
                     "images2": torch.randn(M, 3, 32, 32, generator=gen)}
            batch.update(sample_draws(method, M, N, R * R, 32, 32, gen))
            s64, t64 = copy.deepcopy(student).double(), copy.deepcopy(teacher).double()
            b64 = {k: v.double() if v.is_floating_point() else v for k, v in batch.items()}
            s64.train()
            reset_relu_margin()
            loss, logits = loss_and_logits(s64, t64 if distill else None, b64, method, CLASSES, 0.5, R, att)
            if relu_margin() > MARGIN:
                break
        loss.backward()
        out = dict(batch)
        out.update(logits=logits.detach(), loss=loss.detach())
        out.update({f"grad.{k}": p.grad for k, p in s64.named_parameters()})
        out.update({f"state.{k}": b for k, b in s64.named_buffers()})
        path = os.path.join(OUT, f"method_{model}_{name}.safetensors")
        st_io.save(path, out, {"fixture_version": FIXTURE_VERSION, "model": model, "width": width,
                               "num_classes": CLASSES, "method": method, "distill": int(distill), "gamma": 0.5,
                               "dense_resolution": R, "attention": att})
        print(f"wrote {path}: loss {loss.item():.6f}, ReLU margin {relu_margin():.2g} after {attempt + 1} batches")


if __name__ == "__main__":
    make("preactresnet18", 4, seed=3)
    make("wrn16_8", 1, seed=6)
