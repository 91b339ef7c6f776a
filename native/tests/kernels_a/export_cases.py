#!/usr/bin/python3
"""Converts single-node ONNX conformance tests (model.onnx + test_data_set_0) into a flat binary
case file the C++ harness reads (no protobuf needed in C++).
usage: export_cases.py OUT_DIR TEST_DIR...   (writes OUT_DIR/<test name>.case)"""
import os
import struct
import sys

import numpy as np
import onnx
from onnx import numpy_helper

AK = onnx.AttributeProto


def w_str(f, s):
    b = s.encode() if isinstance(s, str) else s
    f.write(struct.pack('<q', len(b)))
    f.write(b)


def w_tensor(f, arr, dtype_code):
    f.write(struct.pack('<i', dtype_code))
    f.write(struct.pack('<q', arr.ndim))
    for d in arr.shape:
        f.write(struct.pack('<q', d))
    if dtype_code == 8:
        for s in arr.flatten():
            w_str(f, s if isinstance(s, bytes) else str(s).encode())
    else:
        b = np.ascontiguousarray(arr).tobytes()
        w_str(f, b)


def tensor_from_proto(tp):
    code = tp.data_type
    if code in (17, 18, 19, 20):
        if tp.raw_data:
            return np.frombuffer(tp.raw_data, dtype=np.uint8).reshape(tuple(tp.dims)), code
        return np.array(tp.int32_data, dtype=np.uint8).reshape(tuple(tp.dims)), code
    if code in (21, 22, 23, 24, 25, 26):
        raise ValueError('4-bit types unsupported by harness')
    arr = numpy_helper.to_array(tp)
    if code in (16,):  # bfloat16: to_array may give float32
        raw = numpy_helper.to_array(tp)
        if raw.dtype != np.uint16:
            f32 = np.asarray(raw, dtype=np.float32)
            arr = (f32.view(np.uint32) >> 16).astype(np.uint16)
    if code in (17, 18, 19, 20):
        if arr.dtype != np.uint8:
            arr = np.frombuffer(tp.raw_data, dtype=np.uint8).reshape(tuple(tp.dims)) if tp.raw_data else \
                np.array(tp.int32_data, dtype=np.uint8).reshape(tuple(tp.dims))
    if code == 10 and arr.dtype != np.float16:
        arr = arr.astype(np.float16)
    if code == 10:
        arr = arr.view(np.uint16)
    if code in (21, 22, 23):
        raise ValueError('4-bit types unsupported by harness')
    return arr, code


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for d in sys.argv[2:]:
        name = os.path.basename(d.rstrip('/'))
        try:
            m = onnx.load(os.path.join(d, 'model.onnx'))
            if len(m.graph.node) != 1:
                continue
            node = m.graph.node[0]
            opset = {o.domain: o.version for o in m.opset_import}
            ver = opset.get(node.domain, opset.get('ai.onnx', 0)) if node.domain not in ('ai.onnx',) else opset.get('', 0)
            ds = os.path.join(d, 'test_data_set_0')
            ins = {}
            for i, vi in enumerate(m.graph.input):
                p = os.path.join(ds, 'input_%d.pb' % i)
                if not os.path.exists(p):
                    raise ValueError('non-tensor input')
                tp = onnx.TensorProto()
                tp.ParseFromString(open(p, 'rb').read())
                ins[vi.name] = tensor_from_proto(tp)
            outs = []
            for i, vi in enumerate(m.graph.output):
                p = os.path.join(ds, 'output_%d.pb' % i)
                tp = onnx.TensorProto()
                tp.ParseFromString(open(p, 'rb').read())
                outs.append(tensor_from_proto(tp))
            for a in node.attribute:
                if a.type in (AK.GRAPH, AK.GRAPHS, AK.SPARSE_TENSOR, AK.SPARSE_TENSORS, AK.TYPE_PROTO, AK.TYPE_PROTOS):
                    raise ValueError('unsupported attribute type')
            with open(os.path.join(out_dir, name + '.case'), 'wb') as f:
                f.write(b'FLCASE01')
                w_str(f, node.op_type)
                w_str(f, node.domain)
                f.write(struct.pack('<i', ver))
                f.write(struct.pack('<i', len(node.attribute)))
                for a in node.attribute:
                    w_str(f, a.name)
                    f.write(struct.pack('<i', a.type))
                    if a.type == AK.INT:
                        f.write(struct.pack('<q', a.i))
                    elif a.type == AK.FLOAT:
                        f.write(struct.pack('<d', a.f))
                    elif a.type == AK.STRING:
                        w_str(f, a.s)
                    elif a.type == AK.INTS:
                        f.write(struct.pack('<q', len(a.ints)))
                        for v in a.ints:
                            f.write(struct.pack('<q', v))
                    elif a.type == AK.FLOATS:
                        f.write(struct.pack('<q', len(a.floats)))
                        for v in a.floats:
                            f.write(struct.pack('<d', v))
                    elif a.type == AK.STRINGS:
                        f.write(struct.pack('<q', len(a.strings)))
                        for v in a.strings:
                            w_str(f, v)
                    elif a.type == AK.TENSOR:
                        arr, code = tensor_from_proto(a.t)
                        w_tensor(f, arr, code)
                    else:
                        raise ValueError('attr type %d' % a.type)
                f.write(struct.pack('<i', len(node.input)))
                for nm in node.input:
                    if nm == '' or nm not in ins:
                        f.write(struct.pack('<i', 0))
                    else:
                        f.write(struct.pack('<i', 1))
                        arr, code = ins[nm]
                        w_tensor(f, arr, code)
                f.write(struct.pack('<i', len(node.output)))
                onames = [o.name for o in m.graph.output]
                for nm in node.output:
                    if nm == '' or nm not in onames:
                        f.write(struct.pack('<i', 0))
                    else:
                        f.write(struct.pack('<i', 1))
                        arr, code = outs[onames.index(nm)]
                        w_tensor(f, arr, code)
        except Exception as e:  # noqa: BLE001
            print('skip %s: %s' % (name, e), file=sys.stderr)


if __name__ == '__main__':
    main()
