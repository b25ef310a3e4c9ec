# Sourced by the GPU scripts (gpu_check.sh, gpu_compare.sh): configures build-gpu/ for the GPU of this
# machine and builds the given targets (all when none). Without the Debian -dev packages it unpacks
# .debs/ (scripts/fetch_debs.sh) into a local prefix and exports LD_LIBRARY_PATH to match.
#   gpu_build LOG_DIR [TARGET...]    -> 0 when built; logs in LOG_DIR/{configure,build}.log
gpu_build() {
  local logs="$1"; shift
  local arch
  arch=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d '.')
  local cmake_args=(-DMM_CUDA=ON "-DMM_CUDA_ARCHS=$arch")
  if [ -d .debs ] && ! dpkg-query -W -f='${Status}' libstb-dev libopenblas-openmp-dev libfmt-dev libgtest-dev 2>/dev/null |
                       grep -q "install ok installed.*install ok installed.*install ok installed.*install ok installed"; then
    local prefix="$PWD/.deps" f
    for f in .debs/*.deb; do dpkg -x "$f" "$prefix"; done
    local lib="$prefix/usr/lib/x86_64-linux-gnu"
    cmake_args+=("-DCMAKE_PREFIX_PATH=$prefix/usr" "-DCMAKE_INCLUDE_PATH=$prefix/usr/include;$prefix/usr/include/x86_64-linux-gnu"
                 "-DCMAKE_LIBRARY_PATH=$lib;$lib/openblas-openmp")
    export LD_LIBRARY_PATH="$lib:$lib/openblas-openmp:${LD_LIBRARY_PATH:-}"
    echo "dependencies: unpacked .debs into $prefix"
  fi
  # NCCL (data-parallel GPU runs): the CUDA toolkit's, else the nvidia-nccl wheel's, when python has it
  local nccl_root
  nccl_root=$(python3 -c 'import nvidia.nccl as n; print(list(n.__path__)[0])' 2>/dev/null) &&
    cmake_args+=("-DMM_NCCL_ROOT=$nccl_root") && export LD_LIBRARY_PATH="$nccl_root/lib:${LD_LIBRARY_PATH:-}"
  local generator=() targets=()
  command -v ninja >/dev/null && generator=(-G Ninja)
  [ $# -gt 0 ] && targets=(--target "$@")
  cmake -S . -B build-gpu "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "${cmake_args[@]}" > "$logs/configure.log" 2>&1 &&
    cmake --build build-gpu -j "$(nproc)" "${targets[@]}" > "$logs/build.log" 2>&1
}
