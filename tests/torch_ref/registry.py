"""The table of reference ops: name -> function(tensors, attrs) -> dict of output tensors."""
import torch

OPS = {}


def op(name):
    def register(fn):
        OPS[name] = fn
        return fn
    return register


def grads(y, gy, inputs):
    """Backpropagates gy through y and returns {"grad_<name>": gradient} for the named inputs."""
    y.backward(gy)
    return {f"grad_{k}": v.grad for k, v in inputs.items() if v.grad is not None}


def leaf(t):
    """A float64 copy of an input that records gradients: references are computed in f64."""
    return t.double().clone().requires_grad_(True)


torch.set_num_threads(max(1, torch.get_num_threads()))
