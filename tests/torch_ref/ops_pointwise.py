"""References for the row-wise and pointwise ops of a DiT: norms, adaLN modulation, activations,
softmax, embedding, the MSE loss, and projected guidance. Each returns the forward output and the
gradients of every input (where it has a backward), computed in float64."""
import torch
import torch.nn.functional as F

from registry import grads, leaf, op


def _leaves(t, names):
    """float64 leaves for the named inputs that are present."""
    return {k: leaf(t[k]) for k in names if k in t}


def _per_sample(v, x):
    """[B, D] -> [B, 1, ..., 1, D], broadcastable over the tokens of x[B, ..., D]."""
    return v.reshape(v.shape[0], *([1] * (x.dim() - 2)), v.shape[1])


@op("layer_norm")
def layer_norm(t, attrs):
    v = _leaves(t, ["x", "weight", "bias"])
    x = v["x"]
    y = F.layer_norm(x, (x.shape[-1],), v.get("weight"), v.get("bias"), float(attrs["eps"]))
    return {"y": y, **grads(y, t["gy"].double(), v)}


@op("rms_norm")
def rms_norm(t, attrs):
    v = _leaves(t, ["x", "weight"])
    x = v["x"]
    y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + float(attrs["eps"]))
    if "weight" in v:
        y = y * v["weight"]
    return {"y": y, **grads(y, t["gy"].double(), v)}


@op("modulate")
def modulate(t, attrs):
    v = _leaves(t, ["x", "shift", "scale"])
    x = v["x"]
    y = x * (1 + _per_sample(v["scale"], x)) + _per_sample(v["shift"], x)
    return {"y": y, **grads(y, t["gy"].double(), v)}


@op("gate_residual")
def gate_residual(t, attrs):
    v = _leaves(t, ["x", "gate", "y"])
    x = v["x"]
    out = x + _per_sample(v["gate"], x) * v["y"]
    return {"out": out, **grads(out, t["gy"].double(), v)}


@op("layer_norm_modulate")
def layer_norm_modulate(t, attrs):
    v = _leaves(t, ["x", "shift", "scale"])
    x = v["x"]
    h = F.layer_norm(x, (x.shape[-1],), None, None, float(attrs["eps"]))
    y = h * (1 + _per_sample(v["scale"], x)) + _per_sample(v["shift"], x)
    return {"y": y, **grads(y, t["gy"].double(), v)}


@op("gelu_tanh")
def gelu_tanh(t, attrs):
    v = _leaves(t, ["x"])
    y = F.gelu(v["x"], approximate="tanh")
    return {"y": y, **grads(y, t["gy"].double(), v)}


@op("silu")
def silu(t, attrs):
    v = _leaves(t, ["x"])
    y = F.silu(v["x"])
    return {"y": y, **grads(y, t["gy"].double(), v)}


@op("bias_gelu")
def bias_gelu(t, attrs):
    v = _leaves(t, ["x", "b"])
    y = F.gelu(v["x"] + v["b"], approximate="tanh")
    return {"y": y, **grads(y, t["gy"].double(), v)}


@op("softmax")
def softmax(t, attrs):
    v = _leaves(t, ["x"])
    y = torch.softmax(v["x"], dim=-1)
    return {"y": y, **grads(y, t["gy"].double(), v)}


@op("embedding")
def embedding(t, attrs):
    v = _leaves(t, ["table"])
    idx = t["indices"].round().long()  # sent as f32: the reader and writer handle F32 only
    y = F.embedding(idx, v["table"])
    return {"y": y, **grads(y, t["gy"].double(), v)}


@op("mse_loss")
def mse_loss(t, attrs):
    v = _leaves(t, ["pred", "target"])
    loss = F.mse_loss(v["pred"], v["target"])
    return {"loss": loss, **grads(loss, t["gy"].double().reshape(()), v)}


@op("guide_projected")
def guide_projected(t, attrs):
    """Projected guidance as Sadat et al. (2024) write it, on the clean predictions
    x0 = x - t v: the guidance x0_cond - x0_uncond less its projection on x0_cond, then back to
    a velocity, v = (x - x0) / t. Cubist works in velocities directly."""
    x, vc, vu = (t[k].double() for k in ("x", "v_cond", "v_uncond"))
    time, scale = float(attrs["t"]), float(attrs["scale"])
    x0c, x0u = x - time * vc, x - time * vu
    diff = x0c - x0u
    unit = x0c.flatten() / x0c.flatten().norm()
    orthogonal = diff - (diff.flatten() @ unit) * unit.reshape(diff.shape)
    x0 = x0c + (scale - 1.0) * orthogonal
    return {"v": (x - x0) / time}
