#!/usr/bin/env bash
# The recipe of the bundled Shapes World model (models/shapes/): every command that made it, in
# order, from nothing. Each step resumes if interrupted (run the script again). On 2 cores:
# about 20 + 45 + 25 min for the autoencoder, 5-10 min for each latent cache, 35 min for the
# transformer, 20 min for its fine-tuning, ~85 min for its fourth stage, ~70 min for the
# autoencoder's decoder, ~105 min for the transformer's sixth stage, ~100 min for its seventh,
# 80-110 min for its eighth, ~95 min for its ninth, ~80 min for its tenth, ~35 min for its
# eleventh and ~95 min for its last (docs/QUALITY.md has the quality it reached).
#
# The bundle grew in twelve stages, and the recipe keeps them all so that it makes the same model:
# the transformer was trained on the latents of the autoencoder after 6000 steps; the autoencoder
# trained on to 24000 steps and the transformer was fine-tuned (train.init) on its latents; the
# autoencoder then trained on to 32000 steps with 17-frame clips in the mix, and the transformer
# was kept (its latents moved little: the text-to-video measures stayed within noise); then the
# transformer trained on twice as many clips, encoded by the final autoencoder, with a decaying
# rate; then the autoencoder's decoder alone was fine-tuned (its latents, and so the transformer,
# unchanged); then the transformer trained on new clips, half of them 17 frames long, and last on
# as many new clips of the same kinds at a lower rate, four times, the second time with more
# clips holding their last frames (for loops, connections and backward extension), the last
# time with its training times drawn nearer the noise (where the direction of a motion is
# decided), and twice more nearer still, on the clips of the two stages before.
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

# Shapes World clips for the transformer (DIR, N clips, and optionally FRAMES and SEED): three
# aspect ratios, lengths 1, 9, 17 (a length listed twice is drawn twice as often).
clips() {
  [[ -f "$1/manifest.jsonl" ]] ||
    "$cubist" data shapes --out "$1" --clips "$2" --sizes 64x64,96x64,64x96 \
      --frames "${3:-1,9,17}" --seed "${4:-7}" --format png
}

# The weights of the finished transformer stage in DIR, in bf16 as they were bundled: the next
# stage starts from DIR_bf16.safetensors.
bf16() {
  [[ -f "$1_bf16.safetensors" ]] ||
    "$cubist" export "$1/dit.safetensors" -o "$1_bf16.safetensors" --bf16
}

# The clips of DIR encoded into the latent cache LATENTS by the bundle's autoencoder.
cache() {
  "$cubist" vae cache --data "$1/manifest.jsonl" --out "$2" --model "$out/bundle/vae.safetensors"
}

# A transformer stage: CONFIG (configs/dit/*.json) run with this recipe's folders: the latents
# of LATENTS/, the output OUT/ and, when given, the weights INIT to start from and the held-out
# latents VALIDATION/ to measure the loss on.
dit_stage() {
  local config="$1" latents="$2" dir="$3" init="${4:-}" validation="${5:-}"
  sed -e "s#\"latents\": \"[^\"]*\"#\"latents\": \"$latents/latents.jsonl\"#" \
    -e "s#\"validation\": \"[^\"]*\"#\"validation\": \"$validation/latents.jsonl\"#" \
    -e "s#\"out\": \"[^\"]*\"#\"out\": \"$dir\"#" \
    -e "s#\"init\": \"[^\"]*\"#\"init\": \"$init\"#" "$config" > "$dir.json"
  "$cubist" train --config "$dir.json"
}

# 1. The video autoencoder, on Shapes World clips generated in memory (configs/vae/shapes.json),
#    6000 steps; the stage-1 autoencoder is kept for step 3's cache (a cache refuses latents of
#    other weights, so a second run of this script needs the weights each cache was made with).
"$cubist" vae train --config configs/vae/shapes.json --out "$out/vae"
[[ -f "$out/vae_6000.safetensors" ]] || cp "$out/vae/vae.safetensors" "$out/vae_6000.safetensors"

# 2. The transformer's data: 8000 clips.
clips "$out/clips" 8000

# 3. Stage 1: the clips encoded by the 6000-step autoencoder, and the diffusion transformer
#    (configs/dit/shapes.json), 9000 steps.
"$cubist" vae cache --data "$out/clips/manifest.jsonl" --out "$out/latents" \
  --model "$out/vae_6000.safetensors"
dit_stage configs/dit/shapes.json "$out/latents" "$out/dit"

# 4. Stage 2: the autoencoder trained on to 24000 steps (the cosine schedule stretched to the new
#    end), the clips encoded again, and the transformer fine-tuned on them from its stage-1
#    weights for 5000 steps (configs/dit/shapes_finetune.json).
"$cubist" vae train --config configs/vae/shapes.json --out "$out/vae" --steps 24000
[[ -f "$out/vae_24000.safetensors" ]] || cp "$out/vae/vae.safetensors" "$out/vae_24000.safetensors"
"$cubist" vae cache --data "$out/clips/manifest.jsonl" --out "$out/latents2" \
  --model "$out/vae_24000.safetensors"
dit_stage configs/dit/shapes_finetune.json "$out/latents2" "$out/dit2" "$out/dit/dit.safetensors"

# 5. Stage 3: the autoencoder trained on to 32000 steps with 1-, 5-, 9- and 17-frame clips
#    (configs/vae/shapes_long.json: the same model, a longer training mix), for longer videos.
"$cubist" vae train --config configs/vae/shapes_long.json --out "$out/vae"

# 6. Stage 4: the bundle's autoencoder (in bf16, as shipped) encodes 16000 clips of the same
#    kinds, and the transformer trains on for 22000 steps from its stage-2 weights (in bf16, as
#    they were shipped) with the rate decaying along a cosine (configs/dit/shapes_long.json).
#    (The bundled run's end moved twice with --steps: set to 20000, it was cut to 18000 at step
#    5393 and extended to 22000 at step 10465, so its rate before step 10465 was up to 25% lower
#    than this schedule's; nothing else differs.)
mkdir -p "$out/bundle"
"$cubist" export "$out/vae/vae.safetensors" -o "$out/bundle/vae.safetensors" --bf16
bf16 "$out/dit2"
clips "$out/clips16k" 16000
cache "$out/clips16k" "$out/latents3"
dit_stage configs/dit/shapes_long.json "$out/latents3" "$out/dit3" "$out/dit2_bf16.safetensors"

# 7. Stage 5: the autoencoder's decoder fine-tuned alone from the bundle's bf16 weights
#    (configs/vae/shapes_decoder.json: the encoder frozen, so the latents, the cache and the
#    transformer stay valid), 26000 steps on clips of 32x32 to 96x64 and 1 to 33 frames.
#    (The bundled run was started with 30000 steps and cut to 26000 at step 1415.)
sed -e "s#\"init\": \"[^\"]*\"#\"init\": \"$out/bundle/vae.safetensors\"#" \
  configs/vae/shapes_decoder.json > "$out/vae_decoder.json"
"$cubist" vae train --config "$out/vae_decoder.json" --out "$out/vae_decoder"
# The bundle's autoencoder: the fine-tuned weights in bf16.
"$cubist" export "$out/vae_decoder/vae.safetensors" -o "$out/bundle/vae.safetensors" --bf16

# 8. Stage 6: 16000 new clips (seed 8) with half of them 17 frames long (latent frames 3 and 4,
#    where generated clips went wrong, were in a third of stage 4's clips), encoded by the
#    bundled autoencoder (its encoder is stage 4's, so these are the latents the transformer
#    knows), and the transformer trained on from its stage-4 weights in bf16, as they were
#    bundled, for 26000 steps with the rate decaying along a cosine
#    (configs/dit/shapes_17frames.json).
bf16 "$out/dit3"
clips "$out/clips17" 16000 1,9,17,17 8
cache "$out/clips17" "$out/latents4"
dit_stage configs/dit/shapes_17frames.json "$out/latents4" "$out/dit4" "$out/dit3_bf16.safetensors"

# 9. Stage 7: 16000 more new clips (seed 9) of stage 6's kinds, encoded by the bundled
#    autoencoder, and the transformer trained on from its stage-6 weights in bf16 for 26000
#    steps at a lower rate (2e-4 decaying to 2e-5; configs/dit/shapes_stage7.json).
bf16 "$out/dit4"
clips "$out/clips18" 16000 1,9,17,17 9
cache "$out/clips18" "$out/latents5"
dit_stage configs/dit/shapes_stage7.json "$out/latents5" "$out/dit5" "$out/dit4_bf16.safetensors"

# 10. Stage 8: 16000 more new clips (seed 11) of the same kinds, and the transformer trained on
#     from its stage-7 weights in bf16 for 22000 steps (1.5e-4 decaying to 1.5e-5), with more
#     clips holding their last frames (loops, connections, backward extension: "tail" and "ends"
#     masks in about 23% of clips, from 12%) and the loss on 64 held-out clips (seed 10, those of
#     bench/heldout_loss.sh) every 1000 steps (configs/dit/shapes_stage8.json).
bf16 "$out/dit5"
clips "$out/clips19" 16000 1,9,17,17 11
cache "$out/clips19" "$out/latents6"
clips "$out/heldout" 256 1,9,17,17 10
cache "$out/heldout" "$out/heldout_latents"
dit_stage configs/dit/shapes_stage8.json "$out/latents6" "$out/dit6" "$out/dit5_bf16.safetensors" \
  "$out/heldout_latents"

# 11. Stage 9: 16000 more new clips (seed 12) of the same kinds, and the transformer trained on
#     from its stage-8 weights in bf16 for 14000 steps (1.2e-4 decaying to 1.2e-5; seed 8;
#     configs/dit/shapes_stage9.json).
bf16 "$out/dit6"
clips "$out/clips20" 16000 1,9,17,17 12
cache "$out/clips20" "$out/latents7"
dit_stage configs/dit/shapes_stage9.json "$out/latents7" "$out/dit7" "$out/dit6_bf16.safetensors" \
  "$out/heldout_latents"

# 12. Stage 10: 16000 more new clips (seed 13) of the same kinds, and the transformer trained on
#     from its stage-9 weights in bf16 for 12000 steps (1e-4 decaying to 1e-5; seed 9) with its
#     training times drawn nearer the noise (logit_mean 0.8, where every stage before drew them
#     around the middle: the direction of a motion is decided early in sampling and was barely
#     learned; configs/dit/shapes_stage10.json).
bf16 "$out/dit7"
clips "$out/clips21" 16000 1,9,17,17 13
cache "$out/clips21" "$out/latents8"
dit_stage configs/dit/shapes_stage10.json "$out/latents8" "$out/dit8" "$out/dit7_bf16.safetensors" \
  "$out/heldout_latents"

# 13. Stage 11: the transformer trained on from its stage-10 weights in bf16 for 5000 steps on
#     stage 9's clips again (8e-5 decaying to 8e-6; seed 11) with its times nearer the noise
#     still (logit_mean 1.2; configs/dit/shapes_stage11.json).
bf16 "$out/dit8"
dit_stage configs/dit/shapes_stage11.json "$out/latents7" "$out/dit9" "$out/dit8_bf16.safetensors" \
  "$out/heldout_latents"

# 14. Stage 12: the transformer trained on from its stage-11 weights in bf16 for 15000 steps on
#     stage 10's clips again (8e-5 decaying to 8e-6; seed 12), its times as stage 11's
#     (logit_mean 1.2; configs/dit/shapes_stage12.json).
bf16 "$out/dit9"
dit_stage configs/dit/shapes_stage12.json "$out/latents8" "$out/dit10" "$out/dit9_bf16.safetensors" \
  "$out/heldout_latents"

# 15. The bundle: the transformer in bf16 beside the autoencoder.
"$cubist" export "$out/dit10/dit.safetensors" -o "$out/bundle/dit.safetensors" --bf16
echo "bundle in $out/bundle (copy to models/shapes/ to make it the default model)"
