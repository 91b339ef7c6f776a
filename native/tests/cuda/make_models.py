#!/usr/bin/env python3
"""Writes the GEMM benchmark models for device-check.sh: Y = A·B with A [M,K], B [K,N] as graph inputs.
   python3 native/tests/cuda/make_models.py OUT_DIR [SIZE]"""
import os
import sys

from onnx import TensorProto, helper, save

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 4096
os.makedirs(out, exist_ok=True)
for name, dt in (("f32", TensorProto.FLOAT), ("f16", TensorProto.FLOAT16), ("bf16", TensorProto.BFLOAT16)):
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "B"], ["Y"], name="gemm")],
        f"matmul_{name}",
        [helper.make_tensor_value_info("A", dt, [n, n]), helper.make_tensor_value_info("B", dt, [n, n])],
        [helper.make_tensor_value_info("Y", dt, [n, n])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    save(model, os.path.join(out, f"matmul_{name}.onnx"))
