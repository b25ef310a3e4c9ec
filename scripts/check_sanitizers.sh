#!/usr/bin/env bash
# The checks CI runs after the test command: one clang build in build-san/ with AddressSanitizer
# (LeakSanitizer included) and UndefinedBehaviorSanitizer, any finding fatal, and the libFuzzer
# targets; then every CPU test under the sanitizers (train_cifar's kill -9, Ctrl-C and resume tests
# among them), then each fuzz target from its committed corpus fuzz/corpus/<target>/ (below). A
# crash leaves its input in build-san/fuzz-crash-*: add it to the corpus with the fix, so that
# every later run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh sanitizers
# Without MPI: OpenMPI's own allocations at MPI_Init would be reported as leaks; the 2-rank tests
# run in scripts/test.sh's build. Without oneDNN: Debian's is built on GNU OpenMP and clang's
# programs use LLVM's (two OpenMP runtimes in one process); its convolutions are compared with the
# im2col reference in scripts/test.sh's build (tests/test_cpu_conv.cpp).
CC=clang CXX=clang++ cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" -DMM_CUDA=OFF -DMM_MPI=OFF -DMM_ONEDNN=OFF -DMM_SANITIZE=ON -DMM_FUZZ=ON
cmake --build build-san -j "$(nproc)"

# LeakSanitizer reports memory no pointer reaches at exit; fast_unwind_on_malloc=0 gives whole
# stacks (OpenMP and OpenBLAS frames have no frame pointers)
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$PWD/scripts/lsan.supp:print_suppressions=0
(cd build-san && ctest --output-on-failure --timeout 1500 -j 2 -LE slow)

# CI fuzzes deterministically: a fixed seed and a fixed number of inputs per target (about a minute
# each on a 2-core machine), so that a commit passes or fails the same way every time. FUZZ_SECONDS=N
# explores instead (a random seed, N seconds per target): add what it finds to fuzz/corpus/ with
# its fix, and CI replays it from then on.
declare -A runs=([safetensors]=90000 [cifar]=15000 [image_folder]=20000 [flags]=200000)
for target in safetensors cifar image_folder flags; do
  found=build-san/fuzz-found/$target
  if [ -n "${FUZZ_SECONDS:-}" ]; then
    budget=(-max_total_time="$FUZZ_SECONDS")
  else
    rm -rf "$found"  # new inputs of an earlier run would change what this one tries
    budget=(-seed=1 -runs="${runs[$target]}")
  fi
  mkdir -p "$found"
  echo "fuzz_$target: ${budget[*]} from fuzz/corpus/$target"
  log=build-san/fuzz-$target.log
  if ! build-san/fuzz/fuzz_$target "${budget[@]}" -timeout=10 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix=build-san/fuzz-crash-$target- "$found" fuzz/corpus/$target > "$log" 2>&1; then
    tail -n 40 "$log"
    echo "fuzz_$target found a crash: its input is build-san/fuzz-crash-$target-*"
    exit 1
  fi
  grep -E '^stat::number_of_executed_units|^Done' "$log" || tail -n 3 "$log"
done
echo "sanitizers and fuzzing: clean"
