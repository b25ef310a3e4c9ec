#!/usr/bin/env bash
# Whole training runs of train_cifar against its PyTorch twin (tests/reference/train_reference.py) on
# one GPU: builds for it, then runs scripts/parity.py (K seeds of each side, several side by side)
# and prints each side's mean ± std and the difference with its 95 % confidence interval.
# Needs python3 with torch.
#
#   scripts/gpu_compare.sh DATA_DIR [METHOD=erm|multimix] [SEEDS="0,1"] [EPOCHS=30] [more parity.py flags]
#
# DATA_DIR is an image folder DIR/{train,test}/<class>/*.jpg, e.g. the JPEG copy of CIFAR-10. To take
# it to a GPU machine, pack it (about 20 MB: `tar czf .gpu_data/c10.tar.gz -C DATA_PARENT cifar10-jpeg`)
# and unpack it there first. On an H100 four full-width R-18 runs of 30 epochs side by side take
# about 9 minutes. Logs and summary.md go to $OUT (default gpu_compare_out/). PARALLEL runs share the
# GPU at a time (default 4). Ours trains in its default precision (bf16 on a GPU of compute
# capability 8.0+, models/precision.h); add "--ours-args=--precision tf32" for PyTorch's TF32.
set -uo pipefail
data="$(realpath "${1:?usage: scripts/gpu_compare.sh DATA_DIR [METHOD] [SEEDS] [EPOCHS] [flags]}")"
cd "$(dirname "$0")/.."
method="${2:-erm}" seeds="${3:-0,1}" epochs="${4:-30}"
shift $(( $# < 4 ? $# : 4 ))
out="${OUT:-gpu_compare_out}"
mkdir -p "$out"
source scripts/gpu_build.sh
gpu_build "$out" train_cifar || { echo "BUILD FAILED (see $out/build.log)"; tail -n 30 "$out/build.log"; exit 1; }
python3 scripts/parity.py --data "$data" --device cuda --method "$method" --seeds "${seeds// /,}" --epochs "$epochs" \
  --parallel "${PARALLEL:-4}" --threads 4 --ours build-gpu/train_cifar --out "$out/$method" "$@"
