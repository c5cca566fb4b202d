#!/usr/bin/env bash
# The autoencoder's ceiling for text to video (docs/QUALITY.md): the true clips of the
# text-to-video evaluation's captions (bench/generation_eval.sh draws the same ones) through the
# autoencoder alone (`cubist vae encode`, then `cubist vae decode` to MP4, as `generate` writes),
# judged by `cubist eval`. A transformer that made these latents exactly could score no better.
#
#   bench/vae_ceiling.sh [--model VAE] [--clips N] [--size WxH] [--frames T] [--out DIR]
# Defaults: the bundled autoencoder, 200 clips, 64x64, 17 frames, out/vae_ceiling.
set -euo pipefail

cubist="$(dirname "$0")/../build/cubist"
model="" clips=200 size=64x64 frames=17 out=out/vae_ceiling seed=424242
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --clips) clips="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    *) echo "vae_ceiling: unknown option $1" >&2; exit 2 ;;
  esac
done

mkdir -p "$out"
"$cubist" data shapes --out "$out/truth" --clips "$clips" --sizes "$size" --frames "$frames" \
  --seed "$seed" --format png > /dev/null
manifest="$out/round_trips.jsonl"
: > "$manifest"
i=0
while IFS= read -r line; do
  clip=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["path"])' "$line")
  caption=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["caption"])' "$line")
  "$cubist" vae encode "$out/truth/$clip" -o "$out/$clip.latent.safetensors" \
    ${model:+--model "$model"} > /dev/null
  "$cubist" vae decode "$out/$clip.latent.safetensors" -o "$out/$clip.mp4" \
    ${model:+--model "$model"} > /dev/null
  python3 -c 'import json,sys; print(json.dumps({"path": sys.argv[1], "caption": sys.argv[2]}))' \
    "$clip.mp4" "$caption" >> "$manifest"
  i=$((i + 1))
  printf '\rround trips %d/%d' "$i" "$clips" >&2
done < "$out/truth/manifest.jsonl"
echo >&2
"$cubist" eval --manifest "$manifest" --quiet
