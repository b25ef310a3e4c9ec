#!/usr/bin/env bash
# Run on a machine with apt (Debian bookworm): downloads the .deb files the build needs into
# .debs/ (git-ignored), for a GPU machine without network or -dev packages. scripts/gpu_check.sh
# unpacks them into a local prefix (dpkg -x) when the system lacks them.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .debs
cd .debs
apt-get download libopenblas-openmp-dev libopenblas0-openmp libgfortran5 libfmt-dev libfmt9 \
  libgtest-dev libstb-dev libstb0 zlib1g-dev
ls -1 *.deb
