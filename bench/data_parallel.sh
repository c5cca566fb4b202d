#!/usr/bin/env bash
# Data-parallel training against one process on the same machine (docs/PERFORMANCE.md): the
# bundled transformer's config (configs/dit/shapes.json, 9.4 M parameters) trained for STEPS
# steps on Shapes World latents, once as one process with every core's thread, once as
# `mpirun -np N` with the cores shared out, at each batch size. Prints seconds per step and
# tokens/s (steps 6 to STEPS, after the warm-up), and the largest loss difference between the
# two runs (they take the same steps, up to the order of float sums), and each run's peak memory
# (the largest process's resident set).
#
#   bench/data_parallel.sh [--steps 20] [--processes 2] [--batches "8 32"] [--hidden H --depth D]
#
# The processes keep the optimizer's moments sharded (train.shard_optimizer, the default); the
# script also runs them unsharded, each holding all of the moments, as before 2026-12-06, and
# with each step's clips dealt in order, equal numbers to each process (train.balance_shares
# false, as before 2026-12-06) instead of by their work.
# --hidden and --depth train a wider or deeper model of the same kind (where the moments weigh
# more), with the heads at 64 channels each.
#
# Cubist asks Open MPI for its ring all-reduce (src/train/mpi_group.cpp); under Open MPI the
# processes also run with OMPI_MCA_coll_tuned_use_dynamic_rules=0, which leaves the choice of
# algorithm to Open MPI, as before 2026-12-05 (the "own all-reduce" figures).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=20 processes=2 batches="8 32" hidden="" depth=""
while (($#)); do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --processes) processes=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --hidden) hidden=$2; shift 2 ;;
    --depth) depth=$2; shift 2 ;;
    *) echo "data_parallel.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
cores=$(nproc)
out=out/bench_data_parallel
mkdir -p "$out"
if [[ ! -f $out/latents/latents.jsonl ]]; then
  build/cubist data shapes --out "$out/shapes" --clips 200 --sizes 64x64,96x64,64x96 \
    --frames 1,9,17 --seed 1 >/dev/null 2>&1
  build/cubist vae cache --data "$out/shapes/manifest.jsonl" --out "$out/latents" >/dev/null 2>&1
fi
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # containers run as root
for batch in $batches; do
  /usr/bin/python3 - "$out" "$batch" "$steps" "$hidden" "$depth" <<'PY'
import json, sys
out, batch, steps, hidden, depth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:]
c = json.load(open("configs/dit/shapes.json"))
c["train"].update(steps=steps, batch=batch, sample_every=0, checkpoint_every=steps)
if hidden:
    c["model"].update(hidden=int(hidden), heads=int(hidden) // 64)
if depth:
    c["model"]["depth"] = int(depth)
c["data"] = {"latents": f"{out}/latents/latents.jsonl"}
json.dump(c, open(f"{out}/config_{batch}.json", "w"), indent=1)
c["train"]["shard_optimizer"] = False
json.dump(c, open(f"{out}/config_{batch}_unsharded.json", "w"), indent=1)
c["train"].update(shard_optimizer=True, balance_shares=False)
json.dump(c, open(f"{out}/config_{batch}_in_order.json", "w"), indent=1)
PY
  rm -rf "$out/one_$batch" "$out/dp_$batch" "$out/dp_own_$batch" "$out/dp_unsharded_$batch" \
    "$out/dp_in_order_$batch"
  rss=$out/rss_$batch.txt
  rm -f "$rss"
  OMP_NUM_THREADS=$cores bench/peak_rss.py "$rss" one build/cubist train \
    --config "$out/config_$batch.json" --out "$out/one_$batch" >/dev/null 2>&1
  export OMP_NUM_THREADS=$((cores / processes > 0 ? cores / processes : 1))
  mpirun -np "$processes" --oversubscribe bench/peak_rss.py "$rss" dp build/cubist train \
    --config "$out/config_$batch.json" --out "$out/dp_$batch" >/dev/null 2>&1
  mpirun -np "$processes" --oversubscribe bench/peak_rss.py "$rss" dp_unsharded build/cubist \
    train --config "$out/config_${batch}_unsharded.json" --out "$out/dp_unsharded_$batch" \
    >/dev/null 2>&1
  mpirun -np "$processes" --oversubscribe bench/peak_rss.py "$rss" dp_in_order build/cubist \
    train --config "$out/config_${batch}_in_order.json" --out "$out/dp_in_order_$batch" \
    >/dev/null 2>&1
  if mpirun --version 2>&1 | grep -q "Open MPI"; then
    OMPI_MCA_coll_tuned_use_dynamic_rules=0 mpirun -np "$processes" --oversubscribe \
      bench/peak_rss.py "$rss" dp_own build/cubist train --config "$out/config_$batch.json" \
      --out "$out/dp_own_$batch" >/dev/null 2>&1
  fi
  unset OMP_NUM_THREADS
  /usr/bin/python3 - "$out" "$batch" "$steps" "$processes" "$cores" <<'PY'
import csv, os, sys
out, batch, steps, n, cores = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
def read(d):
    return list(csv.DictReader(open(f"{out}/{d}/log.csv")))
peak = {}
for line in open(f"{out}/rss_{batch}.txt"):
    name, mb = line.split()
    peak[name] = max(peak.get(name, 0), int(mb))
one, dp, plain = read(f"one_{batch}"), read(f"dp_{batch}"), read(f"dp_unsharded_{batch}")
in_order = read(f"dp_in_order_{batch}")
warm = min(5, steps - 1)  # steps after the warm-up: 6 to STEPS (the last alone if fewer)
def per_step(rows):
    e = [float(r["elapsed_s"]) for r in rows]
    return (e[-1] - e[warm - 1]) / (len(e) - warm)
def tokens(rows):
    return sum(float(r["tokens_per_s"]) for r in rows[warm:]) / len(rows[warm:])
diff = max(abs(float(a["loss"]) - float(b["loss"])) for a, b in zip(one, dp))
for other in (plain, in_order):
    diff = max(diff, max(abs(float(a["loss"]) - float(b["loss"])) for a, b in zip(one, other)))
line = (f"batch {batch}: one process x {cores} threads {per_step(one):.3f} s/step "
        f"({tokens(one):.0f} tokens/s, {peak['one']} MB); {n} processes {per_step(dp):.3f} s/step "
        f"({tokens(dp):.0f} tokens/s, {peak['dp']} MB a process at most), unsharded "
        f"{per_step(plain):.3f} s/step ({tokens(plain):.0f} tokens/s, {peak['dp_unsharded']} MB), "
        f"clips dealt in order {per_step(in_order):.3f} s/step ({tokens(in_order):.0f} tokens/s)")
if os.path.exists(f"{out}/dp_own_{batch}/log.csv"):
    own = read(f"dp_own_{batch}")
    line += (f", with Open MPI's own all-reduce {per_step(own):.3f} s/step "
             f"({tokens(own):.0f} tokens/s)")
print(f"{line}; largest loss difference {diff:.2e}")
PY
done
