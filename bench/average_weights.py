#!/usr/bin/env python3
"""Averages two weight files of one model, (1 - W) * A + W * B, into OUT in float32, with A's
metadata (its config, tokenizer and latent normalization): a "model soup" (Wortsman et al. 2022)
of two fine-tunings from one checkpoint.

    /usr/bin/python3 bench/average_weights.py A.safetensors B.safetensors W OUT.safetensors

Reads F32 and BF16 tensors (numpy only, no safetensors package); the files must hold the same
names and shapes.
"""
import json
import struct
import sys

import numpy as np


def read(path):
    blob = open(path, "rb").read()
    n = struct.unpack("<Q", blob[:8])[0]
    header, data = json.loads(blob[8:8 + n]), blob[8 + n:]
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        raw = data[begin:end]
        if entry["dtype"] == "F32":
            a = np.frombuffer(raw, "<f4")
        elif entry["dtype"] == "BF16":  # the high half of a float32
            a = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            sys.exit(f"{path}: tensor {name} is {entry['dtype']}; F32 and BF16 are read")
        tensors[name] = a.reshape(entry["shape"])
    return header.get("__metadata__", {}), tensors


def write(path, metadata, tensors):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


if len(sys.argv) != 5:
    sys.exit(__doc__)
a_path, b_path, w, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
meta, a = read(a_path)
_, b = read(b_path)
if a.keys() != b.keys() or any(a[k].shape != b[k].shape for k in a):
    sys.exit(f"{a_path} and {b_path} hold different tensors; both must be weights of one model")
write(out, meta, {k: (1 - w) * a[k] + w * b[k] for k in a})
