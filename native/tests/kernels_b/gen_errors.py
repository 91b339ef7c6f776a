#!/usr/bin/python3
"""Writes bad-input cases for the kernels-B ops: each must fail with one line naming the op,
the node and what is wrong (no crash, no hang). Usage: gen_errors.py OUTDIR"""
import sys
import numpy as np
from onnx import helper, TensorProto
from casegen import writer

case = writer(sys.argv[1])
f = np.ones((2, 3, 4), np.float32)


def i64(*v):
    return np.array(v, dtype=np.int64)


def bad(name, op, inputs, error, attrs=None, opset=17, nout=1, out_types=None):
    outs = [('y%d' % k, None) for k in range(nout)]
    # Node names appear in the messages: "<Op> 'node_<name>': ..."
    a = dict(attrs or {})
    case('err_' + name, op, inputs, outs, a, opset=opset, error=error, out_types=out_types)


bad('gather_index', 'Gather', [('x', f), ('i', i64(0, 3))], 'out of range', {'axis': 1})
bad('gather_axis', 'Gather', [('x', f), ('i', i64(0))], 'axis 5 is out of range', {'axis': 5})
bad('gather_elements_index', 'GatherElements', [('x', f), ('i', np.full((2, 3, 4), 9, np.int64))], 'out of range', {'axis': 2})
bad('gathernd_index', 'GatherND', [('x', f), ('i', i64(2, 0).reshape(1, 2))], 'out of range')
bad('scatternd_index', 'ScatterND', [('x', f), ('i', i64(0, 7).reshape(1, 2)), ('u', np.ones((1, 4), np.float32))], 'out of range', opset=16)
bad('scatter_elements_index', 'ScatterElements', [('x', f), ('i', np.full((1, 1, 1), -9, np.int64)), ('u', np.ones((1, 1, 1), np.float32))],
    'out of range')
bad('reshape_count', 'Reshape', [('x', f), ('s', i64(5, -1))], 'cannot infer -1')
bad('reshape_two_infer', 'Reshape', [('x', f), ('s', i64(-1, -1))], 'more than one -1')
bad('concat_shapes', 'Concat', [('a', f), ('b', np.ones((2, 5, 5), np.float32))], 'differ off the axis', {'axis': 1})
bad('split_sum', 'Split', [('x', f), ('s', i64(1, 1))], 'split sizes sum to 2', {'axis': 1}, nout=2)
bad('slice_step_zero', 'Slice', [('x', f), ('s', i64(0)), ('e', i64(2)), ('a', i64(0)), ('st', i64(0))], 'step must not be zero')
bad('expand_incompatible', 'Expand', [('x', f), ('s', i64(3, 3, 4))], 'cannot broadcast')
bad('tile_repeats', 'Tile', [('x', f), ('r', i64(2, 2))], 'repeats has 2 entries')
bad('pad_length', 'Pad', [('x', f), ('p', i64(1, 1))], 'pads has 2 entries')
bad('transpose_perm', 'Transpose', [('x', f)], 'not a permutation', {'perm': [0, 0, 1]})
bad('squeeze_not_one', 'Squeeze', [('x', f), ('a', i64(1))], 'cannot squeeze axis 1')
bad('depthtospace_channels', 'DepthToSpace', [('x', np.ones((1, 3, 2, 2), np.float32))], 'not divisible by blocksize', {'blocksize': 2})
bad('topk_k', 'TopK', [('x', f), ('k', i64(9))], 'k = 9 is outside', nout=2, out_types={'y1': TensorProto.INT64})
bad('resize_scales_len', 'Resize', [('x', f), ('r', np.zeros(0, np.float32)), ('s', np.ones(2, np.float32))], 'scales has 2 values for 3 axes')
bad('resize_no_size', 'Resize', [('x', f)], "one of 'scales' or 'sizes'")
bad('resize_mode', 'Resize', [('x', f), ('r', np.zeros(0, np.float32)), ('s', np.ones(3, np.float32))], "unsupported mode 'bogus'",
    {'mode': 'bogus'})
bad('gridsample_grid', 'GridSample', [('x', np.ones((1, 1, 4, 4), np.float32)), ('g', np.zeros((1, 3, 3, 3), np.float32))], 'grid must have shape',
    opset=16)
bad('nms_boxes', 'NonMaxSuppression', [('b', np.zeros((1, 3, 5), np.float32)), ('s', np.zeros((1, 1, 3), np.float32))], 'boxes must have shape',
    out_types={'y0': TensorProto.INT64})
bad('onehot_depth', 'OneHot', [('i', i64(1, 2)), ('d', np.array(0, np.int64)), ('v', np.array([0, 1], np.float32))], 'depth must be positive')
bad('dft_last_dim', 'DFT', [('x', np.ones((2, 8, 3), np.float32))], 'must end in a dimension of 1 (real) or 2 (complex)')
bad('det_square', 'Det', [('x', np.ones((2, 3), np.float32))], 'input must be [..., M, M]')
bad('compress_cond', 'Compress', [('x', f), ('c', np.ones(7, bool))], 'beyond axis size', {'axis': 1})
bad('constantofshape_negative', 'ConstantOfShape', [('s', i64(2, -1))], 'negative dimension')
bad('range_zero_delta', 'Range', [('a', np.array(0, np.float32)), ('b', np.array(5, np.float32)), ('d', np.array(0, np.float32))], 'delta must not be zero')
bad('trilu_rank', 'Trilu', [('x', np.ones(4, np.float32))], 'rank >= 2')
bad('split_to_sequence_sum', 'SplitToSequence', [('x', f), ('s', i64(1, 1))], 'split sizes sum to 2 but the axis has 3', {'axis': 1},
    out_types={'y0': 'seq'})
strs = np.array(['ab', 'a'], dtype=object)
bad('regex_unbalanced', 'RegexFullMatch', [('s', strs)], "missing ')'", {'pattern': '(ab'}, opset=20, out_types={'y0': TensorProto.BOOL})
bad('regex_nesting', 'RegexFullMatch', [('s', strs)], 'nested too deeply', {'pattern': '(' * 1500 + 'a' + ')' * 1500}, opset=20,
    out_types={'y0': TensorProto.BOOL})
bad('regex_blowup', 'RegexFullMatch', [('s', strs)], 'pattern is too large', {'pattern': '((a{1000}){1000}){1000}'}, opset=20,
    out_types={'y0': TensorProto.BOOL})
bad('regex_flags', 'RegexFullMatch', [('s', strs)], 'unsupported group flag', {'pattern': '(?i)ab'}, opset=20,
    out_types={'y0': TensorProto.BOOL})
bad('dft_empty_axis', 'DFT', [('x', np.ones((0, 1), np.float32))], 'DFT length must be positive', {'axis': 0, 'onesided': 1})
bad('gridsample_empty', 'GridSample', [('x', np.ones((1, 1, 0, 4), np.float32)), ('g', np.zeros((1, 2, 2, 2), np.float32))],
    'empty spatial dims', {'padding_mode': 'border'}, opset=16)
bad('roialign_empty_image', 'RoiAlign', [('x', np.ones((1, 1, 0, 4), np.float32)), ('r', np.ones((1, 4), np.float32)),
                                         ('b', i64(0))], 'empty image', opset=16)
bad('multinomial_no_classes', 'Multinomial', [('x', np.ones((2, 0), np.float32))], 'zero classes', {'sample_size': 3},
    out_types={'y0': TensorProto.INT32})
