#!/usr/bin/env python3
"""Two runs of the same captions and seeds compared clip by clip (the sign test behind the
"p =" values of docs/QUALITY.md): how many clips only A gets fully right, how many only B, and a two-sided
sign test over those discordant clips (the clips both get right or both get wrong say nothing
about which run is better); then the same for each attribute kind, counted per clip.

    python3 bench/paired_eval.py out/A/eval.jsonl out/B/eval.jsonl

bench/generation_eval.sh writes eval.jsonl (`cubist eval`'s verdict on every clip) in its --out
folder; for other clips, `build/cubist eval --manifest M > eval.jsonl`.
"""
import json
import math
import sys


def clips(path):
    """The per-clip objects of a `cubist eval --manifest` output, without its summary."""
    out = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                j = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"paired_eval: {path} line {n} is not JSON ({e}); give the output of "
                         "`cubist eval --manifest M` without --quiet")
            if "summary" not in j:
                out.append(j)
    if not out:
        sys.exit(f"paired_eval: {path} holds no clips; give the output of `cubist eval --manifest M` "
                 "without --quiet (--quiet prints only the summary)")
    return out


def sign_test(only_a, only_b):
    """Two-sided p of the split only_a : only_b under a fair coin."""
    n, k = only_a + only_b, min(only_a, only_b)
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n) if n else 1.0


def kind(name):  # "object 2 colour" -> "colour"; "extra objects", "background" as they are
    return name.split()[-1] if name.startswith("object ") else name


def line(label, a, b):
    only_a = sum(x and not y for x, y in zip(a, b))
    only_b = sum(y and not x for x, y in zip(a, b))
    print(f"{label:<16} A {sum(a):>4}  B {sum(b):>4}  only A {only_a:>3}  only B {only_b:>3}  "
          f"p = {sign_test(only_a, only_b):.3f}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = clips(sys.argv[1]), clips(sys.argv[2])
    if len(a) != len(b) or any(x["caption"] != y["caption"] for x, y in zip(a, b)):
        sys.exit(f"paired_eval: the two runs are not of the same captions in the same order "
                 f"({len(a)} and {len(b)} clips); compare runs of one caption set and seed")
    line("fully right", [c["ok"] for c in a], [c["ok"] for c in b])
    kinds = sorted({kind(x["name"]) for c in a for x in c["attributes"]})
    for k in kinds:  # a clip counts as right for a kind when every such attribute is right
        right = lambda c: all(x["ok"] for x in c["attributes"] if kind(x["name"]) == k)
        line(k, [right(c) for c in a], [right(c) for c in b])


if __name__ == "__main__":
    main()
