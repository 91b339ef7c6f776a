#!/usr/bin/python3
"""Writes randomized, often invalid, cases for the kernels-B ops: random shapes, axes,
indices, pads and attributes. Each must either run or fail with a clean one-line error
(expect_error.txt holds '*'); a crash or hang is the failure this looks for.
Usage: gen_fuzz.py OUTDIR [COUNT]"""
import sys
import numpy as np
from onnx import TensorProto
from casegen import writer

case = writer(sys.argv[1])
count = int(sys.argv[2]) if len(sys.argv) > 2 else 400
rng = np.random.default_rng(99)


def shape(maxr=4, maxd=5):
    return tuple(int(d) for d in rng.integers(0, maxd + 1, rng.integers(0, maxr + 1)))


def arr(s, dt=np.float32):
    if dt == np.int64:
        return rng.integers(-6, 7, s).astype(np.int64)
    return rng.standard_normal(s).astype(dt)


def ints(n, lo=-6, hi=7):
    return rng.integers(lo, hi, n).astype(np.int64)


def scalar_i(lo=-6, hi=7):
    return np.array(rng.integers(lo, hi), np.int64)


OPS = {
    'Gather': lambda: ([('x', arr(shape())), ('i', arr(shape(2), np.int64))], {'axis': int(rng.integers(-4, 4))}, 1),
    'GatherElements': lambda: ([('x', arr(shape())), ('i', arr(shape(), np.int64))], {'axis': int(rng.integers(-4, 4))}, 1),
    'GatherND': lambda: ([('x', arr(shape())), ('i', arr(shape(3, 3), np.int64))], {'batch_dims': int(rng.integers(0, 3))}, 1),
    'ScatterND': lambda: ([('x', arr(shape())), ('i', arr(shape(3, 3), np.int64)), ('u', arr(shape()))], {}, 1),
    'ScatterElements': lambda: ([('x', arr(shape())), ('i', arr(shape(), np.int64)), ('u', arr(shape()))],
                                {'axis': int(rng.integers(-4, 4))}, 1),
    'Slice': lambda: ([('x', arr(shape())), ('s', ints(2)), ('e', ints(2)), ('a', ints(2, -4, 4)), ('st', ints(2, -3, 4))], {}, 1),
    'Reshape': lambda: ([('x', arr(shape())), ('s', ints(rng.integers(0, 4), -2, 6))], {}, 1),
    'Transpose': lambda: ([('x', arr(shape()))], {'perm': [int(v) for v in rng.integers(-1, 5, rng.integers(0, 5))]}, 1),
    'Concat': lambda: ([('a', arr(shape())), ('b', arr(shape()))], {'axis': int(rng.integers(-4, 4))}, 1),
    'Split': lambda: ([('x', arr(shape())), ('s', ints(2, 0, 4))], {'axis': int(rng.integers(-4, 4))}, 2),
    'Expand': lambda: ([('x', arr(shape())), ('s', ints(rng.integers(0, 5), 0, 4))], {}, 1),
    'Tile': lambda: ([('x', arr(shape())), ('r', ints(rng.integers(0, 5), -1, 3))], {}, 1),
    'Pad': lambda: ([('x', arr(shape())), ('p', ints(2 * rng.integers(0, 5), -3, 4))],
                    {'mode': str(rng.choice(['constant', 'reflect', 'edge']))}, 1),
    'Squeeze': lambda: ([('x', arr(shape())), ('a', ints(rng.integers(0, 3), -4, 4))], {}, 1),
    'Unsqueeze': lambda: ([('x', arr(shape())), ('a', ints(rng.integers(0, 3), -5, 5))], {}, 1),
    'Flatten': lambda: ([('x', arr(shape()))], {'axis': int(rng.integers(-5, 5))}, 1),
    'DepthToSpace': lambda: ([('x', arr(shape()))], {'blocksize': int(rng.integers(-1, 3))}, 1),
    'SpaceToDepth': lambda: ([('x', arr(shape()))], {'blocksize': int(rng.integers(-1, 3))}, 1),
    'Trilu': lambda: ([('x', arr(shape())), ('k', scalar_i())], {'upper': int(rng.integers(0, 2))}, 1),
    'OneHot': lambda: ([('i', arr(shape(), np.int64)), ('d', scalar_i(-2, 6)), ('v', arr((int(rng.integers(1, 4)),)))],
                       {'axis': int(rng.integers(-4, 4))}, 1),
    'Compress': lambda: ([('x', arr(shape())), ('c', rng.random(int(rng.integers(0, 6))) < 0.5)], {'axis': int(rng.integers(-4, 4))}, 1),
    'TopK': lambda: ([('x', arr(shape())), ('k', ints(1, -1, 6))], {'axis': int(rng.integers(-4, 4))}, 2),
    'Resize': lambda: ([('x', arr(shape())), ('r', arr((0,))), ('s', np.abs(arr((int(rng.integers(0, 5)),))) + 0.3)],
                       {'mode': str(rng.choice(['nearest', 'linear', 'cubic']))}, 1),
    'GridSample': lambda: ([('x', arr(shape())), ('g', arr(shape()))], {}, 1),
    'Range': lambda: ([('a', arr(())), ('b', arr(())), ('d', arr(()))], {}, 1),
    'ConstantOfShape': lambda: ([('s', ints(rng.integers(0, 4), -1, 4))], {}, 1),
    'NonMaxSuppression': lambda: ([('b', arr(shape(3, 4))), ('s', arr(shape(3, 4))), ('m', ints(1, -1, 4))], {}, 1),
    'DFT': lambda: ([('x', arr(shape()))], {'axis': int(rng.integers(-3, 4)), 'onesided': int(rng.integers(0, 2))}, 1),
    'Col2Im': lambda: ([('x', arr(shape(3, 6))), ('im', ints(2, 0, 5)), ('b', ints(2, 0, 3))], {}, 1),
    'ReverseSequence': lambda: ([('x', arr(shape(3))), ('l', ints(int(rng.integers(0, 4)), -1, 5))], {}, 1),
    'Unique': lambda: ([('x', arr(shape(3, 4)))], {'axis': int(rng.integers(-3, 3))}, 1),
    'Det': lambda: ([('x', arr(shape()))], {}, 1),
    'RegexFullMatch': lambda: ([('s', np.array([''.join(rng.choice(list('ab(|)*+?[]{}^$.\\1,-dw')) for _ in range(int(rng.integers(0, 9))))
                                                 for _ in range(3)], dtype=object))],
                               {'pattern': ''.join(rng.choice(list('ab(|)*+?[]{}^$.\\1,-dwx')) for _ in range(int(rng.integers(0, 12))))}, 1),
    'TreeEnsembleRegressor': lambda: ([('x', arr((3, int(rng.integers(0, 3)))))], tree_attrs(), 1, 'ai.onnx.ml', 3),
    'TreeEnsemble': lambda: ([('x', arr((3, int(rng.integers(0, 3)))))], tree5_attrs(), 1, 'ai.onnx.ml', 5),
    'LabelEncoder': lambda: ([('x', ints(4))], {'keys_int64s': [int(v) for v in ints(int(rng.integers(0, 4)))],
                                                'values_int64s': [int(v) for v in ints(int(rng.integers(0, 4)))]}, 1, 'ai.onnx.ml', 2),
    'TfIdfVectorizer': lambda: ([('x', arr(shape(2, 6), np.int64))],
                                {'mode': 'TF', 'min_gram_length': int(rng.integers(0, 3)), 'max_gram_length': int(rng.integers(0, 3)),
                                 'max_skip_count': int(rng.integers(-1, 3)), 'ngram_counts': [int(v) for v in ints(2, -1, 5)],
                                 'ngram_indexes': [int(v) for v in ints(int(rng.integers(0, 5)), -1, 5)],
                                 'pool_int64s': [int(v) for v in ints(int(rng.integers(0, 6)))]}, 1, '', 0),
}


def tree_attrs():
    n = int(rng.integers(1, 6))
    ids = lambda: [int(v) for v in rng.integers(-1, n + 1, n)]
    return {'n_targets': int(rng.integers(0, 3)), 'nodes_treeids': [0] * n, 'nodes_nodeids': list(range(n)),
            'nodes_featureids': ids(), 'nodes_values': [float(v) for v in rng.standard_normal(n)],
            'nodes_modes': [str(rng.choice(['BRANCH_LEQ', 'LEAF', 'BRANCH_GT'])) for _ in range(n)],
            'nodes_truenodeids': ids(), 'nodes_falsenodeids': ids(),
            'target_treeids': [0, 0], 'target_nodeids': ids()[:2], 'target_ids': ids()[:2], 'target_weights': [1.0, 2.0][:len(ids()[:2])]}


def tree5_attrs():
    from onnx import numpy_helper as nh
    n = int(rng.integers(1, 5))
    ids = lambda: [int(v) for v in rng.integers(-1, n + 1, n)]
    return {'n_targets': int(rng.integers(0, 3)), 'tree_roots': ids()[:1], 'nodes_featureids': ids(),
            'nodes_modes': nh.from_array(rng.integers(0, 8, n).astype(np.uint8), 'm'),
            'nodes_splits': nh.from_array(rng.standard_normal(n).astype(np.float32), 's'),
            'nodes_truenodeids': ids(), 'nodes_falsenodeids': ids(), 'nodes_trueleafs': [int(v) for v in rng.integers(0, 2, n)],
            'nodes_falseleafs': [int(v) for v in rng.integers(0, 2, n)], 'leaf_targetids': ids(),
            'leaf_weights': nh.from_array(rng.standard_normal(n).astype(np.float32), 'w'),
            'membership_values': nh.from_array(np.array([1.0, np.nan], np.float32), 'mv')}


OPSETS = {'RegexFullMatch': 20, 'Resize': 13, 'GridSample': 16, 'Col2Im': 18, 'ScatterND': 16, 'ScatterElements': 16}

names = sorted(OPS)
for k in range(count):
    op = names[k % len(names)]
    spec = OPS[op]()
    inputs, attrs, nout = spec[:3]
    domain, domain_opset = spec[3:] if len(spec) > 3 else ('', 0)
    out_types = {'y1': TensorProto.INT64} if op == 'TopK' else ({'y0': TensorProto.INT64} if op == 'NonMaxSuppression' else None)
    if op == 'RegexFullMatch':
        out_types = {'y0': TensorProto.BOOL}
    if op == 'LabelEncoder':
        out_types = {'y0': TensorProto.INT64}
    case('fuzz_%03d_%s' % (k, op), op, inputs, [('y%d' % j, None) for j in range(nout)], attrs, opset=OPSETS.get(op, 17),
         error='*', out_types=out_types, domain=domain, domain_opset=domain_opset)
