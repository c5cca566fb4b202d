"""PyTorch baseline for bench_attention: attention as two batched GEMMs plus a softmax.

    /usr/bin/python3 bench/attention_torch.py [threads]

Times forward and forward+backward at S = 1024 and 4096, H = 6, D = 64 (one DiT-S block's
self-attention) and prints GFLOPS counted as bench_attention counts them (best of 5 wall times,
with the CPU time per thread of that run: wall well above it means a shared machine).
"""
import sys
import time

import torch


def run(s, h=6, d=64, reps=5):
    q, k, v = (torch.randn(h, s, d, requires_grad=True) for _ in range(3))
    scale = d ** -0.5

    def fwd():
        return torch.softmax((q @ k.transpose(1, 2)) * scale, dim=-1) @ v

    def best(fn):
        """(wall, cpu per thread) of the run with the best wall time."""
        fn()
        t = []
        for _ in range(reps):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            t.append((time.perf_counter() - t0, (time.process_time() - c0) / threads))
        return min(t)

    with torch.no_grad():
        tf = best(fwd)
    go = torch.randn(h, s, d)
    tb = best(lambda: fwd().backward(go))
    flops = 4.0 * s * s * d * h
    for what, (wall, cpu), f in (("torch fwd", tf, flops), ("torch fwd+bwd", tb, 3.5 * flops)):
        print(f"S={s:6d}  {what:<14s} {wall*1e3:9.2f} ms {f/wall/1e9:6.1f} GFLOPS   "
              f"(cpu/thread {cpu*1e3:9.2f} ms {f/cpu/1e9:6.1f} GFLOPS)")


threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
torch.set_num_threads(threads)
print("torch", torch.__version__, "threads", torch.get_num_threads())
for s in (1024, 4096):
    run(s)
