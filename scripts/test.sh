#!/usr/bin/env bash
# The test command: installs missing packages, builds (with the CUDA backend whenever nvcc is
# found), and runs every test. Tests labelled `cuda` skip with a message when there is no GPU;
# the `slow` end-to-end tests skip when ../shared/data is absent.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh "$@"
cd build
ctest --output-on-failure --timeout 1500 -j 2
