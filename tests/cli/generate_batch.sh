#!/usr/bin/env bash
# `cubist generate --batch FILE` from the command line (ctest's cli_generate_batch): the model is
# loaded once for every line; a line that cannot run stops the batch before anything is made; one
# that fails in its turn (its input not yet made) is reported and the rest are still made (exit
# status 1).
source "$(dirname "$0")/common.bash"

cat > "$tmp/ok.txt" <<LINES
# two images and a short clip; the third line edits the first's image; the fifth's input is
# made only after it, so it fails in its turn
"a red ball" --frames 1 --steps 1 --seed 1 -o '$tmp/a.png'
'a blue square moving left' --frames 5 --steps 1 --seed 2 -o "$tmp/b.mp4"
"a blue ball" --edit $tmp/a.png --steps 2 -o $tmp/c.png

"a green triangle" --edit $tmp/later.png --steps 2 -o $tmp/d.png
"a green triangle" --frames 1 --steps 1 -o $tmp/later.png
LINES
status=0
"$cubist" generate --batch "$tmp/ok.txt" > "$tmp/ok.log" 2>&1 || status=$?
[[ $status -eq 1 ]] || { cat "$tmp/ok.log"; fail "a failed line should give status 1, got $status"; }
for f in a.png a.png.json b.mp4 b.mp4.json c.png later.png; do
  [[ -s "$tmp/$f" ]] || { cat "$tmp/ok.log"; fail "$f was not written"; }
done
[[ ! -e "$tmp/d.png" ]] || fail "d.png (its input not yet made) was written"
grep -q "ok.txt:7: error: .*later.png" "$tmp/ok.log" || {
  cat "$tmp/ok.log"; fail "the failed line is not named"; }
grep -q "4 of 5 written" "$tmp/ok.log" || { cat "$tmp/ok.log"; fail "no summary"; }
grep -q '"seed": 2' "$tmp/b.mp4.json" || fail "b.mp4's provenance lacks its seed"

# What needs the model (words it knows, sizes it takes) is checked for every line before the
# first is made, and so is an output two lines would write.
printf '"a red ball" --frames 1 --steps 1 -o %s/g.png\n"a purple ball" --frames 1 -o %s/h.png\n' \
  "$tmp" "$tmp" > "$tmp/unknown.txt"
printf '"a red ball" --frames 1 -o %s/k.png\n"a red ball" --frames 1 -o %s/./k.png\n' \
  "$tmp" "$tmp" > "$tmp/twice.txt"
for batch in unknown twice; do
  status=0
  "$cubist" generate --batch "$tmp/$batch.txt" > "$tmp/$batch.log" 2>&1 || status=$?
  [[ $status -eq 2 ]] || { cat "$tmp/$batch.log"; fail "$batch: status 2 expected, got $status"; }
done
grep -q 'unknown.txt:2: prompt: unknown word "purple"' "$tmp/unknown.log" || {
  cat "$tmp/unknown.log"; fail "the unknown word is not named before generating"; }
[[ ! -e "$tmp/g.png" ]] || fail "g.png was made although a line of its batch cannot run"
grep -q "twice.txt:2: -o .*k.png is written by .*twice.txt:1 too" "$tmp/twice.log" || {
  cat "$tmp/twice.log"; fail "an output written twice is not refused"; }

printf '"a red ball" --frames 1 -o %s/e.png\n"unclosed -o x.png\n' "$tmp" > "$tmp/bad.txt"
status=0
"$cubist" generate --batch "$tmp/bad.txt" > "$tmp/bad.log" 2>&1 || status=$?
[[ $status -eq 2 ]] || { cat "$tmp/bad.log"; fail "a bad line should give status 2, got $status"; }
grep -q 'bad.txt:2: a " is not closed' "$tmp/bad.log" || { cat "$tmp/bad.log"; fail "no reason"; }
[[ ! -e "$tmp/e.png" ]] || fail "e.png was made although a line of its batch cannot run"
# "-": the lines from standard input.
printf '"a red ball" --frames 1 --steps 1 -o %s/f.png\n' "$tmp" |
  "$cubist" generate --batch - > "$tmp/stdin.log" 2>&1 || { cat "$tmp/stdin.log"; fail "--batch -"; }
[[ -s "$tmp/f.png" ]] || fail "f.png from standard input was not written"
echo "generate_batch.sh: passed"
