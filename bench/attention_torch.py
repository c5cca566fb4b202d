"""PyTorch baseline for bench_attention: attention as two batched GEMMs plus a softmax.

    /usr/bin/python3 bench/attention_torch.py [threads]

Times forward and forward+backward at S = 1024 and 4096, H = 6, D = 64 (one DiT-S block's
self-attention) and prints GFLOPS counted as bench_attention counts them.
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
        fn()
        t = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            t.append(time.perf_counter() - t0)
        return min(t)

    with torch.no_grad():
        tf = best(fwd)
    go = torch.randn(h, s, d)
    tb = best(lambda: fwd().backward(go))
    flops = 4.0 * s * s * d * h
    print(f"torch S={s:5d} forward {tf*1e3:8.2f} ms {flops/tf/1e9:7.1f} GFLOPS | "
          f"fwd+bwd {tb*1e3:8.2f} ms {3.5*flops/tb/1e9:7.1f} GFLOPS")


torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
print("torch", torch.__version__, "threads", torch.get_num_threads())
for s in (1024, 4096):
    run(s)
