#!/usr/bin/env bash
# The recipe of the bundled Shapes World model (models/shapes/): every command that made it, in
# order, from nothing. Each step resumes if interrupted (run the script again). On 2 cores:
# about 20 min for the autoencoder, 5 min for the latent cache, then the transformer (see
# docs/QUALITY.md for the time and the quality it reached).
#
#   scripts/train_shapes_model.sh [OUT]     (default out/shapes_model; the bundle is OUT/bundle)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/shapes_model}"
cubist=build/cubist
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
# Sleeping, not spinning, OpenMP threads: on a shared machine a spinning thread that loses its
# core stalls every parallel region (docs/PERFORMANCE.md).
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-passive}"

# 1. The video autoencoder, on Shapes World clips generated in memory (configs/vae/shapes.json).
"$cubist" vae train --config configs/vae/shapes.json --out "$out/vae"

# 2. The transformer's data: 8000 clips of three aspect ratios and lengths 1, 9 and 17, encoded once.
[[ -f "$out/clips/manifest.jsonl" ]] ||
  "$cubist" data shapes --out "$out/clips" --clips 8000 --sizes 64x64,96x64,64x96 \
    --frames 1,9,17 --seed 7 --format png
"$cubist" vae cache --data "$out/clips/manifest.jsonl" --out "$out/latents" \
  --model "$out/vae/vae.safetensors"

# 3. The diffusion transformer (configs/dit/shapes.json with this run's folders).
sed -e "s#out/shapes_latents#$out/latents#" -e "s#\"out/dit_shapes\"#\"$out/dit\"#" \
  configs/dit/shapes.json > "$out/dit_config.json"
"$cubist" train --config "$out/dit_config.json" ${STEPS:+--steps "$STEPS"}

# 4. The bundle: both weights files in bf16.
mkdir -p "$out/bundle"
"$cubist" export "$out/vae/vae.safetensors" -o "$out/bundle/vae.safetensors" --bf16
"$cubist" export "$out/dit/dit.safetensors" -o "$out/bundle/dit.safetensors" --bf16
echo "bundle in $out/bundle (copy to models/shapes/ to make it the default model)"
