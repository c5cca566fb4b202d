#!/usr/bin/env bash
# `cubist vae train` run again (ctest's cli_vae_train): extended with --steps, it says where it
# resumed; asked for fewer steps than it has taken, it says that nothing was trained and leaves
# its files as they were. A latent decodes with the autoencoder that encoded it, and is refused
# by one of the same config with other weights.
source "$(dirname "$0")/common.bash"
cd "$tmp"

"$cubist" vae train --config "$root/configs/vae/tiny.json" --out vt --steps 3 > a.log 2>&1 ||
  { cat a.log; fail "vae train"; }
grep -q "done at step 3" a.log || { cat a.log; fail "not done at step 3"; }
cp vt/vae.safetensors vae3.safetensors
"$cubist" vae train --config "$root/configs/vae/tiny.json" --out vt --steps 5 > b.log 2>&1 ||
  { cat b.log; fail "vae train --steps 5"; }
grep -q "resumed at step 3" b.log && grep -q "done at step 5" b.log ||
  { cat b.log; fail "the extension does not say where it resumed"; }
"$cubist" vae train --config "$root/configs/vae/tiny.json" --out vt --steps 2 > c.log 2>&1 ||
  { cat c.log; fail "vae train --steps 2"; }
grep -q "vt was already at step 5, where 2 steps were asked; nothing was trained" c.log ||
  { cat c.log; fail "a run already past --steps is not named"; }
python3 -c 'import json, sys; sys.exit(json.load(open("vt/config.json"))["train"]["steps"] != 5)' ||
  fail "vt/config.json no longer says the run's 5 steps"
# Latents of the 3-step encoder: the 5-step one (same config) is refused, and without --model
# the file that encoded them is found (the bundled autoencoder has another config).
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc=size=32x32:rate=8 -frames:v 5 clip.mp4
"$cubist" vae encode clip.mp4 -o z.safetensors --model vae3.safetensors > e.log 2>&1 ||
  { cat e.log; fail "vae encode"; }
expect_failure "z.safetensors: encoded by another encoder" "$cubist" vae decode z.safetensors \
  -o wrong.mp4 --model vt/vae.safetensors
grep -q -- "--model $tmp/vae3.safetensors" out.log || { cat out.log; fail "the encoder not named"; }
[[ ! -e wrong.mp4 ]] || fail "a refused decode wrote wrong.mp4"
"$cubist" vae decode z.safetensors -o right.mp4 > d.log 2>&1 || { cat d.log; fail "vae decode"; }
grep -q "with $tmp/vae3.safetensors, the autoencoder that encoded it" d.log ||
  { cat d.log; fail "decode without --model did not use the latent's autoencoder"; }
# Its bf16 export holds the same encoder at another precision: accepted.
"$cubist" export vae3.safetensors -o vae3_bf16.safetensors --bf16 > x.log 2>&1 || fail "export"
"$cubist" vae decode z.safetensors -o bf16.mp4 --model vae3_bf16.safetensors > f.log 2>&1 ||
  { cat f.log; fail "decoding with the bf16 export of the encoder's autoencoder"; }
echo "vae_train.sh: passed"
