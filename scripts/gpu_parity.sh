#!/usr/bin/env bash
# The GPU part of the parity bisection, in one command (a few minutes on an H100): epoch 1 of
# train_cifar against its PyTorch twin, each step of the question answered by one scripts/parity.py
# table in $OUT/summary.md.
#
#   scripts/gpu_parity.sh DATA_DIR [SEEDS=0,1,2]
#
#  1. widths 64 and 16: ours in TF32 (--precision tf32), ours in exact float32 (--precision fp32),
#     PyTorch (TF32 as it trains);
#  2. one seed at width 16 over a whole epoch on the CPU and on the GPU (exact float32), and their
#     loss logs side by side: where the two devices part;
#  3. the initial weights swapped: both sides from PyTorch's seed-0 weights, then both from ours;
#  4. PyTorch trained on train_cifar's own data stream (train_reference.py --data-stream engine: its
#     epoch order and crops), against PyTorch on its own stream (step 1): on the CPU the seed-0 gap
#     followed the data stream (BENCHMARKS.md); several seeds tell luck from a systematic cause.
# DATA_DIR is an image folder DIR/{train,test}/<class>/*.jpg (see scripts/gpu_compare.sh for
# carrying it). Needs python3 with torch. Logs go to $OUT (default gpu_parity_out/).
set -uo pipefail
data="$(realpath "${1:?usage: scripts/gpu_parity.sh DATA_DIR [SEEDS]}")"
cd "$(dirname "$0")/.."
seeds="${2:-0,1,2}"
out="$(realpath -m "${OUT:-gpu_parity_out}")"
mkdir -p "$out"
source scripts/gpu_build.sh
gpu_build "$out" train_cifar || { echo "BUILD FAILED (see $out/build.log)"; tail -n 30 "$out/build.log"; exit 1; }
parity() { python3 scripts/parity.py --data "$data" --epochs 1 --milestones 8,15,23 --ours build-gpu/train_cifar "$@"; }
: > "$out/summary.md"

for width in 64 16; do
  parity --device cuda --width $width --seeds "$seeds" --parallel 6 --threads 2 "--ours-args=--precision tf32" \
    --out "$out/w${width}_tf32" \
    | tee -a "$out/summary.md"
  # the same PyTorch runs against ours in exact float32: parity.py reuses their finished logs
  mkdir -p "$out/w${width}_fp32" && cp "$out/w${width}_tf32"/torch_s*.log "$out/w${width}_fp32/"
  parity --device cuda --width $width --seeds "$seeds" --parallel 6 --threads 2 "--ours-args=--precision fp32" \
    --out "$out/w${width}_fp32" | tee -a "$out/summary.md"
done

# one seed, both devices, exact float32 on the GPU: the CPU run uses every core
seed0="${seeds%%,*}"
parity --device cpu --width 16 --seeds "$seed0" --sides ours --threads "$(nproc)" --out "$out/w16_cpu" >/dev/null
python3 - "$out/w16_cpu/ours_s$seed0.loss.jsonl" "$out/w16_fp32/ours_s$seed0.loss.jsonl" <<'EOF' | tee -a "$out/summary.md"
import json, sys
cpu, gpu = ([json.loads(l) for l in open(p)] for p in sys.argv[1:])
diffs = [(c["step"], c["loss"], g["loss"]) for c, g in zip(cpu, gpu)]
far = [d for d in diffs if abs(d[1] - d[2]) > 0.01]
print(f"\nCPU vs GPU (width 16, exact float32), {len(diffs)} logged windows: max |difference| "
      f"{max(abs(c - g) for _, c, g in diffs):.4f}; first window apart by > 0.01: {far[0][0] if far else 'none'}")
for step, c, g in diffs[:: max(1, len(diffs) // 10)]:
    print(f"  step {step:4d}: cpu {c:.4f}  gpu {g:.4f}")
EOF

# the initial weights swapped: each side's seed-0 weights given to both sides
python3 tests/reference/train_reference.py --data "$data" --epochs 0 --save-init "$out/torch_init.safetensors" >/dev/null
build-gpu/train_cifar --data "$data" --dataset folder --epochs 1 --limit-train 128 --limit-test 1 --device cpu \
  --save-init "$out/ours_init.safetensors" --out "$out/init_tmp" >/dev/null
for side in torch ours; do
  echo -e "\nboth sides from $side's seed-0 weights:" | tee -a "$out/summary.md"
  parity --device cuda --width 64 --seeds "$seeds" --parallel 6 --threads 2 --init "$out/${side}_init.safetensors" \
    "--ours-args=--precision tf32" --out "$out/init_$side" | tee -a "$out/summary.md"
done
echo -e "\nPyTorch on train_cifar's data stream (compare with the PyTorch rows of width 64 above):" | tee -a "$out/summary.md"
parity --device cuda --width 64 --seeds "$seeds" --sides torch --parallel 6 --threads 2 --torch-args="--data-stream engine" \
  --out "$out/stream_engine" | tee -a "$out/summary.md"
echo "summary: $out/summary.md"
