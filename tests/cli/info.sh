#!/usr/bin/env bash
# `cubist info` from the command line (ctest's cli_info): a generated video's provenance, read
# from its tags or the record beside it, gives the command that makes the same bytes again; the
# model files are checked against a model folder; weights, latents and tokenizers are described;
# what it cannot describe is named.
source "$(dirname "$0")/common.bash"

# The command of a description (--json), with its output moved to $2.
command_of() {
  "$cubist" info --json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["command"])' |
    sed "s|-o [^ ]*|-o $2|"
}
# Makes $1 again from its description's command as $2, and compares the bytes.
remake() {
  local cmd
  cmd=$(command_of "$1" "$2")
  (cd "$tmp" && eval "${cmd/cubist generate/\"\$cubist\" generate}") > "$tmp/remake.log" 2>&1 ||
    { cat "$tmp/remake.log"; fail "the command of $1 failed: $cmd"; }
  cmp -s "$tmp/$1" "$tmp/$2" || fail "$cmd did not make $1 again"
}

cd "$tmp"
"$cubist" generate "a red ball bouncing" --size 64x64 --frames 9 --steps 2 --seed 3 -o a.mp4 \
  > gen.log 2>&1 || { cat gen.log; fail "generate"; }
"$cubist" info a.mp4 > a.txt || fail "info a.mp4"
grep -q "a.mp4: generated video" a.txt || { cat a.txt; fail "a.mp4 is not named as generated"; }
grep -q "provenance_from: the video's metadata" a.txt || { cat a.txt; fail "not from the tags"; }
grep -q "same_model: true" a.txt || { cat a.txt; fail "the bundled model is not the one"; }
# The bytes depend on the thread count, which the record beside the video has.
command_of a.mp4 x.mp4 | grep -q "^OMP_NUM_THREADS=[0-9]* cubist generate " ||
  fail "a.mp4's command does not set the thread count it was made with"
remake a.mp4 a_again.mp4

# A GIF keeps its tags in a comment. Backward extension without seam guidance records none, and
# its command must still say 0 (the default is 4).
"$cubist" generate "a red ball bouncing" --extend a.mp4 --direction backward --frames 4 \
  --steps 1 --seam-guidance 0 --seed 4 -o b.gif > gen.log 2>&1 || { cat gen.log; fail "extend"; }
rm b.gif.json  # the GIF alone
"$cubist" info b.gif | grep -q "provenance_from: the video's metadata" || fail "b.gif's comment"
"$cubist" info b.gif | grep -q "command_note: the same bytes come at the thread count" ||
  fail "b.gif alone: no word that its thread count is unknown"
command_of b.gif x.gif | grep -q -- "--seam-guidance 0" || fail "seam guidance 0 left out"
remake b.gif b_again.gif
# An edit by two prompts, with a negative prompt and a quoted word, as WebM (muxed bit-exact).
"$cubist" generate "a blue ball bouncing" --edit a.mp4 --source-prompt "a red ball bouncing" \
  --strength 0.5 --steps 2 --negative-prompt "a green square" --guidance-rule projected \
  -o c.webm > gen.log 2>&1 || { cat gen.log; fail "edit"; }
remake c.webm c_again.webm
"$cubist" info c.webm.json | grep -q "c.webm.json: provenance record" || fail "c.webm.json"
# A single PNG keeps its tags in text chunks.
"$cubist" generate "a red ball" --frames 1 --steps 1 -o d.png > gen.log 2>&1 || { cat gen.log; fail "png"; }
rm d.png.json
"$cubist" info d.png | grep -q "d.png: generated image" || fail "d.png is not a generated image"
"$cubist" info d.png | grep -q "provenance_from: the video's metadata" || fail "d.png's tags"
remake d.png d_again.png
# A copy whose tags another tool dropped: the record beside it.
ffmpeg -v error -i a.mp4 -map_metadata -1 -c copy stripped.mp4
cp a.mp4.json stripped.mp4.json
"$cubist" info stripped.mp4 | grep -q "provenance_from: stripped.mp4.json" ||
  fail "the record beside a copy without tags"

# Another model: the transformer's file differs (f32, not the bundle's bf16).
mkdir other
"$cubist" export "$root/models/shapes/dit.safetensors" -o other/dit.safetensors > /dev/null
cp "$root/models/shapes/vae.safetensors" other/
"$cubist" info --json --model other a.mp4 | python3 -c '
import json, sys
m = json.load(sys.stdin)["made_by"]
assert m["same_model"] is False and m["differ"] == ["dit.safetensors"], m' ||
  fail "a different transformer is not found out"
# The model named, and the one: the command names it too.
command_of a.mp4 x.mp4 | grep -q -- "--model" && fail "the default model named in the command"
"$cubist" info --json --model "$root/models/shapes" a.mp4 | grep -q -- "--model $root/models/shapes" ||
  fail "the model named by --model is not in the command"

# A video made with --model: the record beside it names the folder, so the command does too.
cp -r "$root/models/shapes" mine
"$cubist" generate "a red ball" --frames 1 --steps 1 --seed 2 --model mine -o m.png > gen.log 2>&1 ||
  { cat gen.log; fail "generate --model mine"; }
"$cubist" info --json m.png | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["made_by"]["same_model"] is True, d["made_by"]
assert "--model '"$tmp"'/mine" in d["command"], d["command"]' || fail "m.png's model folder"
remake m.png m_again.png

# Weights, a folder, a latent and a tokenizer.
"$cubist" info "$root/models/shapes" > m.txt || fail "info of the bundled model folder"
grep -q "kind: transformer" m.txt && grep -q "kind: autoencoder" m.txt || { cat m.txt; fail "m"; }
grep -q "compression: 4x8x8x16" m.txt || { cat m.txt; fail "the autoencoder's compression"; }
"$cubist" vae encode a.mp4 -o a.safetensors > /dev/null 2>&1 || fail "vae encode"
"$cubist" info --json a.safetensors | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["kind"] == "latent" and d["video"]["frames"] == 9 and d["source"] == "a.mp4", d' ||
  fail "the latent file"
"$cubist" text tokenizer --out tok.json > /dev/null || fail "text tokenizer"
"$cubist" info tok.json | grep -q "type: word" || fail "the tokenizer"

# What it cannot describe.
expect_error() {  # expect_error STATUS PATTERN ARGS...
  local want=$1 pattern=$2 status=0
  shift 2
  "$cubist" info "$@" > err.log 2>&1 || status=$?
  [[ $status -eq $want ]] || { cat err.log; fail "info $* gave status $status, not $want"; }
  grep -q -- "$pattern" err.log || { cat err.log; fail "info $*: no \"$pattern\""; }
}
expect_error 1 "missing.mp4: no such file or folder" missing.mp4
echo "not a video" > notes.txt
expect_error 1 "describes videos and images" notes.txt
echo '{"a": 1}' > other.json
expect_error 1 "neither a tokenizer" other.json
# A training run's sample: its comment says what it is.
ffmpeg -nostdin -loglevel error -i a.mp4 -c copy -map_metadata -1 \
  -metadata comment="AI-generated by Cubist (training sample, step 7); prompts: a red ball" \
  sample.mp4
"$cubist" info sample.mp4 > sample.txt || fail "info sample.mp4"
grep -q "sample.mp4: training sample (AI-generated)" sample.txt &&
  grep -q "comment: AI-generated by Cubist (training sample, step 7)" sample.txt ||
  { cat sample.txt; fail "a training sample is not named"; }
# Several (`cubist info run/*`): one it cannot describe is named, and the others still are.
status=0
"$cubist" info a.mp4 notes.txt tok.json > several.txt 2> several.err || status=$?
[[ $status -eq 1 ]] || fail "info of several with one bad: status $status"
grep -q "notes.txt" several.err || { cat several.err; fail "the bad one is not named"; }
grep -q "a.mp4: generated video" several.txt && grep -q "tok.json: tokenizer" several.txt ||
  { cat several.txt; fail "the others were not described"; }
python3 -c 'import struct, sys; h = b"{}"; sys.stdout.buffer.write(struct.pack("<Q", len(h)) + h)' \
  > foreign.safetensors
expect_error 1 "not one of Cubist's" foreign.safetensors
expect_error 2 "give the files" --json
# A record of other frames beside a video without tags is not taken as its provenance.
ffmpeg -nostdin -loglevel error -i a.mp4 -map_metadata -1 -c copy -frames:v 5 bare.mp4
cp a.mp4.json bare.mp4.json
"$cubist" info bare.mp4 > bare.txt || { cat bare.txt; fail "info bare.mp4"; }
grep -q "bare.mp4: video$" bare.txt && grep -q "records a video of 9 frames" bare.txt ||
  { cat bare.txt; fail "a record of another video was taken as bare.mp4's"; }
# Checked against another model: the command is said to need the one that made it.
mkdir other && "$cubist" export "$root/models/shapes/dit.safetensors" -o other/dit.safetensors \
  > /dev/null && cp "$root/models/shapes/vae.safetensors" other/
"$cubist" info a.mp4 --model other > other.txt || { cat other.txt; fail "info --model other"; }
grep -q "same_model: false" other.txt && grep -q "is not the one that made it" other.txt ||
  { cat other.txt; fail "info --model OTHER does not say the command needs the model that made it"; }
echo "info.sh: passed"
