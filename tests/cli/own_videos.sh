#!/usr/bin/env bash
# The README's "your own videos" path from the command line, at toy sizes (ctest's
# cli_own_videos): a folder of videos and an image indexed with captions, the transformer trained
# on clips cut from them with a SentencePiece tokenizer (the bundled autoencoder encodes them),
# and generation from the run's folder and from its checkpoint file with a word no caption had.
source "$(dirname "$0")/common.bash"
vae="$PWD/models/shapes/vae.safetensors"
cd "$tmp"

mkdir -p my_videos
for i in 1 2; do
  ffmpeg -loglevel error -f lavfi -i "testsrc2=size=80x48:rate=8:duration=2" \
    -vf "hue=h=$((i * 90))" -pix_fmt yuv420p "my_videos/v$i.mp4"
done
ffmpeg -loglevel error -f lavfi -i "testsrc2=size=48x64" -frames:v 1 my_videos/still.png
cat > captions.csv <<LINES
path,caption
my_videos/v1.mp4,"A test card slides past, colours shifting"
my_videos/v2.mp4,A bright pattern moves across the frame
my_videos/still.png,"A still card, in portrait"
LINES
"$cubist" data index my_videos --captions captions.csv > index.log 2>&1 || {
  cat index.log; fail "data index failed"; }
grep -q "indexed 2 videos .* and 1 image, 3 captioned" index.log || { cat index.log; fail "index"; }

cat > run.json <<JSON
{
  "model": {"latent_channels": 16, "patch": [1, 2, 2], "hidden": 32, "depth": 1, "heads": 2,
            "text": {"dim": 16, "depth": 1, "heads": 2, "tokenizer": "sentencepiece", "pieces": 200},
            "frame_conditioning": true},
  "train": {"steps": 3, "batch": 2, "lr": 1e-3, "warmup": 1, "checkpoint_every": 3,
            "sample_every": 0, "out": "out/run"},
  "data": {"manifest": "my_videos/manifest.jsonl", "vae": "$vae", "clip_frames": 9,
           "max_side": 64, "fps": 8}
}
JSON
"$cubist" train --config run.json > train.log 2>&1 || { cat train.log; fail "train failed"; }
grep -q "sentencepiece pieces" train.log || { cat train.log; fail "no sentencepiece tokenizer"; }
grep -q "done at step 3" train.log || { cat train.log; fail "train did not finish"; }
# Asked for fewer steps than the run has taken: said, not "done"; held-out clips that are the
# training data: said too.
python3 -c 'import json; c = json.load(open("run.json"))
c["data"]["validation"] = "my_videos/manifest.jsonl"; json.dump(c, open("again.json", "w"))'
"$cubist" train --config again.json --steps 2 > again.log 2>&1 || { cat again.log; fail "again"; }
grep -q "was already at step 3, where 2 steps were asked; nothing was trained" again.log ||
  { cat again.log; fail "a run already past --steps is not named"; }
grep -q "data.validation (.*manifest.jsonl) is also trained on" again.log ||
  { cat again.log; fail "validation on the training data is not named"; }
python3 -c 'import json, sys; sys.exit(json.load(open("out/run/config.json"))["train"]["steps"] != 3)' ||
  fail "out/run/config.json no longer says the run's 3 steps"
lines=$(wc -l < out/run/cache/latents.jsonl)
[[ $lines -eq 5 ]] || fail "expected 5 clips (2 videos of 2 clips, 1 image), got $lines"

for model in out/run out/run/checkpoint.safetensors; do
  "$cubist" generate "a card sliding past pattens" --model "$model" --size 64x48 --frames 9 \
    --steps 2 -o out/g.mp4 > gen.log 2>&1 || { cat gen.log; fail "generate --model $model"; }
  grep -q "as typed, not expanded" gen.log || { cat gen.log; fail "the prompt was expanded"; }
  grep -q "decoding with $vae" gen.log || { cat gen.log; fail "the run's autoencoder not found"; }
  [[ -s out/g.mp4 && -s out/g.mp4.json ]] || fail "no video from --model $model"
done
# info's command makes the same bytes again for a model of one's own captions too: named by a
# relative folder, with the note that its prompts are taken as typed.
"$cubist" info --json out/g.mp4 > info.json || fail "info out/g.mp4"
again=$(python3 -c 'import json; print(json.load(open("info.json"))["command"])' |
  sed 's|-o out/g.mp4|-o out/g_again.mp4|; s|cubist generate|"$cubist" generate|')
eval "$again" > again_gen.log 2>&1 || { cat again_gen.log; fail "info's command: $again"; }
cmp -s out/g.mp4 out/g_again.mp4 || fail "info's command did not make out/g.mp4 again: $again"
status=0
"$cubist" generate "a zebra" --model out/run --steps 1 -o out/z.mp4 > z.log 2>&1 || status=$?
[[ $status -eq 1 ]] && grep -q 'no training caption had: "z"' z.log || {
  cat z.log; fail "an unseen character was not refused"; }

# SIGTERM (a scheduler's, or kill's) stops the run checkpointed, with status 143, so that a
# script's `cubist train && next` does not go on.
"$cubist" train --config run.json --steps 100000 > term.log 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q "step/s" term.log && break; sleep 0.1; done
kill -TERM $pid
status=0
wait $pid || status=$?
[[ $status -eq 143 ]] || { cat term.log; fail "a run stopped by SIGTERM gave status $status"; }
grep -q "stopped at step [0-9]* (checkpoint saved)" term.log || { cat term.log; fail "not saved"; }
echo "own_videos.sh: passed"
