#!/usr/bin/env bash
# Gradient accumulation (train.accumulate): the peak memory and time of `cubist train` steps that
# take a batch whole and in parts, side by side on the same clips, with the losses they log (which
# should agree). Clips are cut from a generated test pattern and cached with the bundled
# autoencoder; the model is configs/dit/videos.json's.
#
#   bench/accumulate.sh [--size 1920x1080] [--seconds 60] [--max-side 256] [--batch 8]
#                       [--parts "1 4"] [--steps 3]
set -euo pipefail
cd "$(dirname "$0")/.."
cubist="$(realpath "${CUBIST:-build/cubist}")"
root="$PWD"
size=1920x1080 seconds=60 max_side=256 batch=8 parts="1 4" steps=3
while [[ $# -gt 0 ]]; do
  case "$1" in
    --size) size="$2"; shift 2 ;;
    --seconds) seconds="$2"; shift 2 ;;
    --max-side) max_side="$2"; shift 2 ;;
    --batch) batch="$2"; shift 2 ;;
    --parts) parts="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    *) echo "bench/accumulate.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
ffmpeg -loglevel error -f lavfi -i "testsrc2=size=$size:rate=30:duration=$seconds" \
  -c:v libx264 -preset ultrafast -crf 30 video.mp4
printf '{"path": "video.mp4", "caption": "a test pattern moving"}\n' > m.jsonl
"$cubist" vae cache --data m.jsonl --out cache --model "$root/models/shapes/vae.safetensors" \
  --clip-frames 17 --max-side "$max_side" --fps 8 > cache.log 2>&1
echo "clips: $(wc -l < cache/latents.jsonl) of 17 frames, the longer side $max_side px"
echo "| train.accumulate | peak memory (max RSS) | s per step | losses logged |"
echo "|---|---|---|---|"
for k in $parts; do
  /usr/bin/python3 - "$root/configs/dit/videos.json" "$k" "$batch" "$steps" > run$k.json <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["data"] = {"latents": "cache/latents.jsonl"}
c["train"].update(steps=int(sys.argv[4]), batch=int(sys.argv[3]), accumulate=int(sys.argv[2]),
                  warmup=1, sample_every=0, checkpoint_every=1000, out="out" + sys.argv[2])
print(json.dumps(c))
PY
  /usr/bin/time -v "$cubist" train --config run$k.json > train$k.log 2> time$k.log
  rss=$(awk '/Maximum resident/ {printf "%.2f GB", $6 / 1e6}' time$k.log)
  per_step=$(awk -F, 'NR > 1 {last = $6} END {printf "%.2f", last / (NR - 1)}' out$k/log.csv)
  losses=$(awk -F, 'NR > 1 {printf "%s%s", sep, $2; sep = " "}' out$k/log.csv)
  echo "| $k | $rss | $per_step | $losses |"
done
