#!/usr/bin/env bash
# The held-out loss of transformer weights (docs/QUALITY.md, docs/DIT.md): the training objective
# on 256 Shapes World clips that no stage of the bundled model trained on (seed 10; the kinds of
# stage 6 and 7: 64x64, 96x64, 64x96, 1 to 17 frames), encoded by the bundled autoencoder, with
# times, noise, dropped captions and frame masks fixed by the seed (`data.validation`), so that
# two sets of weights are compared on the same draws (`cubist train --validate-only` with the
# weights as train.init of stage 7's config).
#
#   bench/heldout_loss.sh [WEIGHTS] [OUT]   (default models/shapes/dit.safetensors, out/heldout)
set -euo pipefail
cd "$(dirname "$0")/.."
weights="${1:-models/shapes/dit.safetensors}"
out="${2:-out/heldout}"
cubist=build/cubist
[[ -f "$weights" ]] || { echo "heldout_loss: no weights at $weights" >&2; exit 2; }
[[ -f "$out/clips/manifest.jsonl" ]] ||
  "$cubist" data shapes --out "$out/clips" --clips 256 --sizes 64x64,96x64,64x96 \
    --frames 1,9,17,17 --seed 10 --format png > /dev/null
"$cubist" vae cache --data "$out/clips/manifest.jsonl" --out "$out/latents" \
  --model models/shapes/vae.safetensors > /dev/null 2> "$out/cache.log" ||
  { echo "heldout_loss: caching the held-out clips failed; see $out/cache.log" >&2; exit 1; }
run="$out/run_$(basename "$weights" .safetensors)"
rm -rf "$run"  # a checkpoint there would be measured instead of the weights
sed -e 's#"warmup": \([0-9]*\)#"warmup": \1, "validation_clips": 256#' \
  -e "s#\"out\": \"[^\"]*\"#\"out\": \"$run\"#" -e "s#\"init\": \"[^\"]*\"#\"init\": \"$weights\"#" \
  -e "s#\"data\": {.*}#\"data\": {\"latents\": \"$out/latents/latents.jsonl\", \"validation\": \"$out/latents/latents.jsonl\"}#" \
  configs/dit/shapes_stage7.json > "$run.json"
loss=$("$cubist" train --config "$run.json" --validate-only) ||
  { echo "heldout_loss: measuring failed; see $cubist train --config $run.json --validate-only" >&2; exit 1; }
# The number after "held-out loss" in train's line, wherever the line puts it.
value=$(echo "$loss" | sed -n 's/.*held-out loss \([^ ]*\) .*/\1/p')
[[ -n "$value" ]] || { echo "heldout_loss: no held-out loss in train's output: $loss" >&2; exit 1; }
echo "$weights: held-out loss $value (256 clips)"
