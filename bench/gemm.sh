#!/bin/sh
# Reruns the GEMM library comparison of docs/PERFORMANCE.md: records the machine and its load
# before and after (other work on the machine skews the figures), then runs bench_gemm.
#   bench/gemm.sh [path/to/bench_gemm] [bench_gemm options, e.g. --reps=7 --filter=T4096]
set -e
BIN=${1:-build/bench_gemm}
[ $# -gt 0 ] && shift
echo "# $(date -u '+%Y-%m-%d %H:%M UTC') load before: $(cut -d' ' -f1-3 /proc/loadavg)"
lscpu | grep -E '^Model name|^CPU\(s\)|^Thread|^L2|^L3' | sed 's/^/# /'
OMP_NUM_THREADS=2 "$BIN" --threads=2 "$@"
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
