#!/usr/bin/env bash
# Each step's clips dealt to the processes by their work (train.balance_shares, the default)
# against in order, equal numbers to each (docs/PERFORMANCE.md): `mpirun -np N` trains for STEPS
# steps both ways, alternating, REPS times, and prints seconds per step after the first 5 steps,
# each run's and the mean of each way. The two ways take the same steps, so only the time
# differs; alternating spreads the machine's slower moments over both.
#   --trainer dit (the default): the bundled transformer's config on the Shapes World latents of
#                                bench/data_parallel.sh (run it first);
#   --trainer vae:               the autoencoder's config (configs/vae/shapes.json) on Shapes
#                                World clips made in memory, SIZES x FRAMES.
#
#   bench/balance_shares.sh [--trainer dit|vae] [--steps 60] [--batch 8] [--processes 2]
#                           [--reps 3] [--sizes 64x64,96x64,64x96 --frames 1,5,9]
set -euo pipefail
cd "$(dirname "$0")/.."
steps=60 batch=8 processes=2 reps=3 trainer=dit sizes=64x64,96x64,64x96 frames=1,5,9
while (($#)); do
  case $1 in
    --trainer) trainer=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --frames) frames=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --processes) processes=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    *) echo "balance_shares.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
out=out/bench_data_parallel
if [[ $trainer != dit && $trainer != vae ]]; then
  echo "balance_shares.sh: --trainer takes dit or vae, not $trainer" >&2
  exit 2
fi
if [[ $trainer == dit && ! -f $out/latents/latents.jsonl ]]; then
  echo "balance_shares.sh: no latents in $out: run bench/data_parallel.sh first" >&2
  exit 2
fi
for way in balanced in_order; do
  /usr/bin/python3 - "$out" "$way" "$batch" "$steps" "$trainer" "$sizes" "$frames" <<'PY'
import json, sys
out, way, batch, steps, trainer, sizes, frames = sys.argv[1:]
batch, steps = int(batch), int(steps)
c = json.load(open(f"configs/{trainer}/shapes.json"))
c["train"].update(steps=steps, batch=batch, checkpoint_every=steps,
                  balance_shares=way == "balanced")
if trainer == "dit":
    c["train"]["sample_every"] = 0
    c["data"] = {"latents": f"{out}/latents/latents.jsonl"}
else:
    c["train"].update(eval_every=0, sizes=sizes, frames=frames)
json.dump(c, open(f"{out}/config_{trainer}_{way}.json", "w"), indent=1)
PY
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # containers run as root
export OMP_NUM_THREADS=$(($(nproc) / processes > 0 ? $(nproc) / processes : 1))
for rep in $(seq "$reps"); do
  for way in balanced in_order; do
    rm -rf "$out/${trainer}_${way}_$rep"
    command=(train)
    [[ $trainer == vae ]] && command=(vae train)
    mpirun -np "$processes" --oversubscribe build/cubist "${command[@]}" \
      --config "$out/config_${trainer}_$way.json" --out "$out/${trainer}_${way}_$rep" >/dev/null 2>&1
  done
done
/usr/bin/python3 - "$out" "$reps" "$batch" "$processes" "$trainer" <<'PY'
import csv, sys
out, reps, batch, n, trainer = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
def per_step(d):
    e = [float(r["elapsed_s"]) for r in csv.DictReader(open(f"{out}/{d}/log.csv"))]
    return (e[-1] - e[4]) / (len(e) - 5)
for way in ("balanced", "in_order"):
    t = [per_step(f"{trainer}_{way}_{r}") for r in range(1, reps + 1)]
    how = "by their work" if way == "balanced" else "in order"
    print(f"{trainer}, batch {batch}, {n} processes, clips dealt {how}: "
          + ", ".join(f"{x:.3f}" for x in t) + f" s/step, mean {sum(t) / len(t):.3f}")
PY
