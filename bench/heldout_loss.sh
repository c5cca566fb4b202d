#!/usr/bin/env bash
# The held-out loss of transformer weights (docs/QUALITY.md, docs/DIT.md): the training objective
# on 256 Shapes World clips that no stage of the bundled model trained on (seed 10; the kinds of
# stage 6 and 7: 64x64, 96x64, 64x96, 1 to 17 frames), encoded by the bundled autoencoder, with
# times, noise, dropped captions and frame masks fixed by the seed (`data.validation`), so that
# two sets of weights are compared on the same draws (`cubist train --validate-only` with the
# weights as train.init of stage 7's config, whose time distribution is the bundle's).
#
# --direction asks instead how much the weights read the direction of a motion: the loss on the
# held-out clips of more than one frame whose caption has a "moving left/right/up/down" object
# (155 of the 256), with the captions as they are, with every direction reversed (left <-> right,
# up <-> down) and with every axis changed (left -> up, right -> down, ...), all on the same
# draws. Weights that ignore the direction word lose nothing when it is reversed.
#
#   bench/heldout_loss.sh [--direction] [WEIGHTS] [OUT]
#       (default models/shapes/dit.safetensors, out/heldout)
set -euo pipefail
cd "$(dirname "$0")/.."
direction=""
[[ "${1:-}" == "--direction" ]] && { direction=1; shift; }
weights="${1:-models/shapes/dit.safetensors}"
out="${2:-out/heldout}"
cubist="${CUBIST:-build/cubist}"
[[ -f "$weights" ]] || { echo "heldout_loss: no weights at $weights" >&2; exit 2; }
[[ -f "$out/clips/manifest.jsonl" ]] ||
  "$cubist" data shapes --out "$out/clips" --clips 256 --sizes 64x64,96x64,64x96 \
    --frames 1,9,17,17 --seed 10 --format png > /dev/null
"$cubist" vae cache --data "$out/clips/manifest.jsonl" --out "$out/latents" \
  --model models/shapes/vae.safetensors > /dev/null 2> "$out/cache.log" ||
  { echo "heldout_loss: caching the held-out clips failed; see $out/cache.log" >&2; exit 1; }

# The loss of the weights on the latents of LIST (a latents.jsonl in $out/latents/), N clips.
measure() {
  local list="$1" n="$2" run="$out/run_$(basename "$weights" .safetensors)_$(basename "$1" .jsonl)"
  rm -rf "$run"  # a checkpoint there would be measured instead of the weights
  sed -e "s#\"warmup\": \\([0-9]*\\)#\"warmup\": \\1, \"validation_clips\": $n#" \
    -e "s#\"out\": \"[^\"]*\"#\"out\": \"$run\"#" -e "s#\"init\": \"[^\"]*\"#\"init\": \"$weights\"#" \
    -e "s#\"data\": {.*}#\"data\": {\"latents\": \"$out/latents/latents.jsonl\", \"validation\": \"$out/latents/$list\"}#" \
    configs/dit/shapes_stage7.json > "$run.json"
  local line
  line=$("$cubist" train --config "$run.json" --validate-only) ||
    { echo "heldout_loss: measuring failed; see $cubist train --config $run.json --validate-only" >&2; exit 1; }
  # The number after "held-out loss" in train's line, wherever the line puts it.
  local value
  value=$(echo "$line" | sed -n 's/.*held-out loss \([^ ]*\) .*/\1/p')
  [[ -n "$value" ]] || { echo "heldout_loss: no held-out loss in train's output: $line" >&2; exit 1; }
  echo "$value"
}

if [[ -z "$direction" ]]; then
  echo "$weights: held-out loss $(measure latents.jsonl 256) (256 clips)"
  exit 0
fi
python3 - "$out/latents" <<'PY'
import json, re, sys
folder = sys.argv[1]
rows = [json.loads(l) for l in open(f"{folder}/latents.jsonl")]
rows = [r for r in rows if r["frames"] > 1 and re.search(r"moving (left|right|up|down)", r["caption"])]
swaps = {"as_given": {}, "reversed": {"left": "right", "right": "left", "up": "down", "down": "up"},
         "axis_changed": {"left": "up", "right": "down", "up": "left", "down": "right"}}
for name, swap in swaps.items():
    with open(f"{folder}/direction_{name}.jsonl", "w") as f:
        for r in rows:
            r = dict(r, caption=re.sub(r"moving (left|right|up|down)",
                                       lambda m: "moving " + swap.get(m.group(1), m.group(1)),
                                       r["caption"]))
            f.write(json.dumps(r) + "\n")
print(len(rows), file=open(f"{folder}/direction_count", "w"))
PY
n=$(cat "$out/latents/direction_count")
given=$(measure direction_as_given.jsonl "$n")
reversed=$(measure direction_reversed.jsonl "$n")
axis=$(measure direction_axis_changed.jsonl "$n")
python3 -c "
import sys
g, r, a = map(float, sys.argv[2:5])
print(f'{sys.argv[1]}: held-out loss on {sys.argv[5]} clips with a directed motion: {g:.5f} as '
      f'captioned, {r:.5f} with every direction reversed (+{100 * (r - g) / g:.1f}%), {a:.5f} with '
      f'every axis changed (+{100 * (a - g) / g:.1f}%)')" "$weights" "$given" "$reversed" "$axis" "$n"
