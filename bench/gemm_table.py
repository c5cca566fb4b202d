"""Turns bench_gemm's JSON lines into the Markdown tables of docs/PERFORMANCE.md.

    bench/gemm.sh > gemm.txt; python3 bench/gemm_table.py [--stat=median|best] gemm.txt [more.txt]

--stat=median (default) tabulates each measurement's median run; --stat=best its fastest run.
With several files, each (library, shape) keeps its highest figure over the files: on a shared
machine that is the run least disturbed by other work.
"""
import json
import sys


def main():
    stat = "median"
    files = []
    for a in sys.argv[1:]:
        if a.startswith("--stat="):
            stat = a.split("=", 1)[1]
        else:
            files.append(a)
    key = "gflops" if stat == "median" else "best_gflops"
    g, info, peak = {}, {}, None
    for f in files:
        for line in open(f):
            if not line.startswith("{"):
                continue
            r = json.loads(line)
            if r.get("peak"):
                peak = r if peak is None or r["peak_gflops"] > peak["peak_gflops"] else peak
            elif not r.get("summary"):
                k = (r["lib"], r["shape"])
                g[k] = max(g.get(k, 0.0), r[key])
                info[r["shape"]] = r
    libs = list(dict.fromkeys(lib for lib, _ in g))
    shapes = list(dict.fromkeys(s for _, s in g))
    p = peak["peak_gflops"]
    print(f"Peak: {p:.1f} GFLOPS ({peak['ghz']:.2f} GHz x {peak['flops_per_cycle_per_core']:.0f}"
          f" flop/cycle x {peak['threads']} cores). Figures: {stat} run, GFLOPS.\n")
    print("| library | DiT aggregate | % of peak | DiT best | % of peak | tiles aggregate |")
    print("|---|---:|---:|---:|---:|---:|")
    for lib in libs:
        agg = {"dit": [0.0, 0.0], "tile": [0.0, 0.0]}
        best = 0.0
        for s in shapes:
            r = info[s]
            flops = 2.0 * r["M"] * r["N"] * r["K"]
            v = g[(lib, s)]
            agg[r["group"]][0] += flops
            agg[r["group"]][1] += flops / (v * 1e9)
            if r["group"] == "dit":
                best = max(best, v)
        dit = agg["dit"][0] / agg["dit"][1] * 1e-9 if agg["dit"][1] else 0.0
        tile = agg["tile"][0] / agg["tile"][1] * 1e-9 if agg["tile"][1] else 0.0
        print(f"| {lib} | {dit:.1f} | {100 * dit / p:.0f}% | {best:.1f} | {100 * best / p:.0f}%"
              f" | {tile:.1f} |")
    print("\n| shape | op | M | N | K | " + " | ".join(libs) + " |")
    print("|---|---|---:|---:|---:|" + "---:|" * len(libs))
    for s in shapes:
        r = info[s]
        vals = [g.get((lib, s)) for lib in libs]
        top = max(v for v in vals if v is not None)
        cells = [("**%.1f**" if v == top else "%.1f") % v if v is not None else "-" for v in vals]
        print(f"| {s} | {r['op']} | {r['M']} | {r['N']} | {r['K']} | " + " | ".join(cells) + " |")


main()
