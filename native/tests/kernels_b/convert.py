#!/usr/bin/python3
"""Converts ONNX conformance node tests (model.onnx + test_data_set_0/*.pb) into the flat
binary format read by the kernels-B harness (harness.cpp). Usage: convert.py OUTDIR TESTDIR..."""
import os, struct, sys, glob
import onnx
from onnx import numpy_helper, shape_inference

def u8(b, v): b += struct.pack('<B', v)
def i32(b, v): b += struct.pack('<i', v)
def u32(b, v): b += struct.pack('<I', v)
def i64(b, v): b += struct.pack('<q', v)
def f64(b, v): b += struct.pack('<d', v)
def s(b, v):
    if isinstance(v, str): v = v.encode()
    u32(b, len(v)); b += v

def tensor(b, t):
    dims = list(t.dims)
    i32(b, t.data_type); u32(b, len(dims))
    for d in dims: i64(b, d)
    if t.data_type == 8:
        vals = list(t.string_data)
        u32(b, len(vals))
        for v in vals: s(b, v)
        return
    if t.HasField('raw_data') or t.data_location == 1:
        raw = t.raw_data
    else:
        a = numpy_helper.to_array(t)
        if t.data_type == 10: a = a.view('uint16')
        if t.data_type == 16: a = a.view('uint16')
        raw = a.tobytes()
    struct.pack
    i64(b, len(raw)); b += raw

def value_from_type(path, tp):
    data = open(path, 'rb').read()
    which = tp.WhichOneof('value') if tp is not None else 'tensor_type'
    if which == 'sequence_type':
        p = onnx.SequenceProto(); p.ParseFromString(data); return ('seq', p)
    if which == 'optional_type':
        p = onnx.OptionalProto(); p.ParseFromString(data); return ('opt', p)
    p = onnx.TensorProto(); p.ParseFromString(data); return ('tensor', p)

def value(b, kind, p):
    if kind == 'tensor':
        u8(b, 0); i32(b, p.data_type); tensor(b, p); return
    if kind == 'seq':
        u8(b, 1); i32(b, p.tensor_values[0].data_type if p.tensor_values else 1)
        u32(b, len(p.tensor_values))
        for t in p.tensor_values: tensor(b, t)
        return
    # optional
    if p.elem_type == 1 and p.HasField('tensor_value'):
        value(b, 'tensor', p.tensor_value); return
    if p.elem_type == 3 and p.HasField('sequence_value'):
        value(b, 'seq', p.sequence_value); return
    u8(b, 2); i32(b, 0)

def type_code(tp):
    # returns (kind, elem dtype): kind 0 tensor, 1 sequence, 2 optional
    w = tp.WhichOneof('value')
    if w == 'tensor_type': return 0, tp.tensor_type.elem_type
    if w == 'sequence_type':
        k, d = type_code(tp.sequence_type.elem_type); return 1, d
    if w == 'optional_type':
        k, d = type_code(tp.optional_type.elem_type); return (1 if k == 1 else 2), d
    return 0, 0

def graph(b, g):
    types = {}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        types[vi.name] = type_code(vi.type)
    u32(b, len(g.input))
    for vi in g.input: s(b, vi.name)
    u32(b, len(g.output))
    for vi in g.output: s(b, vi.name)
    u32(b, len(types))
    for n, (k, d) in types.items(): s(b, n); u8(b, k); i32(b, d)
    u32(b, len(g.initializer))
    for t in g.initializer: s(b, t.name); tensor(b, t)
    u32(b, len(g.node))
    for n in g.node:
        s(b, n.op_type); s(b, n.domain); s(b, n.name)
        u32(b, len(n.input))
        for x in n.input: s(b, x)
        u32(b, len(n.output))
        for x in n.output: s(b, x)
        u32(b, len(n.attribute))
        for a in n.attribute:
            s(b, a.name)
            T = onnx.AttributeProto
            if a.type == T.INT: u8(b, 0); i64(b, a.i)
            elif a.type == T.FLOAT: u8(b, 1); f64(b, a.f)
            elif a.type == T.STRING: u8(b, 2); s(b, a.s)
            elif a.type == T.INTS:
                u8(b, 3); u32(b, len(a.ints))
                for v in a.ints: i64(b, v)
            elif a.type == T.FLOATS:
                u8(b, 4); u32(b, len(a.floats))
                for v in a.floats: f64(b, v)
            elif a.type == T.STRINGS:
                u8(b, 5); u32(b, len(a.strings))
                for v in a.strings: s(b, v)
            elif a.type == T.TENSOR: u8(b, 6); tensor(b, a.t)
            elif a.type == T.TENSORS:
                u8(b, 7); u32(b, len(a.tensors))
                for t in a.tensors: tensor(b, t)
            elif a.type == T.GRAPH: u8(b, 8); graph(b, a.g)
            elif a.type == T.GRAPHS:
                u8(b, 9); u32(b, len(a.graphs))
                for x in a.graphs: graph(b, x)
            elif a.type == T.TYPE_PROTO:
                # Optional's `type`: passed as the element dtype code (an int attribute).
                u8(b, 0); i64(b, type_code(a.tp)[1])
            else: raise ValueError('attribute type %d' % a.type)

def convert(tdir, out):
    m = onnx.load(os.path.join(tdir, 'model.onnx'))
    try:
        m = shape_inference.infer_shapes(m)
    except Exception:
        pass
    opset = 0
    for o in m.opset_import:
        if o.domain in ('', 'ai.onnx'): opset = o.version
    b = bytearray(b'FLT1')
    i32(b, opset)
    graph(b, m.graph)
    ds = os.path.join(tdir, 'test_data_set_0')
    ins = [vi for vi in m.graph.input if vi.name not in {t.name for t in m.graph.initializer}]
    nin = len(glob.glob(os.path.join(ds, 'input_*.pb')))
    u32(b, nin)
    for k in range(nin):
        vi = ins[k]
        s(b, vi.name); value(b, *value_from_type(os.path.join(ds, 'input_%d.pb' % k), vi.type))
    nout = len(glob.glob(os.path.join(ds, 'output_*.pb')))
    if nout == 0 and not os.path.exists(os.path.join(tdir, 'expect_error.txt')):
        raise ValueError('no reference outputs')
    u32(b, nout)
    for k in range(nout):
        vi = m.graph.output[k]
        s(b, vi.name); value(b, *value_from_type(os.path.join(ds, 'output_%d.pb' % k), vi.type))
    # Error cases (gen_errors.py): the run must fail with a message containing this text.
    ef = os.path.join(tdir, 'expect_error.txt')
    if os.path.exists(ef):
        s(b, open(ef).read().strip())
    open(out, 'wb').write(bytes(b))

if __name__ == '__main__':
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    bad = 0
    for t in sys.argv[2:]:
        name = os.path.basename(t.rstrip('/'))
        try:
            convert(t, os.path.join(outdir, name + '.bin'))
        except Exception as e:
            bad += 1
            print('convert-failed %s: %s' % (name, str(e).splitlines()[0] if str(e) else type(e).__name__))
    print('converted %d, failed %d' % (len(sys.argv) - 2 - bad, bad))
