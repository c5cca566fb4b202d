#!/usr/bin/env bash
# The text-to-video quality bar (docs/QUALITY.md): N canonical Shapes World captions drawn fresh
# from the grammar (a seed no training run uses), one clip generated for each, and `cubist eval`
# on the clips. Prints the summary: the share of clips with every attribute right, and the
# accuracy per attribute; OUT/eval.jsonl keeps the verdict on every clip.
#
# --round-trip measures the autoencoder's ceiling instead: the captions' true clips through the
# autoencoder alone (`cubist vae encode`, then `cubist vae decode` to MP4, as `generate` writes),
# judged the same way; a transformer that made these latents exactly could score no better.
#
# --first-frames 1,9 also judges every clip cut to its first N frames (ffmpeg), for each N: where
# in the clip attributes go wrong. Motion cannot be judged on one frame.
#
#   bench/generation_eval.sh [--model DIR] [--clips N] [--size WxH] [--frames T] [--steps S]
#                            [--guidance G] [--guidance-rule cfg|projected] [--shift S]
#                            [--overlap K] [--out DIR] [--round-trip]
#                            [--first-frames N,...] [--jobs J]
# --jobs J makes J clips at a time, each on one thread (on this project's 2-core machine, --jobs 2
# makes 200 clips in 4.7 minutes where one job at a time takes about 6.5 on two threads and 9 on
# one). The clips are byte for byte the same either way.
# Defaults: the bundled model, 200 clips, 64x64, 17 frames, 30 steps, guidance 5, the model's
# own time shift, out/gen_eval; $CUBIST names another build of cubist.
set -euo pipefail

cubist="${CUBIST:-$(dirname "$0")/../build/cubist}"  # $CUBIST: another build to compare
model="" time_shift="" overlap="" rule="" clips=200 size=64x64 frames=17 steps=30 guidance=5 out=out/gen_eval seed=424242
round_trip="" made=generated first_frames="" jobs=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model="$2"; shift 2 ;;
    --clips) clips="$2"; shift 2 ;;
    --size) size="$2"; shift 2 ;;
    --frames) frames="$2"; shift 2 ;;
    --steps) steps="$2"; shift 2 ;;
    --guidance) guidance="$2"; shift 2 ;;
    --guidance-rule) rule="$2"; shift 2 ;;
    --shift) time_shift="$2"; shift 2 ;;
    --overlap) overlap="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --round-trip) round_trip=1 made="round trips"; shift ;;
    --first-frames) first_frames="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    *) echo "generation_eval: unknown option $1" >&2; exit 2 ;;
  esac
done

[[ "$jobs" =~ ^[1-9][0-9]*$ ]] ||
  { echo "generation_eval: --jobs wants a whole number of 1 or more, not '$jobs'" >&2; exit 2; }
[[ -z "$first_frames" || "$first_frames" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] ||
  { echo "generation_eval: --first-frames wants counts like 1,9, not '$first_frames'" >&2; exit 2; }
mkdir -p "$out"
# Captions: the manifest of freshly drawn clips (the clips themselves only with --round-trip),
# drawn again on every run (data shapes refuses a folder that holds a data set).
rm -rf "$out/truth"
"$cubist" data shapes --out "$out/truth" --clips "$clips" --sizes "$size" --frames "$frames" \
  --seed "$seed" --format png > /dev/null
manifest="$out/generated.jsonl"
: > "$manifest"
rm -rf "$out/logs" && mkdir -p "$out/logs"
# Clip i (video $2, caption $3, truth line $4), its output in logs/clip_i.log; a failure shows
# the log's end.
make_clip() {
  local i="$1" video="$2" caption="$3" line="$4" log="$out/logs/clip_$(printf %04d "$1").log"
  if [[ -n "$round_trip" ]]; then
    local truth vae=(${model:+--model "$model/vae.safetensors"})
    truth="$out/truth/$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["path"])' "$line")"
    { "$cubist" vae encode "$truth" -o "$video.latent.safetensors" "${vae[@]}" &&
      "$cubist" vae decode "$video.latent.safetensors" -o "$video" "${vae[@]}"; } > "$log" 2>&1
  else
    "$cubist" generate "$caption" --no-expand --size "$size" --frames "$frames" --steps "$steps" \
      --guidance "$guidance" ${rule:+--guidance-rule "$rule"} --seed "$i" ${model:+--model "$model"} \
      ${time_shift:+--shift "$time_shift"} ${overlap:+--overlap "$overlap"} -o "$video" > "$log" 2>&1
  fi || { echo "generation_eval: clip $i failed ($log):" >&2; tail -n 5 "$log" >&2; return 1; }
}
# With --jobs J, J clips at a time, each on one thread (unless OMP_NUM_THREADS says otherwise).
if ((jobs > 1)); then export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"; fi
start=$(date +%s)
i=0 running=0 finished=0
videos=()
# Waits for one clip to finish (a failed one stops the run) and shows the count done.
wait_one() {
  wait -n || { kill $(jobs -p) 2>/dev/null; wait; exit 1; }
  running=$((running - 1)) finished=$((finished + 1))
  printf '\r%s %d/%d (%ds)' "$made" "$finished" "$clips" $(( $(date +%s) - start )) >&2
}
while IFS= read -r line; do
  caption=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["caption"])' "$line")
  video="$out/clip_$(printf %04d "$i").mp4"
  ((running < jobs)) || wait_one
  make_clip "$i" "$video" "$caption" "$line" &
  running=$((running + 1))
  python3 -c 'import json,sys; print(json.dumps({"path": sys.argv[1], "caption": sys.argv[2]}))' \
    "$(basename "$video")" "$caption" >> "$manifest"
  videos+=("$video")
  i=$((i + 1))
done < "$out/truth/manifest.jsonl"
while ((running > 0)); do wait_one; done
cat "$out"/logs/clip_*.log > "$out/generate.log" 2>/dev/null || true
echo >&2
# Every clip's verdict in eval.jsonl (bench/paired_eval.py compares two runs clip by clip); the
# summary, its last line, printed.
"$cubist" eval --manifest "$manifest" > "$out/eval.jsonl"
tail -n 1 "$out/eval.jsonl"
# The same clips cut to their first N frames, judged against the same captions.
for n in ${first_frames//,/ }; do
  mkdir -p "$out/first_$n"
  cp "$manifest" "$out/first_$n/"
  for video in "${videos[@]}"; do
    ffmpeg -nostdin -loglevel error -y -i "$video" -frames:v "$n" -c:v libx264 -crf 8 \
      "$out/first_$n/$(basename "$video")"
  done
  echo "the first $n frame(s) of each clip:"
  "$cubist" eval --manifest "$out/first_$n/$(basename "$manifest")" --quiet
done
