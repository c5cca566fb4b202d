#!/usr/bin/env bash
# `cubist vae train` run again (ctest's cli_vae_train): extended with --steps, it says where it
# resumed; asked for fewer steps than it has taken, it says that nothing was trained and leaves
# its files as they were.
source "$(dirname "$0")/common.bash"
cd "$tmp"

"$cubist" vae train --config "$root/configs/vae/tiny.json" --out vt --steps 3 > a.log 2>&1 ||
  { cat a.log; fail "vae train"; }
grep -q "done at step 3" a.log || { cat a.log; fail "not done at step 3"; }
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
echo "vae_train.sh: passed"
