#!/usr/bin/env python3
"""Whole runs of train_cifar against its PyTorch twin (tests/reference/train_reference.py), K seeds of
each, on the CPU or the GPU; prints each side's mean +- std of the last epoch's train loss and top-1
and the difference of the means with its 95 % confidence interval (Welch's t).

  python3 scripts/parity.py --data cifar10-jpeg --seeds 0,1 --epochs 1 --width 16
  python3 scripts/parity.py --data DIR --device cuda --seeds 0,1,2 --epochs 30 --parallel 4

A run whose log already ends with its last epoch is not run again, so an interrupted comparison
goes on where it stopped, and --summarise only reads the logs. Each run leaves OUT/SIDE_sSEED.log
and OUT/SIDE_sSEED.loss.jsonl (the mean loss of every --log-every steps, the same format on both
sides). The PyTorch side needs the python that runs this script to have torch; train_cifar needs
nothing but its build.
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# Both programs print "epoch E/N: train loss L, ... top-1 A% ..." after each epoch.
EPOCH_LINE = re.compile(r"^epoch (\d+)/(\d+): train loss ([0-9.naif]+),.*?top-1 ([0-9.]+)%", re.M)


def command(side, seed, a, out):
    log_args = ["--loss-log", os.path.join(out, f"{side}_s{seed}.loss.jsonl"), "--log-every", str(a.log_every)]
    common = ["--data", a.data, "--method", a.method, "--model", a.model, "--width", str(a.width),
              "--epochs", str(a.epochs), "--seed", str(seed)] + (["--milestones", cut_milestones(a)] if a.milestones else [])
    init = [] if not a.init else ["--init", a.init]
    if side == "ours":
        return [a.ours, "--dataset", "folder", "--overwrite", "--device", a.device, "--out", os.path.join(out, f"ours_s{seed}"),
                "--log-every", str(a.log_every)] + common + init + log_args[:2] + a.ours_args.split()
    return [sys.executable, os.path.join(ROOT, "tests", "reference", "train_reference.py"), "--threads",
            str(a.threads)] + common + init + log_args + a.torch_args.split()


def cut_milestones(a):
    """The milestones of a longer recipe cut to --epochs: those after the last epoch change nothing,
    and train_cifar refuses them (if none is left, one at the last epoch, which changes nothing)."""
    kept = [m for m in a.milestones.split(",") if int(m) <= a.epochs]
    return ",".join(kept or [str(a.epochs)])


def last_epoch(log_path):
    """(epoch, epochs, train loss, top-1) of the last epoch line of a log, or None."""
    if not os.path.exists(log_path):
        return None
    lines = EPOCH_LINE.findall(open(log_path, errors="replace").read())
    if not lines:
        return None
    e, n, loss, top1 = lines[-1]
    return int(e), int(n), float(loss), float(top1)


def run(job):
    side, seed, a, out = job
    log = os.path.join(out, f"{side}_s{seed}.log")
    done = last_epoch(log)
    if done and done[0] == done[1] == a.epochs:
        return
    env = dict(os.environ, PYTHONUNBUFFERED="1", OMP_NUM_THREADS=str(a.threads))
    with open(log, "w") as f:
        rc = subprocess.call(command(side, seed, a, out), stdout=f, stderr=subprocess.STDOUT, env=env)
    if rc != 0:
        print(f"{side} seed {seed} failed (exit {rc}); see {log}", flush=True)


def t_quantile(p, df):
    """The p-quantile of Student's t with df degrees of freedom (df may be fractional): the CDF by
    Simpson's rule on the density, inverted by bisection. Exact enough for a confidence interval."""
    def density(x):
        return math.exp(math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
                        - (df + 1) / 2 * math.log1p(x * x / df))

    def cdf(t, steps=2000):
        h = t / steps
        s = density(0) + density(t) + sum((4 if k % 2 else 2) * density(k * h) for k in range(1, steps))
        return 0.5 + s * h / 3

    lo, hi = 0.0, 1000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return (lo + hi) / 2


def welch(a, b):
    """Mean of a minus mean of b and the half-width of its 95 % confidence interval (Welch)."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    if va + vb == 0:
        return statistics.mean(a) - statistics.mean(b), 0.0
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return statistics.mean(a) - statistics.mean(b), t_quantile(0.975, df) * math.sqrt(va + vb)


def summarise(a, out):
    results = {}
    for side in a.sides:
        rows = [last_epoch(os.path.join(out, f"{side}_s{s}.log")) for s in a.seeds]
        results[side] = [r for r in rows if r and r[0] == a.epochs]
    title = (f"{a.model} width {a.width or 'full'}, {a.method}, epoch {a.epochs}, device {a.device}, "
             f"seeds {','.join(map(str, a.seeds))}")
    lines = [f"# {title}", "", "| side | runs | train loss | top-1 % |", "| --- | --- | --- | --- |"]

    def spread(values, digits):
        if not values:
            return "-"
        mean = statistics.mean(values)
        sd = statistics.stdev(values) if len(values) > 1 else float("nan")
        return f"{mean:.{digits}f} ± {sd:.{digits}f} ({', '.join(f'{v:.{digits}f}' for v in values)})"

    for side, rows in results.items():
        lines.append(f"| {side} | {len(rows)} | {spread([r[2] for r in rows], 4)} | {spread([r[3] for r in rows], 2)} |")
    if len(a.sides) == 2 and all(len(results[s]) >= 2 for s in a.sides):
        x, y = results[a.sides[0]], results[a.sides[1]]
        for name, k, digits in (("train loss", 2, 4), ("top-1", 3, 2)):
            d, h = welch([r[k] for r in x], [r[k] for r in y])
            lines.append(f"\n{a.sides[0]} - {a.sides[1]}, {name}: {d:+.{digits}f} "
                         f"(95 % CI {d - h:+.{digits}f} to {d + h:+.{digits}f})")
    text = "\n".join(lines) + "\n"
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)
    print(text, end="")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="image folder DIR/{train,test}/<class>/*.jpg")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--sides", default="ours,torch", help="ours, torch or both")
    ap.add_argument("--model", default="preactresnet18")
    ap.add_argument("--width", type=int, default=0, help="0: full width")
    ap.add_argument("--method", default="erm", choices=["erm", "multimix"])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--milestones", default="", help="lr x 0.1 at these epochs (default: both sides' 25/50/75 %%)")
    ap.add_argument("--init", default="", help="both sides start from these weights")
    ap.add_argument("--log-every", type=int, default=20)
    ap.add_argument("--parallel", type=int, default=1, help="runs at a time")
    ap.add_argument("--threads", type=int, default=2, help="CPU threads per run")
    ap.add_argument("--ours", default=os.path.join(ROOT, "build", "train_cifar"))
    ap.add_argument("--ours-args", default="", help="more flags for train_cifar, e.g. '--precision fp32'")
    ap.add_argument("--torch-args", default="", help="more flags for train_reference.py")
    ap.add_argument("--out", default="parity_out")
    ap.add_argument("--summarise", action="store_true", help="only read the logs in --out")
    a = ap.parse_args()
    a.seeds = [int(s) for s in a.seeds.split(",")]
    a.sides = a.sides.split(",")
    a.data = os.path.abspath(a.data)
    if a.init:
        a.init = os.path.abspath(a.init)
    os.makedirs(a.out, exist_ok=True)
    if not a.summarise:
        jobs = [(side, seed, a, a.out) for seed in a.seeds for side in a.sides]  # the sides alternate
        with ThreadPoolExecutor(a.parallel) as pool:
            list(pool.map(run, jobs))
    summarise(a, a.out)


if __name__ == "__main__":
    main()
