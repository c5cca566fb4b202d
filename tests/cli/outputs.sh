#!/usr/bin/env bash
# What is already there survives a command that cannot write its output (ctest's cli_outputs):
# places that take no files are named before the work, a folder of someone's pictures is not
# taken for frames, an input is not overwritten by what is made from it, a file of another kind
# is not replaced by what a command writes, and a record edited by hand is still shown.
source "$(dirname "$0")/common.bash"
cd "$tmp"

"$cubist" generate "a red ball" --frames 1 --steps 1 --seed 1 -o a.png > gen.log 2>&1 ||
  { cat gen.log; fail "generate a.png"; }
cp a.png a_before.png

# Before the model loads: nothing is sampled for an output that cannot be written.
expect_failure "cannot write in the folder /proc" "$cubist" generate "a red ball" -o /proc/x.mp4
grep -q "expanded:" out.log && fail "a video was sampled for /proc/x.mp4"
expect_failure "takes a finite number, not 'inf'" "$cubist" generate "a red ball" --guidance inf \
  -o g.mp4

# The record beside the video is checked with it: the old video stays when it cannot be written.
echo "an old video" > j.mp4
mkdir j.mp4.json
expect_failure "j.mp4.json: exists and is a folder" "$cubist" generate "a red ball" --frames 1 \
  --steps 1 -o j.mp4
[[ "$(cat j.mp4)" == "an old video" ]] || fail "j.mp4 was replaced though its record could not be"

# An edit written over its own input.
expect_failure "is also the input a.png" "$cubist" generate "a blue ball" --edit a.png -o ./a.png
cmp -s a.png a_before.png || fail "a.png was overwritten by its own edit"

# A folder of pictures that are not frames named by number keeps them.
mkdir photos
cp a.png photos/holiday.png
cp a.png photos/000000.png
expect_failure "holiday.png" "$cubist" generate "a red ball" --frames 5 --steps 1 -o photos/
[[ -f photos/holiday.png ]] || fail "photos/holiday.png was deleted"

# Folders: a file in the way is named.
expect_failure "exists and is a file, where a folder is written" "$cubist" demo --steps 1 \
  --out a.png
expect_failure "cannot make the folder" "$cubist" data shapes --clips 1 --out a.png/clips

# Files named as what they are not.
expect_failure "a latent is written as a .safetensors file; name it a.safetensors" \
  "$cubist" vae encode a.png -o a.mp4
expect_failure "name it t.json" "$cubist" text tokenizer --out t.txt
[[ ! -e a.mp4 && ! -e t.txt ]] || fail "a file was written under a name it is not"

# A command replaces a file of its own kind only: not weights, a record, or a user's file.
cp "$root/models/shapes/dit.safetensors" "$root/models/shapes/vae.safetensors" .
expect_failure "vae.safetensors: exists and is an autoencoder, which export would replace" \
  "$cubist" export dit.safetensors -o vae.safetensors
expect_failure "is also the input of export" "$cubist" export dit.safetensors -o dit.safetensors \
  --bf16
expect_failure "dit.safetensors: exists and is a transformer, which vae encode would replace" \
  "$cubist" vae encode a.png -o dit.safetensors
cmp -s dit.safetensors "$root/models/shapes/dit.safetensors" &&
  cmp -s vae.safetensors "$root/models/shapes/vae.safetensors" || fail "weights were replaced"
expect_failure "a.png.json: exists and is a provenance record, which text tokenizer" \
  "$cubist" text tokenizer --out a.png.json
echo '{"my": "settings"}' > config.json
expect_failure "config.json: exists and is a file Cubist does not write" "$cubist" generate \
  "a red ball" --frames 5 --steps 1 -o config
grep -q '"my": "settings"' config.json || fail "config.json was replaced"
"$cubist" text tokenizer --out t.json > t.log && "$cubist" text tokenizer --out t.json > t.log ||
  fail "a tokenizer did not replace its own kind"

# A record edited by hand: shown, with the field at fault named in place of a command.
python3 -c 'import json; r = json.load(open("a.png.json")); r["guidance"] = None
json.dump(r, open("a.png.json", "w"))'
"$cubist" info a.png.json > info.log 2>&1 || { cat info.log; fail "info on an edited record"; }
grep -q "command_note: no command can be made from this record: the record's \"guidance\" is null" \
  info.log || { cat info.log; fail "the edited field is not named"; }
echo "outputs.sh: passed"
