#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the build and tests need, skipping what is already there.
# Needs root (or sudo) only when something is missing. `install_deps.sh sanitizers` adds what
# scripts/check_sanitizers.sh needs: clang with its sanitizer and libFuzzer runtimes, and LLVM's OpenMP.
set -euo pipefail
packages=(cmake ninja-build g++ libopenblas-openmp-dev libfmt-dev libstb-dev libgtest-dev zlib1g-dev libopenmpi-dev openmpi-bin libdnnl-dev)
[ "${1:-}" = sanitizers ] && packages+=(clang libclang-rt-dev libomp-dev)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "installing: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
