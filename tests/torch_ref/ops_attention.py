"""References for attention over packed sequences and three-axis rotary embedding, written out
explicitly (torch 1.13 has no scaled_dot_product_attention)."""
import torch

from registry import grads, leaf, op


def lengths(attrs, key, total):
    s = attrs.get(key, "")
    return [int(x) for x in s.split(",")] if s else [total]


@op("attention")
def attention(t, attrs):
    """softmax(scale q kᵀ + mask) v per head; the mask lets query sequence i see key sequence i."""
    q, k, v = leaf(t["q"]), leaf(t["k"]), leaf(t["v"])
    sq, skv, d = q.shape[0], k.shape[0], q.shape[2]
    scale = float(attrs.get("scale", "0")) or d ** -0.5
    lq, lk = lengths(attrs, "seqlens_q", sq), lengths(attrs, "seqlens_kv", skv)
    mask = torch.zeros(sq, skv, dtype=torch.bool)
    qa = ka = 0
    for a, b in zip(lq, lk):
        mask[qa:qa + a, ka:ka + b] = True
        qa, ka = qa + a, ka + b
    scores = torch.einsum("qhd,khd->hqk", q, k) * scale
    scores = scores.masked_fill(~mask, float("-inf"))
    p = torch.softmax(scores, dim=-1)
    y = torch.einsum("hqk,khe->qhe", p, v)
    lse = torch.logsumexp(scores, dim=-1)
    return {"y": y, "lse": lse.detach(), **grads(y, t["gy"].double(), {"q": q, "k": k, "v": v})}


@op("rope3d")
def rope3d(t, attrs):
    """Interleaved pairs (2i, 2i+1) of each axis's section rotated by pos · theta^(-2i/d_axis)."""
    x, pos = leaf(t["x"]), t["positions"].double()
    sections = [int(s) for s in attrs["sections"].split(",")]
    theta = float(attrs.get("theta", "10000"))
    parts, o = [], 0
    for a, da in enumerate(sections):
        xa = x[..., o:o + da]
        i = torch.arange(da // 2, dtype=torch.float64)
        phi = pos[:, a:a + 1] * theta ** (-2.0 * i / da)  # [S, da/2]
        c, s = torch.cos(phi)[:, None, :], torch.sin(phi)[:, None, :]
        x0, x1 = xa[..., 0::2], xa[..., 1::2]
        parts.append(torch.stack([x0 * c - x1 * s, x0 * s + x1 * c], dim=-1).flatten(-2))
        o += da
    y = torch.cat(parts, dim=-1)
    return {"y": y, **grads(y, t["gy"].double(), {"x": x})}
