#!/usr/bin/env python3
"""Our erm training step against PyTorch's on the CPU, same model, batch and threads, at several
widths, in alternating rounds (ours, PyTorch NCHW, PyTorch channels_last, ours, ...), each one's
median and our ratio to the faster PyTorch (the CPU-speed issue's table). PyTorch's default NCHW
layout is its usual eager baseline; channels_last is our layout and, on this CPU, PyTorch's faster
one at large widths. Extra arguments after `--` go to bench (e.g. -- --cpu-conv gemm).
Needs the python that runs it to have torch (Debian: python3-torch).

  python3 scripts/bench_vs_torch.py [--bench build/bench] [--widths 8,16,64] [--threads 2] [--rounds 3]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ours(a, width, steps):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.json")
        subprocess.run([a.bench, "--width", str(width), "--batch-size", str(a.batch), "--steps", str(steps),
                        "--warmup", "2", "--rounds", "1", "--erm-only", "--json", path] + a.bench_args,
                       check=True, capture_output=True, env=dict(os.environ, OMP_NUM_THREADS=str(a.threads)))
        return json.load(open(path))[0]["images_per_s"]


def pytorch(a, width, steps, channels_last):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "bench_torch.py"), "--width", str(width),
                          "--batch", str(a.batch), "--steps", str(steps), "--warmup", "2", "--device", "cpu"] +
                         (["--channels-last"] if channels_last else []),
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, OMP_NUM_THREADS=str(a.threads))).stdout
    return float(re.search(r"([0-9.]+) images/s", out).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bench", default=os.path.join(ROOT, "build", "bench"))
    ap.add_argument("--widths", default="8,16,64")
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--steps", default="", help="timed steps per width (default: 8 below width 32, else 4)")
    ap.add_argument("bench_args", nargs="*", help="after --: passed to bench")
    a = ap.parse_args()
    widths = [int(w) for w in a.widths.split(",")]
    steps = {w: int(a.steps) if a.steps else (8 if w < 32 else 4) for w in widths}
    results = {w: {"ours": [], "nchw": [], "nhwc": []} for w in widths}
    for r in range(a.rounds):
        for w in widths:
            results[w]["ours"].append(ours(a, w, steps[w]))
            results[w]["nchw"].append(pytorch(a, w, steps[w], False))
            results[w]["nhwc"].append(pytorch(a, w, steps[w], True))
            print(f"round {r + 1} width {w}: ours {results[w]['ours'][-1]:.1f}, PyTorch NCHW {results[w]['nchw'][-1]:.1f}, "
                  f"channels_last {results[w]['nhwc'][-1]:.1f} images/s", file=sys.stderr, flush=True)
    import torch
    print(f"PreAct-ResNet-18, erm step, batch {a.batch}, {a.threads} threads, median of {a.rounds} alternating "
          f"rounds; PyTorch {torch.__version__}; bench {' '.join(a.bench_args) or '(defaults)'}")
    print("| width | ours img/s | PyTorch NCHW img/s | PyTorch channels_last img/s | ours / faster PyTorch |")
    print("| --- | --- | --- | --- | --- |")
    for w in widths:
        o, n, c = (statistics.median(results[w][k]) for k in ("ours", "nchw", "nhwc"))
        print(f"| {w} | {o:.1f} | {n:.1f} | {c:.1f} | {o / max(n, c):.2f} |")


if __name__ == "__main__":
    main()
