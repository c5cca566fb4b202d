#!/usr/bin/env bash
# CUBIST_PROGRESS=json (ctest's cli_progress_json): a long job's progress as a JSON object a line
# on standard error, for programs that drive cubist; the last says the job is done.
source "$(dirname "$0")/common.bash"
CUBIST_PROGRESS=json "$cubist" generate "a red ball" --frames 5 --steps 3 -o "$tmp/a.mp4" \
  2> "$tmp/progress.jsonl" > /dev/null
/usr/bin/python3 - "$tmp/progress.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")]
assert lines, "no JSON progress lines"
last = lines[-1]
assert last["progress"] == "generate" and last["final"] is True, last
assert last["done"] == last["total"] == 3 and last["unit"] == "step", last
assert all(set(l) >= {"done", "total", "rate", "elapsed_s", "left_s", "info"} for l in lines)
assert [l["done"] for l in lines] == sorted(l["done"] for l in lines), "done went back"
PY
echo "progress_json.sh: passed"
