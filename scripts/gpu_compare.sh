#!/usr/bin/env bash
# Whole training runs of train_cifar against its PyTorch twin (tests/reference/train_reference.py):
# same recipe (SPEC §2, shortened), same data, several seeds of each, all side by side on one GPU.
# Prints the final and best top-1 of every run. Needs python3 with torch.
#
#   scripts/gpu_compare.sh DATA_DIR [METHOD=erm|multimix] [SEEDS="0 1"] [EPOCHS=30]
#
# DATA_DIR is an image folder DIR/{train,test}/<class>/*.jpg, e.g. ../shared/data/cifar10-jpeg. To take
# it to a GPU machine, pack it (about 20 MB: `tar czf .gpu_data/c10.tar.gz -C ../shared/data
# cifar10-jpeg`) and unpack it there first. On an H100 four full-width R-18 runs of 30 epochs side
# by side take about 9 minutes. Logs go to $OUT (default gpu_compare_out/); checkpoints to
# $TRAIN_DIR (default /tmp/gpu_compare). RUN_LIMIT (seconds, default 540) stops a run that is late.
set -uo pipefail
data="$(realpath "${1:?usage: scripts/gpu_compare.sh DATA_DIR [METHOD] [SEEDS] [EPOCHS]}")"
cd "$(dirname "$0")/.."
method="${2:-erm}" seeds="${3:-0 1}" epochs="${4:-30}"
out="${OUT:-gpu_compare_out}" train_dir="${TRAIN_DIR:-/tmp/gpu_compare}"
mkdir -p "$out" "$train_dir"
source scripts/gpu_build.sh
gpu_build "$out" train_cifar || { echo "BUILD FAILED (see $out/build.log)"; tail -n 30 "$out/build.log"; exit 1; }

for seed in $seeds; do
  OMP_NUM_THREADS=4 timeout "${RUN_LIMIT:-540}" build-gpu/train_cifar --data "$data" --dataset folder --epochs "$epochs" \
    --method "$method" --seed "$seed" --device cuda --out "$train_dir/${method}_s$seed" --log-every 1000 \
    > "$out/ours_${method}_s$seed.log" 2>&1 &
  (cd tests/reference && PYTHONUNBUFFERED=1 timeout "${RUN_LIMIT:-540}" python3 train_reference.py --data "$data" \
    --method "$method" --seed "$seed" --epochs "$epochs") > "$out/torch_${method}_s$seed.log" 2>&1 &
done
wait

# "epoch E/N: ... top-1 A% ..." lines of both programs -> epochs done, final and best top-1
summarise() {
  grep -E "^epoch [0-9]+/[0-9]+:" "$1" | sed -E 's/^epoch ([0-9]+)\/[0-9]+:.*top-1 ([0-9.]+)%.*/\1 \2/' |
    awk -v run="$2" '{ e = $1; last = $2; if ($2 > best) best = $2 }
                     END { printf "%-28s epochs %3s  final top-1 %6s %%  best %6s %%\n", run, e, last, best }'
}
for seed in $seeds; do
  summarise "$out/ours_${method}_s$seed.log" "train_cifar $method seed $seed"
  summarise "$out/torch_${method}_s$seed.log" "PyTorch $method seed $seed"
done | tee "$out/summary.txt"
