#!/usr/bin/env bash
# CPU scaling of data-parallel training (docs/distributed.md): the same cores used by one process
# with T threads, or by K ranks (mpirun) of T/K threads each, in alternating rounds; prints each
# method's median images/s of both, their ratio, and the time a 2-rank step waits for the gradient
# average. The K ranks each take --batch-size, so set BATCH to the per-rank batch and the single
# process gets K x BATCH: both train K x BATCH images per step.
#
#   scripts/bench_ranks.sh [K=2] [T=2]     (env: WIDTH=16 BATCH=64 STEPS=5 ROUNDS=3 NS=1000 BUILD=build)
set -euo pipefail
cd "$(dirname "$0")/.."
K=${1:-2} T=${2:-2}
build=${BUILD:-build} out=$(mktemp -d)
common=(--width "${WIDTH:-16}" --steps "${STEPS:-5}" --warmup 1 --rounds 1 --ns "${NS:-1000}")
for round in $(seq "${ROUNDS:-3}"); do
  OMP_NUM_THREADS=$T "$build/bench" "${common[@]}" --batch-size $((K * ${BATCH:-64})) --json "$out/one_$round.json" >/dev/null 2>&1
  mpirun -np "$K" --allow-run-as-root --oversubscribe -x OMP_NUM_THREADS=$((T / K > 0 ? T / K : 1)) \
    "$build/bench" "${common[@]}" --batch-size "${BATCH:-64}" --json "$out/ranks_$round.json" >/dev/null 2>&1
  echo "round $round done" >&2
done
python3 - "$out" "$K" "$T" <<'PY'
import glob, json, statistics, sys
out, K, T = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
def medians(prefix, key):
    runs = [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{prefix}_*.json"))]
    return {r["method"]: statistics.median(run[i][key] for run in runs) for i, r in enumerate(runs[0])}, len(runs)
one, n = medians("one", "images_per_s")
ranks, _ = medians("ranks", "images_per_s")
wait, _ = medians("ranks", "averaging_ms_per_step")
print(f"median of {n} alternating rounds; images/s of all ranks together")
print(f"| method | 1 process x {T} threads | {K} ranks x {max(T // K, 1)} thread(s) | ratio | averaging ms/step ({K} ranks) |")
print("| --- | --- | --- | --- | --- |")
for m in one:
    print(f"| {m} | {one[m]:.1f} | {ranks[m]:.1f} | {ranks[m] / one[m]:.2f} | {wait[m]:.1f} |")
PY
rm -rf "$out"
