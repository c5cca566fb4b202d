#!/usr/bin/env bash
# Data-parallel training against one process on the same machine (docs/PERFORMANCE.md): the
# bundled transformer's config (configs/dit/shapes.json, 9.4 M parameters) trained for STEPS
# steps on Shapes World latents, once as one process with every core's thread, once as
# `mpirun -np N` with the cores shared out, at each batch size. Prints seconds per step and
# tokens/s (steps 5 to STEPS, after the warm-up), and the largest loss difference between the
# two runs (they take the same steps, up to the order of float sums).
#
#   bench/data_parallel.sh [--steps 20] [--processes 2] [--batches "8 32"]
#
# Cubist asks Open MPI for its ring all-reduce (src/train/mpi_group.cpp); under Open MPI the
# processes also run with OMPI_MCA_coll_tuned_use_dynamic_rules=0, which leaves the choice of
# algorithm to Open MPI, as before 2026-12-05 (the "own all-reduce" figures).
set -euo pipefail
cd "$(dirname "$0")/.."
steps=20 processes=2 batches="8 32"
while (($#)); do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --processes) processes=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
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
  /usr/bin/python3 - "$out" "$batch" "$steps" <<'PY'
import json, sys
out, batch, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = json.load(open("configs/dit/shapes.json"))
c["train"].update(steps=steps, batch=batch, sample_every=0, checkpoint_every=steps)
c["data"] = {"latents": f"{out}/latents/latents.jsonl"}
json.dump(c, open(f"{out}/config_{batch}.json", "w"), indent=1)
PY
  rm -rf "$out/one_$batch" "$out/dp_$batch" "$out/dp_own_$batch"
  OMP_NUM_THREADS=$cores build/cubist train --config "$out/config_$batch.json" \
    --out "$out/one_$batch" >/dev/null 2>&1
  export OMP_NUM_THREADS=$((cores / processes > 0 ? cores / processes : 1))
  mpirun -np "$processes" --oversubscribe build/cubist train \
    --config "$out/config_$batch.json" --out "$out/dp_$batch" >/dev/null 2>&1
  if mpirun --version 2>&1 | grep -q "Open MPI"; then
    OMPI_MCA_coll_tuned_use_dynamic_rules=0 mpirun -np "$processes" --oversubscribe \
      build/cubist train --config "$out/config_$batch.json" --out "$out/dp_own_$batch" \
      >/dev/null 2>&1
  fi
  unset OMP_NUM_THREADS
  /usr/bin/python3 - "$out" "$batch" "$steps" "$processes" "$cores" <<'PY'
import csv, os, sys
out, batch, steps, n, cores = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
def read(d):
    return list(csv.DictReader(open(f"{out}/{d}/log.csv")))
one, dp = read(f"one_{batch}"), read(f"dp_{batch}")
def per_step(rows):
    e = [float(r["elapsed_s"]) for r in rows]
    return (e[-1] - e[4]) / (len(e) - 5)
def tokens(rows):
    return sum(float(r["tokens_per_s"]) for r in rows[5:]) / len(rows[5:])
diff = max(abs(float(a["loss"]) - float(b["loss"])) for a, b in zip(one, dp))
line = (f"batch {batch}: one process x {cores} threads {per_step(one):.3f} s/step "
        f"({tokens(one):.0f} tokens/s); {n} processes {per_step(dp):.3f} s/step "
        f"({tokens(dp):.0f} tokens/s)")
if os.path.exists(f"{out}/dp_own_{batch}/log.csv"):
    own = read(f"dp_own_{batch}")
    line += (f", with Open MPI's own all-reduce {per_step(own):.3f} s/step "
             f"({tokens(own):.0f} tokens/s)")
print(f"{line}; largest loss difference {diff:.2e}")
PY
done
