"""Turns bench_gemm's JSON lines into the Markdown tables of docs/PERFORMANCE.md.

    bench/gemm.sh > gemm.txt; python3 bench/gemm_table.py gemm.txt
"""
import json
import sys


def main():
    rows, summary, peak = [], [], None
    for line in open(sys.argv[1]):
        if not line.startswith("{"):
            continue
        r = json.loads(line)
        if r.get("peak"):
            peak = r
        elif r.get("summary"):
            summary.append(r)
        else:
            rows.append(r)
    libs = list(dict.fromkeys(r["lib"] for r in rows))
    shapes = list(dict.fromkeys((r["shape"], r["op"], r["M"], r["N"], r["K"]) for r in rows))
    g = {(r["lib"], r["shape"]): r["gflops"] for r in rows}
    p = peak["peak_gflops"]
    print(f"Peak: {p:.1f} GFLOPS ({peak['ghz']:.2f} GHz x {peak['flops_per_cycle_per_core']:.0f}"
          f" flop/cycle x {peak['threads']} cores; FMA bursts at {peak['fma_ghz']:.2f} GHz)\n")
    print("| library | DiT aggregate GFLOPS | % of peak | DiT best GFLOPS | % of peak "
          "| tiles aggregate GFLOPS |")
    print("|---|---:|---:|---:|---:|---:|")
    for s in summary:
        print(f"| {s['lib']} | {s['dit_aggregate_gflops']:.1f} | "
              f"{100 * s['dit_aggregate_gflops'] / p:.0f}% | {s['dit_best_gflops']:.1f} | "
              f"{100 * s['dit_best_gflops'] / p:.0f}% | {s['tile_aggregate_gflops']:.1f} |")
    print("\n| shape | op | M | N | K | " + " | ".join(libs) + " |")
    print("|---|---|---:|---:|---:|" + "---:|" * len(libs))
    for name, op, m, n, k in shapes:
        vals = [g.get((lib, name)) for lib in libs]
        best = max(v for v in vals if v is not None)
        cells = [("**%.1f**" if v == best else "%.1f") % v if v is not None else "-" for v in vals]
        print(f"| {name} | {op} | {m} | {n} | {k} | " + " | ".join(cells) + " |")


main()
