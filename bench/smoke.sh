#!/usr/bin/env bash
# Every benchmark that finishes in seconds when asked for little, run so, so that the benchmarks
# keep working as the command line and the file formats change (ctest's bench_smoke; about 40 s
# on 2 cores). The numbers mean nothing at these sizes; what is checked is that each runs to its
# end and prints its summary. Left out for their time or their PyTorch training: gemm.sh,
# dit_compare.sh, heldout_loss.sh (256 clips to encode), vae_sweep.py; and omp_wait.sh, which
# holds a core busy on purpose and would slow the tests that run beside it.
#
#   bench/smoke.sh      ($CUBIST and $BENCH_VAE name other builds, default build/; $PYTHON
#                        another Python with NumPy, default Debian's /usr/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/.."
export CUBIST="${CUBIST:-$PWD/build/cubist}"
bench_vae="${BENCH_VAE:-build/bench_vae}"
python="${PYTHON:-/usr/bin/python3}"  # scripts/setup.sh installs NumPy for Debian's Python
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Runs NAME's command, showing its output, and fails unless that output holds PATTERN.
check() {
  local name="$1" pattern="$2"
  shift 2
  echo "== $name: $*"
  "$@" > "$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log"; echo "$name: failed"; exit 1; }
  grep -q -- "$pattern" "$tmp/$name.log" || {
    cat "$tmp/$name.log"
    echo "$name: no \"$pattern\" in its output"
    exit 1
  }
}

check edit_eval '"new_found"' \
  "$python" bench/edit_eval.py --clips 1 --methods flowedit:1 --steps 2 --out "$tmp/edit"
check prompt_modes_eval '"edit_others_kept"' \
  "$python" bench/prompt_modes_eval.py --clips 1 --steps 2 --out "$tmp/modes"
check seam_eval '"motion_at_seam"' "$python" bench/seam_eval.py --clips 1 --out "$tmp/seam"
check motion_eval '"found_as_asked"' "$python" bench/motion_eval.py --scenes 1 --out "$tmp/motion"
check vae_tiling_eval '"psnr_vs_whole_db"' \
  "$python" bench/vae_tiling_eval.py --clips 1 --size 64x64 --frames 5 --tiles 32 --out "$tmp/tiles"
check generation_eval '"clip_accuracy"' \
  bench/generation_eval.sh --clips 1 --steps 2 --out "$tmp/generation"
check vae_tiling_memory 'decode --tile 32' bench/vae_tiling_memory.sh --size 64x64 --tiles "0 32"
check accumulate '| 2 |' \
  bench/accumulate.sh --size 160x96 --seconds 3 --max-side 64 --batch 2 --parts "1 2" --steps 1
check bench_vae 'refined 2 steps' "$bench_vae" --model models/shapes/vae.safetensors --clips 1 \
  --sizes 64x64 --frames 9 --reps 1 --refine 2 --refine-chunk 1 --refine-lookahead 0
if command -v mpirun > /dev/null; then
  check data_parallel 'largest loss difference' \
    bench/data_parallel.sh --steps 6 --processes 2 --batches 2
  check balance_shares 'clips dealt in order' \
    bench/balance_shares.sh --steps 6 --batch 2 --processes 2 --reps 1
  check balance_shares_vae "clips dealt in order" \
    bench/balance_shares.sh --trainer vae --steps 6 --batch 2 --processes 2 --reps 1
fi
echo "bench/smoke.sh: every benchmark ran"
