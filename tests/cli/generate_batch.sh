#!/usr/bin/env bash
# `cubist generate --batch FILE` from the command line (ctest's cli_generate_batch): the model is
# loaded once for every line; a line that cannot run stops the batch before anything is made; one
# that fails while generating is reported and the rest are still made (exit status 1).
source "$(dirname "$0")/common.bash"

cat > "$tmp/ok.txt" <<LINES
# two images and a short clip
"a red ball" --frames 1 --steps 1 --seed 1 -o '$tmp/a.png'
'a blue square moving left' --frames 5 --steps 1 --seed 2 -o "$tmp/b.mp4"

"a purple ball" --frames 1 --steps 1 -o $tmp/c.png
"a green triangle" --frames 1 --steps 1 -o $tmp/d.png
LINES
status=0
"$cubist" generate --batch "$tmp/ok.txt" > "$tmp/ok.log" 2>&1 || status=$?
[[ $status -eq 1 ]] || { cat "$tmp/ok.log"; fail "a failed line should give status 1, got $status"; }
for f in a.png a.png.json b.mp4 b.mp4.json d.png; do
  [[ -s "$tmp/$f" ]] || { cat "$tmp/ok.log"; fail "$f was not written"; }
done
[[ ! -e "$tmp/c.png" ]] || fail "c.png (an unknown word) was written"
grep -q "ok.txt:5: error: prompt: unknown word \"purple\"" "$tmp/ok.log" || {
  cat "$tmp/ok.log"; fail "the failed line is not named"; }
grep -q "3 of 4 written" "$tmp/ok.log" || { cat "$tmp/ok.log"; fail "no summary"; }
grep -q '"seed": 2' "$tmp/b.mp4.json" || fail "b.mp4's provenance lacks its seed"

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
