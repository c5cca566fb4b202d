"""PyTorch reference values for Cubist's op tests.

    python3 tests/torch_ref OP IN.safetensors OUT.safetensors

IN holds the op's inputs (and "gy", the gradient of the loss with respect to the output, where the
op has a backward); its metadata holds the op's attributes as strings. OUT receives what the op's
function returns: the forward output(s) and the gradients of the inputs. Each op_*.py module in this
folder registers its ops with @op("name").
"""
import importlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import registry  # noqa: E402
import st  # noqa: E402


def main():
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    name, src, dst = sys.argv[1:]
    here = os.path.dirname(os.path.abspath(__file__))
    for f in sorted(os.listdir(here)):
        if f.startswith("ops_") and f.endswith(".py"):
            importlib.import_module(f[:-3])
    if name not in registry.OPS:
        sys.exit(f"torch_ref: unknown op '{name}'; known: {', '.join(sorted(registry.OPS))}")
    tensors, attrs = st.load(src)
    out = registry.OPS[name](tensors, attrs)
    st.save(dst, {k: v.detach().contiguous().float() for k, v in out.items()})


main()
