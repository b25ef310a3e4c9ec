"""PyTorch's training throughput for the same model and batch as apps/bench (the speed baseline).

  python3 scripts/bench_torch.py [--model preactresnet18] [--width 64] [--batch 128] [--steps 5]
      [--device cpu|cuda] [--channels-last] [--amp]   (--amp: CUDA autocast, with channels_last)
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "reference"))
from models import Network  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="preactresnet18")
    ap.add_argument("--width", type=int, default=0)
    ap.add_argument("--classes", type=int, default=100)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", action="store_true")
    ap.add_argument("--channels-last", action="store_true", help="NHWC tensors (our layout); implied by --amp")
    a = ap.parse_args()
    width = a.width or {"preactresnet18": 64, "wrn16_8": 8}[a.model]
    dev = torch.device(a.device)
    net = Network(a.model, width, a.classes).to(dev)
    x = torch.randn(a.batch, 3, 32, 32, device=dev)
    y = torch.randint(0, a.classes, (a.batch,), device=dev)
    channels_last = a.amp or a.channels_last
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    scaler = torch.cuda.amp.GradScaler(enabled=a.amp)

    def step():
        with torch.autocast("cuda", enabled=a.amp):
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    for _ in range(a.warmup):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    ips = a.steps * a.batch / (time.perf_counter() - t)
    mode = ("amp" if a.amp else "fp32") + ("+channels_last" if channels_last else "")
    print(f"pytorch {torch.__version__} {a.model} width {width} batch {a.batch} {a.device} {mode}: {ips:.1f} images/s")


if __name__ == "__main__":
    main()
