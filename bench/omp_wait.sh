#!/usr/bin/env bash
# How long OpenMP's idle threads spin before they sleep, side by side on a quiet machine and on
# one where another program holds a core (a laptop with a browser open): libgomp's default,
# OMP_WAIT_POLICY=passive (sleep at once) and GOMP_SPINCOUNT=1000 (spin briefly). Measures
# `cubist generate` end to end (the bundled model, 17x64x64, 30 Heun steps) and one DiT training
# step (bench_dit, configs/dit/shapes.json, 8 clips of 17x64x64 packed: 640 tokens). libgomp
# reads these variables when it loads, so they are set for each process, not by cubist itself.
#
#   bench/omp_wait.sh [--runs 3] [--steps 30]     (docs/PERFORMANCE.md, "OpenMP's idle threads")
set -euo pipefail
cd "$(dirname "$0")/.."
runs=3 steps=30
while [[ $# -gt 0 ]]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    *) echo "usage: bench/omp_wait.sh [--runs N] [--steps S]" >&2; exit 2 ;;
  esac
done
cubist="${CUBIST:-build/cubist}" bench_dit="${BENCH_DIT:-build/bench_dit}"
tmp=$(mktemp -d)
busy=""
cleanup() { [[ -n "$busy" ]] && kill "$busy" 2> /dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

# Median seconds of `runs` generations, then median ms of `runs` training steps, under env "$@".
measure() {
  local i
  for ((i = 0; i < runs; i++)); do
    local t0 t1
    t0=$(date +%s.%N)
    env "$@" OMP_NUM_THREADS=2 "$cubist" generate "a red ball bouncing" --size 64x64 --frames 17 \
      --steps "$steps" --seed 1 -o "$tmp/g.mp4" > /dev/null 2>&1
    t1=$(date +%s.%N)
    echo "$t0 $t1" | awk '{printf "%.3f\n", $2 - $1}'
  done | median | tr '\n' ' '
  for ((i = 0; i < runs; i++)); do
    env "$@" OMP_NUM_THREADS=2 "$bench_dit" configs/dit/shapes.json 16,5,8,8 2 --batch 8 2> /dev/null |
      python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["train_step_median_ms"])'
  done | median
}

echo "| machine | OpenMP setting | generate 17x64x64, $steps steps, s | training step, 640 tokens, ms |"
echo "|---|---|---|---|"
for load in quiet "one core busy"; do
  if [[ "$load" != quiet ]]; then
    sh -c 'while :; do :; done' &
    busy=$!
  fi
  for setting in "default" "OMP_WAIT_POLICY=passive" "GOMP_SPINCOUNT=1000"; do
    env_args=()
    [[ "$setting" != default ]] && env_args=("$setting")
    read -r gen step < <(measure "${env_args[@]}")
    echo "| $load | $setting | $gen | $step |"
  done
done
