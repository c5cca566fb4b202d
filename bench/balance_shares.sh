#!/usr/bin/env bash
# Each step's clips dealt to the processes by their work (train.balance_shares, the default)
# against in order, equal numbers to each (docs/PERFORMANCE.md): `mpirun -np N` trains the
# bundled transformer's config on the Shapes World latents of bench/data_parallel.sh (run it
# first) for STEPS steps both ways, alternating, REPS times, and prints seconds per step after
# the first 5 steps, each run's and the mean of each way. The two ways take the same steps, so
# only the time differs; alternating spreads the machine's slower moments over both.
#
#   bench/balance_shares.sh [--steps 60] [--batch 8] [--processes 2] [--reps 3]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=60 batch=8 processes=2 reps=3
while (($#)); do
  case $1 in
    --steps) steps=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --processes) processes=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    *) echo "balance_shares.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
out=out/bench_data_parallel
if [[ ! -f $out/latents/latents.jsonl ]]; then
  echo "balance_shares.sh: no latents in $out: run bench/data_parallel.sh first" >&2
  exit 2
fi
for way in balanced in_order; do
  /usr/bin/python3 - "$out" "$way" "$batch" "$steps" <<'PY'
import json, sys
out, way, batch, steps = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
c = json.load(open("configs/dit/shapes.json"))
c["train"].update(steps=steps, batch=batch, sample_every=0, checkpoint_every=steps,
                  balance_shares=way == "balanced")
c["data"] = {"latents": f"{out}/latents/latents.jsonl"}
json.dump(c, open(f"{out}/config_{way}.json", "w"), indent=1)
PY
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # containers run as root
export OMP_NUM_THREADS=$(($(nproc) / processes > 0 ? $(nproc) / processes : 1))
for rep in $(seq "$reps"); do
  for way in balanced in_order; do
    rm -rf "$out/${way}_$rep"
    mpirun -np "$processes" --oversubscribe build/cubist train --config "$out/config_$way.json" \
      --out "$out/${way}_$rep" >/dev/null 2>&1
  done
done
/usr/bin/python3 - "$out" "$reps" "$batch" "$processes" <<'PY'
import csv, sys
out, reps, batch, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
def per_step(d):
    e = [float(r["elapsed_s"]) for r in csv.DictReader(open(f"{out}/{d}/log.csv"))]
    return (e[-1] - e[4]) / (len(e) - 5)
for way in ("balanced", "in_order"):
    t = [per_step(f"{way}_{r}") for r in range(1, reps + 1)]
    how = "by their work" if way == "balanced" else "in order"
    print(f"batch {batch}, {n} processes, clips dealt {how}: "
          + ", ".join(f"{x:.3f}" for x in t) + f" s/step, mean {sum(t) / len(t):.3f}")
PY
