#!/usr/bin/env bash
# `cubist text tokenizer` and `cubist text encode` from the command line (ctest's
# cli_text_tokenizer): a SentencePiece tokenizer built from a manifest's captions reads a word
# it never saw as pieces, names a character no caption had, and bad options say what is accepted.
source "$(dirname "$0")/common.bash"

cat > "$tmp/m.jsonl" <<LINES
{"path": "a.mp4", "caption": "A golden retriever runs along the beach at sunset."}
{"path": "b.mp4", "caption": "Two dogs playing in a snowy park near a café"}
LINES
"$cubist" text tokenizer --out "$tmp/sp.json" --manifest "$tmp/m.jsonl" --type sentencepiece \
  --pieces 100 > "$tmp/build.log"
grep -q '"type": "sentencepiece"' "$tmp/sp.json" || fail "not a sentencepiece file"
out=$("$cubist" text encode --tokenizer "$tmp/sp.json" "Puppies at the CAFÉ" --tokens 2>&1) ||
  fail "an unseen word of seen letters was refused: $out"
[[ $out == *'"tokens":['* && $out != *'<unk>'* ]] || fail "unexpected encoding: $out"
status=0
out=$("$cubist" text encode --tokenizer "$tmp/sp.json" "a quiet zebra" 2>&1) || status=$?
[[ $status -eq 1 && $out == *'"z"'* && $out == *'"q"'* ]] || fail "unseen characters: $status $out"
status=0
out=$("$cubist" text tokenizer --out "$tmp/x.json" --type bpe 2>&1) || status=$?
[[ $status -eq 2 && $out == *"word or sentencepiece"* ]] || fail "--type bpe: $status $out"
status=0
out=$("$cubist" text tokenizer --out "$tmp/x.json" --pieces 10 2>&1) || status=$?
[[ $status -eq 2 && $out == *"add --type sentencepiece"* ]] || fail "--pieces alone: $status $out"
# A model's tokenizer, read from its weights (a folder, or its dit.safetensors).
"$cubist" text encode --tokenizer "$root/models/shapes" "a red circle" > "$tmp/ids.txt" ||
  fail "text encode --tokenizer MODEL_DIR"
[[ $(cat "$tmp/ids.txt") == "$("$cubist" text encode --tokenizer "$root/models/shapes/dit.safetensors" \
  "a red circle")" ]] || fail "a model folder and its dit.safetensors read a prompt otherwise"
expect_failure "holds no tokenizer" "$cubist" text encode --tokenizer \
  "$root/models/shapes/vae.safetensors" "red"
echo "text_tokenizer.sh: passed"
