#!/usr/bin/env bash
# The main job on a fresh machine: installs what is missing (including Debian's Fashion-MNIST, the
# offline default dataset), builds, and trains a reduced-width PreAct-ResNet-18 for two short epochs
# on the CPU (a few minutes on 2 cores). With ./data/cifar-10-batches-bin present (scripts/get_data.sh)
# --dataset auto picks CIFAR-10 instead. Extra arguments go to train_cifar.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
if ! dpkg-query -W -f='${Status}' dataset-fashion-mnist 2>/dev/null | grep -q "install ok installed"; then
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq  # a fresh machine may have no package lists yet
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends dataset-fashion-mnist
fi
TARGETS=train_cifar scripts/build.sh  # only what runs here: the tests build with scripts/test.sh
# --overwrite: this demo starts afresh each time (a run of your own would rather --resume)
build/train_cifar --dataset auto --model preactresnet18 --width 8 --epochs 2 --milestones 1 \
  --limit-train 12000 --limit-test 2000 --device auto --out runs/default --overwrite "$@"
