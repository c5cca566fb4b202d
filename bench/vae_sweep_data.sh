#!/usr/bin/env bash
# The data file of bench/vae_sweep.py: 8000 Shapes World training clips (64x64, 9 frames, seed 11)
# and 64 held-out clips (64x64, 17 frames, seed 999), rendered by Cubist, packed as uint8 arrays.
#   bash bench/vae_sweep_data.sh [OUT.npz]        (default .sweep/shapes64.npz; about 6 MB)
set -euo pipefail
out=${1:-.sweep/shapes64.npz}
cubist=${CUBIST:-build/cubist}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cubist" data shapes --out "$work/train" --clips 8000 --sizes 64x64 --frames 9 --seed 11 --format png
"$cubist" data shapes --out "$work/eval" --clips 64 --sizes 64x64 --frames 17 --seed 999 --format png
for set in train eval; do  # every frame of every clip, in name order, as raw RGB
  ffmpeg -loglevel error -pattern_type glob -i "$work/$set/clip_*/0*.png" -f rawvideo \
    -pix_fmt rgb24 "$work/$set.raw"
done
mkdir -p "$(dirname "$out")"
/usr/bin/python3 - "$work" "$out" <<'PY'
import sys, numpy as np
work, out = sys.argv[1], sys.argv[2]
train = np.fromfile(f"{work}/train.raw", np.uint8).reshape(8000, 9, 64, 64, 3)
held = np.fromfile(f"{work}/eval.raw", np.uint8).reshape(64, 17, 64, 64, 3)
np.savez_compressed(out, train=train, eval=held)
print(f"wrote {out}: train {train.shape}, eval {held.shape}")
PY
