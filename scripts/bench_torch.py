"""PyTorch's training throughput for the same model and batch as apps/bench (the speed baseline).

  python3 scripts/bench_torch.py [--model preactresnet18] [--width 64] [--batch 128] [--steps 5]
      [--device cpu|cuda] [--mode fp32|amp|compile] [--channels-last] [--ours bench.json]

Modes: fp32, eager float32 (PyTorch's defaults: TF32 on for cuDNN convolutions, off for matmuls);
amp, eager autocast with channels_last (float16 with a gradient scaler, the figures BENCHMARKS.md
has used; --amp-dtype bfloat16 for bf16); compile, torch.compile of the model (fp32), when this
PyTorch has it and it works offline on the machine (otherwise one line says why, exit status 0).
--ours: apps/bench's --json output; prints our erm images/s over this one's as well.
"""
import argparse
import contextlib
import json
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
    ap.add_argument("--mode", default="fp32", choices=["fp32", "amp", "compile"])
    ap.add_argument("--amp", action="store_true", help="the same as --mode amp")
    ap.add_argument("--amp-dtype", default="float16", choices=["float16", "bfloat16"])
    ap.add_argument("--channels-last", action="store_true", help="NHWC tensors (our layout); implied by amp")
    ap.add_argument("--ours", default="", help="apps/bench --json output: also print our erm over this")
    a = ap.parse_args()
    mode = "amp" if a.amp else a.mode
    width = a.width or {"preactresnet18": 64, "wrn16_8": 8}[a.model]
    dev = torch.device(a.device)
    net = Network(a.model, width, a.classes).to(dev)
    x = torch.randn(a.batch, 3, 32, 32, device=dev)
    y = torch.randint(0, a.classes, (a.batch,), device=dev)
    channels_last = mode == "amp" or a.channels_last
    if channels_last:
        net = net.to(memory_format=torch.channels_last)
        x = x.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    amp_dtype = getattr(torch, a.amp_dtype)
    use_amp = mode == "amp" and dev.type == "cuda"
    scaler = torch.cuda.amp.GradScaler(enabled=use_amp and amp_dtype == torch.float16)
    model = net
    label = mode + ("+channels_last" if channels_last else "")
    if mode == "amp":
        label = f"amp {str(amp_dtype).replace('torch.', '')}+channels_last"
    if mode == "compile":
        if not hasattr(torch, "compile"):
            print(f"pytorch {torch.__version__}: torch.compile unavailable (this PyTorch has none)")
            return
        model = torch.compile(net)

    def step():
        with torch.autocast(dev.type, dtype=amp_dtype) if use_amp else contextlib.nullcontext():
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    try:
        for _ in range(a.warmup):
            step()
    except Exception as e:  # torch.compile needs a compiler toolchain (and triton on GPUs)
        if mode != "compile":
            raise
        print(f"pytorch {torch.__version__}: torch.compile failed here: {str(e).splitlines()[0][:200]}")
        return
    if dev.type == "cuda":
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    if dev.type == "cuda":
        torch.cuda.synchronize()
    ips = a.steps * a.batch / (time.perf_counter() - t)
    line = f"pytorch {torch.__version__} {a.model} width {width} batch {a.batch} {a.device} {label}: {ips:.1f} images/s"
    if a.ours:
        ours = next(r["images_per_s"] for r in json.load(open(a.ours)) if r["method"] == "erm")
        line += f"; ours erm {ours:.1f} images/s = {ours / ips:.2f}x"
    print(line)


if __name__ == "__main__":
    main()
