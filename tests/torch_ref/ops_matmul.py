"""References for linear (torch.nn.functional.linear) and batched matmul."""
import torch

from registry import grads, leaf, op


@op("linear")
def linear(t, attrs):
    x, w = leaf(t["x"]), leaf(t["w"])
    inputs = {"x": x, "w": w}
    b = None
    if "b" in t:
        b = leaf(t["b"])
        inputs["b"] = b
    y = torch.nn.functional.linear(x, w, b)
    return {"y": y, **grads(y, t["gy"].double(), inputs)}


@op("matmul")
def matmul(t, attrs):
    a, b = leaf(t["a"]), leaf(t["b"])
    y = torch.matmul(a, b)
    return {"y": y, **grads(y, t["gy"].double(), {"a": a, "b": b})}
