"""numpy references for mlp.mlir and transformer.mlir, written independently of fleetc.

Usage: /usr/bin/python3 reference.py OUT_DIR
For each model writes OUT_DIR/<model>.json: the seeded random arguments and the expected result
(float32, row-major, as lists), which test/stablehlo/models/export.ts turns into a harness case,
and OUT_DIR/<model>/input_<i>.npy + expected.npy for the compile/run pipeline (pipeline.sh).
"""
import json
import os
import sys

import numpy as np


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(0.797884583 * (x + 0.044715 * x ** 3)))


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def layernorm(x, g, b):
    m = x.mean(axis=-1, keepdims=True)
    v = ((x - m) ** 2).mean(axis=-1, keepdims=True)
    return (x - m) / np.sqrt(v + 1e-5) * g + b


def mlp(rng):
    args = {
        "x": rng.standard_normal((4, 16)),
        "w1": rng.standard_normal((16, 32)) * 0.25,
        "b1": rng.standard_normal(32) * 0.1,
        "w2": rng.standard_normal((32, 8)) * 0.25,
        "b2": rng.standard_normal(8) * 0.1,
    }
    a = {k: v.astype(np.float32).astype(np.float64) for k, v in args.items()}
    y = softmax(gelu_tanh(a["x"] @ a["w1"] + a["b1"]) @ a["w2"] + a["b2"])
    return args, y


def transformer(rng):
    shapes = [("x", (8, 16), 1.0), ("g1", (16,), None), ("be1", (16,), 0.1), ("wq", (16, 16), 0.25),
              ("wk", (16, 16), 0.25), ("wv", (16, 16), 0.25), ("wo", (16, 16), 0.25), ("g2", (16,), None),
              ("be2", (16,), 0.1), ("w1", (16, 32), 0.25), ("w2", (32, 16), 0.25)]
    args = {}
    for name, shape, scale in shapes:
        args[name] = 1.0 + 0.1 * rng.standard_normal(shape) if scale is None else rng.standard_normal(shape) * scale
    a = {k: v.astype(np.float32).astype(np.float64) for k, v in args.items()}
    x = a["x"]
    h = layernorm(x, a["g1"], a["be1"])
    heads = lambda t: t.reshape(8, 2, 8).transpose(1, 0, 2)
    q, k, v = heads(h @ a["wq"]), heads(h @ a["wk"]), heads(h @ a["wv"])
    s = q @ k.transpose(0, 2, 1) / np.sqrt(8.0)
    s = np.where(np.tril(np.ones((8, 8), dtype=bool)), s, -np.inf)
    o = (softmax(s) @ v).transpose(1, 0, 2).reshape(8, 16)
    x1 = x + o @ a["wo"]
    f = layernorm(x1, a["g2"], a["be2"]) @ a["w1"]
    y = x1 + (f * (1.0 / (1.0 + np.exp(-1.702 * f)))) @ a["w2"]
    return args, y


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, fn in [("mlp", mlp), ("transformer", transformer)]:
        rng = np.random.default_rng(20261124)
        args, y = fn(rng)
        doc = {
            "args": [{"shape": list(v.shape), "data": v.astype(np.float32).ravel().tolist()} for v in args.values()],
            "expected": {"shape": list(y.shape), "data": y.astype(np.float32).ravel().tolist()},
        }
        with open(os.path.join(out, name + ".json"), "w") as f:
            json.dump(doc, f)
        # The same as .npy files, for `fleetc run --inputs-dir` (input_<i>.npy in argument order).
        d = os.path.join(out, name)
        os.makedirs(d, exist_ok=True)
        for i, v in enumerate(args.values()):
            np.save(os.path.join(d, f"input_{i}.npy"), v.astype(np.float32))
        np.save(os.path.join(d, "expected.npy"), y.astype(np.float32))
        print(f"{name}: {len(args)} arguments, result {list(y.shape)}")


if __name__ == "__main__":
    main()
