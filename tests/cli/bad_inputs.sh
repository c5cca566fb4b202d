#!/usr/bin/env bash
# Inputs a command cannot work with (empty manifests, sizes beyond what can be held, an empty
# path, a prompt far too long, odd settings in the environment) are refused with what is
# expected, where they had passed as an empty result or failed late; what an input loses on
# reading (transparency) is said (ctest's cli_bad_inputs).
source "$(dirname "$0")/common.bash"
cd "$tmp"

: > empty.jsonl
expect_failure "empty.jsonl lists no clips" "$cubist" eval --manifest empty.jsonl
expect_failure "empty.jsonl holds no captions" "$cubist" text tokenizer --manifest empty.jsonl \
  --out tok.json
expect_failure "empty.jsonl lists no videos" "$cubist" vae cache --data empty.jsonl --out cache
[[ ! -e tok.json && ! -e cache ]] || fail "an empty manifest left a file or folder behind"
# Sizes beyond what can be held or written: said before the work, or as memory, not bad_alloc.
expect_failure "takes sides of at most 16384" "$cubist" generate "a red ball" --size 100000x64 \
  -o big.mp4
expect_failure "error: out of memory: the job asks for more than this machine can give" \
  "$cubist" bench block --hidden 1000000 --tokens 1000000
"$cubist" --version | grep -qx "cubist [0-9.]*" || fail "cubist --version"
# A prompt far too long is named by its start and length, not repeated whole.
long=$(python3 -c 'print("a red ball " * 2000)')
expect_failure '(22000 characters)' "$cubist" generate "$long" --no-expand -o long.mp4
(($(wc -c < out.log) < 1000)) || fail "the error repeats the whole prompt"
expect_failure "give --refine N with it" "$cubist" vae encode x.mp4 --refine-lr 0.5 -o x.safetensors
expect_failure "option --model takes a path, not an empty one" "$cubist" generate "a red ball" \
  --model "" -o x.mp4
expect_failure "a head's dims (dim 62 / heads 2 = 31) must be even" "$cubist" bench block \
  --hidden 62 --heads 2 --rope --tokens 4
"$cubist" demo --steps 3 --out demo > demo.log 2>&1 || { cat demo.log; fail "a 3-step demo failed"; }
grep -q "3 steps are too few to judge" demo.log || { cat demo.log; fail "demo --steps 3"; }
# The environment's settings are checked as options are.
"$cubist" generate "a red ball" --frames 1 --steps 1 -o a.png > gen.log 2>&1 || { cat gen.log; fail "a.png"; }
CUBIST_VAE=/nonexistent expect_failure "CUBIST_VAE=/nonexistent: no such file" "$cubist" vae \
  encode a.png -o a.safetensors
CUBIST_CACHE_LIMIT_MB=-5 "$cubist" vae encode a.png -o a.safetensors > enc.log 2>&1 ||
  { cat enc.log; fail "vae encode with a bad CUBIST_CACHE_LIMIT_MB"; }
grep -q "CUBIST_CACHE_LIMIT_MB=-5 is not a whole number of MB; ignored" enc.log ||
  { cat enc.log; fail "a negative CUBIST_CACHE_LIMIT_MB was taken"; }
# Transparency, which reading to RGB leaves out, is said where an input has it.
ffmpeg -nostdin -loglevel error -f lavfi -i "color=c=red@0.3:size=32x32,format=rgba" \
  -frames:v 1 clear.png
"$cubist" vae encode clear.png -o clear.safetensors > clear.log 2>&1 || { cat clear.log; fail "clear"; }
grep -q "clear.png has transparency, which is left out" clear.log ||
  { cat clear.log; fail "the transparency of clear.png is not said"; }
"$cubist" vae encode a.png -o a.safetensors > opaque.log 2>&1 || { cat opaque.log; fail "a.png"; }
grep -q "transparency" opaque.log && fail "an opaque image said to have transparency"
# A GIF decodes to a format with alpha whether or not a colour is transparent: this one is not.
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=size=32x32:rate=8 -frames:v 5 opaque.gif
"$cubist" vae encode opaque.gif -o g.safetensors > gif.log 2>&1 || { cat gif.log; fail "gif"; }
grep -q "transparency" gif.log && { cat gif.log; fail "an opaque GIF said to have transparency"; }
# Every bad option of `data shapes` is named in one run, with the help that lists its options.
expect_failure "not 'avi'; --sizes: sizes \"65x64\"" "$cubist" data shapes --out ds --clips 2 \
  --sizes 65x64 --frames 2 --format avi
grep -q -- '--frames: frame counts "2"' out.log || { cat out.log; fail "--frames left unnamed"; }
grep -q -- 'see `cubist data shapes --help`' out.log || { cat out.log; fail "the help named"; }
[[ ! -e ds ]] || fail "data shapes with bad options wrote ds"
# A subcommand's --help prints help, where it had asked for the subcommand's options.
for sub in tokenizer encode expand; do
  "$cubist" text $sub --help | grep -q "usage: cubist text tokenizer" || fail "text $sub --help"
done
# Weights damaged into NaN, or a guidance past what floats hold: an error, not a black video.
mkdir damaged && cp "$root"/models/shapes/*.safetensors damaged/
python3 -c 'import os; f = open("damaged/dit.safetensors", "r+b")
f.seek(os.path.getsize("damaged/dit.safetensors") // 2); f.write(b"\xff" * 64)'
expect_failure "sampling gave values that are not finite numbers" "$cubist" generate "a red ball" \
  --model damaged --frames 5 --steps 2 -o nan.mp4
expect_failure "guidance inf; accepted: 1 to 100" "$cubist" generate "a red ball" --frames 5 \
  --guidance 1e308 -o inf.mp4
[[ ! -e nan.mp4 && ! -e inf.mp4 ]] || fail "a blank video was written"
expect_failure "--steps 0: give the step to train to, 1 or more" "$cubist" train \
  --config "$root/configs/dit/shapes.json" --steps 0
echo "bad_inputs.sh: passed"
