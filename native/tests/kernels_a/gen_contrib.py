#!/usr/bin/python3
"""Builds single-node com.microsoft test models and extra default-domain cases (plus random inputs) for the kernels-A harness.
Expected outputs come from onnxruntime-node (ort_expected.mjs), then export_cases.py turns the
directories into .case files:
  /usr/bin/python3 gen_contrib.py inputs DIR     # DIR/<name>/model.onnx + inputs
  node ort_expected.mjs DIR                      # DIR/<name>/test_data_set_0/output_*.pb
  /usr/bin/python3 gen_contrib.py outputs DIR    # raw outputs -> TensorProto files
  /usr/bin/python3 export_cases.py OUT DIR/*
"""
import json
import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

rng = np.random.RandomState(7)
NP2ONNX = {np.float32: TensorProto.FLOAT, np.int32: TensorProto.INT32, np.int64: TensorProto.INT64,
           np.float16: TensorProto.FLOAT16}


def f(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def case(root, name, op, inputs, outputs, domain='com.microsoft', opset=17, **attrs):
    """inputs: list of (name, array or None); outputs: list of output names ('' to skip)."""
    d = os.path.join(root, name)
    os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
    node = helper.make_node(op, [n if a is not None else '' for n, a in inputs], outputs, domain=domain, **attrs)
    g_in = [helper.make_tensor_value_info(n, NP2ONNX[a.dtype.type], a.shape) for n, a in inputs if a is not None]
    g_out = [onnx.ValueInfoProto(name=o) for o in outputs if o]
    graph = helper.make_graph([node], name, g_in, g_out)
    opsets = [helper.make_opsetid('', opset), helper.make_opsetid('com.microsoft', 1)]
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = 8
    onnx.save(model, os.path.join(d, 'model.onnx'))
    meta = []
    for i, (n, a) in enumerate([(n, a) for n, a in inputs if a is not None]):
        with open(os.path.join(d, 'test_data_set_0', 'input_%d.pb' % i), 'wb') as fh:
            fh.write(numpy_helper.from_array(a, n).SerializeToString())
        a.tofile(os.path.join(d, 'in_%d.bin' % i))
        meta.append({'name': n, 'dtype': str(a.dtype), 'shape': list(a.shape), 'file': 'in_%d.bin' % i})
    json.dump({'inputs': meta, 'outputs': [o for o in outputs if o]}, open(os.path.join(d, 'io.json'), 'w'))


def gen_inputs(root):
    B, S, N, H = 2, 3, 2, 4
    D = N * H
    # Attention (fused QKV) with raw 2-D mask, causal, past
    P = 2
    mask = np.ones((B, P + S), np.int32)
    mask[1, 0] = 0
    case(root, 'ms_attention_basic', 'Attention', [('x', f(B, S, D)), ('w', f(D, 3 * D)), ('b', f(3 * D))], ['y'], num_heads=N)
    case(root, 'ms_attention_mask2d_causal_past', 'Attention',
         [('x', f(B, S, D)), ('w', f(D, 3 * D)), ('b', f(3 * D)), ('mask', mask), ('past', f(2, B, N, P, H))],
         ['y', 'present'], num_heads=N, unidirectional=1)
    case(root, 'ms_attention_gpt2_filter', 'Attention',
         [('x', f(B, 1, D)), ('w', f(D, 3 * D)), ('b', f(3 * D)), ('mask', mask[:, :P + 1].copy()), ('past', f(2, B, N, P, H))],
         ['y', 'present'], num_heads=N, unidirectional=1, mask_filter_value=-3.4028234663852886e+38)
    case(root, 'ms_attention_mask1d', 'Attention',
         [('x', f(B, S, D)), ('w', f(D, 3 * D)), ('b', f(3 * D)), ('mask', np.array([3, 2], np.int32))], ['y'], num_heads=N)
    # MultiHeadAttention
    L = 5
    case(root, 'ms_mha_basic', 'MultiHeadAttention', [('q', f(B, S, D)), ('k', f(B, L, D)), ('v', f(B, L, D))], ['y'], num_heads=N)
    case(root, 'ms_mha_bias_mask_past', 'MultiHeadAttention',
         [('q', f(B, S, D)), ('k', f(B, S, D)), ('v', f(B, S, D)), ('bias', f(3 * D)),
          ('kpm', np.array([[1, 1, 1, 1, 0], [1, 1, 1, 1, 1]], np.int32)), ('ab', None),
          ('pk', f(B, N, P, H)), ('pv', f(B, N, P, H))], ['y', 'present_k', 'present_v'], num_heads=N)
    case(root, 'ms_mha_causal_abias', 'MultiHeadAttention',
         [('q', f(B, S, D)), ('k', f(B, S, D)), ('v', f(B, S, D)), ('bias', None), ('kpm', None), ('ab', f(1, N, S, S))],
         ['y'], num_heads=N, unidirectional=1)
    # GroupQueryAttention (prompt, then decode with a cache); onnxruntime wants head_size % 8 == 0
    Nkv, H = 1, 8
    N = 4
    case(root, 'ms_gqa_prompt', 'GroupQueryAttention',
         [('q', f(B, S, N * H)), ('k', f(B, S, Nkv * H)), ('v', f(B, S, Nkv * H)), ('pk', None), ('pv', None),
          ('seqlens_k', np.array([S - 1, S - 1], np.int32)), ('total', np.array(S, np.int32))],
         ['y', 'present_k', 'present_v'], num_heads=N, kv_num_heads=Nkv)
    cache = 6
    case(root, 'ms_gqa_decode', 'GroupQueryAttention',
         [('q', f(B, 1, N * H)), ('k', f(B, 1, Nkv * H)), ('v', f(B, 1, Nkv * H)), ('pk', f(B, Nkv, cache, H)),
          ('pv', f(B, Nkv, cache, H)), ('seqlens_k', np.array([3, 4], np.int32)), ('total', np.array(5, np.int32))],
         ['y', 'present_k', 'present_v'], num_heads=N, kv_num_heads=Nkv)
    case(root, 'ms_gqa_softcap_window', 'GroupQueryAttention',
         [('q', f(B, 4, N * H)), ('k', f(B, 4, Nkv * H)), ('v', f(B, 4, Nkv * H)), ('pk', None), ('pv', None),
          ('seqlens_k', np.array([3, 3], np.int32)), ('total', np.array(4, np.int32))],
         ['y'], num_heads=N, kv_num_heads=Nkv, softcap=2.0, local_window_size=2)
    half = H // 2
    ang = np.outer(np.arange(16), 1.0 / (10000 ** (np.arange(half) / half))).astype(np.float32)
    H = 16  # rotary in onnxruntime's GQA wants head_size % 16 == 0
    half = H // 2
    ang = np.outer(np.arange(16), 1.0 / (10000 ** (np.arange(half) / half))).astype(np.float32)
    case(root, 'ms_gqa_rotary', 'GroupQueryAttention',
         [('q', f(B, S, N * H)), ('k', f(B, S, Nkv * H)), ('v', f(B, S, Nkv * H)), ('pk', None), ('pv', None),
          ('seqlens_k', np.array([S - 1, S - 1], np.int32)), ('total', np.array(S, np.int32)),
          ('cos', np.cos(ang)), ('sin', np.sin(ang))],
         ['y', 'present_k', 'present_v'], num_heads=N, kv_num_heads=Nkv, do_rotary=1)
    case(root, 'ms_gqa_rotary_interleaved', 'GroupQueryAttention',
         [('q', f(B, S, N * H)), ('k', f(B, S, Nkv * H)), ('v', f(B, S, Nkv * H)), ('pk', None), ('pv', None),
          ('seqlens_k', np.array([S - 1, S - 1], np.int32)), ('total', np.array(S, np.int32)),
          ('cos', np.cos(ang)), ('sin', np.sin(ang))],
         ['y', 'present_k', 'present_v'], num_heads=N, kv_num_heads=Nkv, do_rotary=1, rotary_interleaved=1)
    N, H = 2, 4
    half = H // 2
    ang = np.outer(np.arange(16), 1.0 / (10000 ** (np.arange(half) / half))).astype(np.float32)
    # RotaryEmbedding
    pos = np.array([[0, 1, 2], [4, 5, 6]], np.int64)
    case(root, 'ms_rotary_3d', 'RotaryEmbedding', [('x', f(B, S, D)), ('pos', pos), ('cos', np.cos(ang)), ('sin', np.sin(ang))],
         ['y'], num_heads=N)
    case(root, 'ms_rotary_4d_interleaved', 'RotaryEmbedding',
         [('x', f(B, N, S, H)), ('pos', pos), ('cos', np.cos(ang)), ('sin', np.sin(ang))], ['y'], interleaved=1)
    # norms
    case(root, 'ms_skip_ln', 'SkipLayerNormalization',
         [('x', f(B, S, D)), ('skip', f(B, S, D)), ('g', f(D)), ('beta', f(D)), ('bias', f(D))], ['y', '', '', 'sum'], epsilon=1e-5)
    case(root, 'ms_skip_ln_nobeta', 'SkipLayerNormalization', [('x', f(B, S, D)), ('skip', f(B, S, D)), ('g', f(D))], ['y'])
    case(root, 'ms_skip_simplified_ln', 'SkipSimplifiedLayerNormalization',
         [('x', f(B, S, D)), ('skip', f(B, S, D)), ('g', f(D)), ('bias', f(D))], ['y', '', '', 'sum'], epsilon=1e-5)
    case(root, 'ms_simplified_ln', 'SimplifiedLayerNormalization', [('x', f(B, S, D)), ('g', f(D))], ['y'], domain='',
         epsilon=1e-5, axis=-1)
    V = 11
    case(root, 'ms_embed_ln', 'EmbedLayerNormalization',
         [('ids', rng.randint(0, V, (B, S)).astype(np.int32)), ('seg', rng.randint(0, 2, (B, S)).astype(np.int32)),
          ('wemb', f(V, D)), ('pemb', f(8, D)), ('semb', f(2, D)), ('g', f(D)), ('beta', f(D)),
          ('mask', np.array([[1, 1, 0], [1, 1, 1]], np.int32))], ['y', 'mask_index', 'sum'], epsilon=1e-5)
    case(root, 'ms_embed_ln_posids', 'EmbedLayerNormalization',
         [('ids', rng.randint(0, V, (B, S)).astype(np.int32)), ('seg', None), ('wemb', f(V, D)), ('pemb', f(8, D)),
          ('semb', None), ('g', f(D)), ('beta', f(D)), ('mask', None),
          ('pos', np.array([[2, 3, 4], [0, 1, 2]], np.int32))], ['y', '', 'sum'], epsilon=1e-5)
    # activations
    case(root, 'ms_fastgelu_bias', 'FastGelu', [('x', f(B, S, D)), ('b', f(D))], ['y'])
    case(root, 'ms_fastgelu', 'FastGelu', [('x', f(B, S, D))], ['y'])
    case(root, 'ms_biasgelu', 'BiasGelu', [('x', f(B, S, D)), ('b', f(D))], ['y'])
    case(root, 'ms_quickgelu', 'QuickGelu', [('x', f(B, S, D))], ['y'], alpha=1.5)


def gen_onnx_extra(root):
    """Default-domain cases the node suite covers thinly (recurrent layouts, grouped convs, …)."""
    S, B, I, H = 5, 3, 4, 6
    x = f(S, B, I)
    lens = np.array([5, 3, 1], np.int32)
    for cell, G in (('LSTM', 4), ('GRU', 3), ('RNN', 1)):
        lo = cell.lower()
        for dirn, nd in (('forward', 1), ('reverse', 1), ('bidirectional', 2)):
            ins = [('x', x), ('w', f(nd, G * H, I)), ('r', f(nd, G * H, H)), ('b', f(nd, 2 * G * H)), ('lens', lens),
                   ('h0', f(nd, B, H))]
            outs = ['y', 'yh']
            if cell == 'LSTM':
                ins += [('c0', f(nd, B, H)), ('p', f(nd, 3 * H))]
                outs.append('yc')
            extra = {'linear_before_reset': 1} if cell == 'GRU' and dirn == 'reverse' else {}
            case(root, 'x_%s_%s_seqlens' % (lo, dirn), cell, ins, outs, domain='', hidden_size=H, direction=dirn, **extra)
        # clip and non-default activations (onnxruntime has no layout=1 recurrent kernels)
        xb = f(S, B, I)
        acts = {'LSTM': ['HardSigmoid', 'LeakyRelu', 'Tanh'], 'GRU': ['Sigmoid', 'Softsign'], 'RNN': ['Relu']}[cell]
        ins = [('x', xb), ('w', f(1, G * H, I)), ('r', f(1, G * H, H)), ('b', f(1, 2 * G * H))]
        outs = ['y', 'yh'] + (['yc'] if cell == 'LSTM' else [])
        case(root, 'x_%s_clip_acts' % lo, cell, ins, outs, domain='', hidden_size=H, clip=2.5,
             activations=acts, opset=17)
    # convolutions
    case(root, 'x_conv_depthwise_s2', 'Conv', [('x', f(2, 6, 9, 8)), ('w', f(6, 1, 3, 3)), ('b', f(6))], ['y'], domain='',
         group=6, strides=[2, 2], pads=[1, 1, 1, 1])
    case(root, 'x_conv_group2_dil', 'Conv', [('x', f(1, 4, 10, 9)), ('w', f(6, 2, 3, 2))], ['y'], domain='', group=2,
         dilations=[2, 1], pads=[2, 0, 1, 1])
    case(root, 'x_conv_1x1', 'Conv', [('x', f(2, 8, 5, 5)), ('w', f(16, 8, 1, 1)), ('b', f(16))], ['y'], domain='')
    case(root, 'x_conv3d', 'Conv', [('x', f(1, 2, 5, 6, 4)), ('w', f(3, 2, 2, 3, 2))], ['y'], domain='', strides=[1, 2, 1],
         auto_pad='SAME_UPPER')
    case(root, 'x_conv1d_same_lower', 'Conv', [('x', f(2, 3, 11)), ('w', f(4, 3, 4))], ['y'], domain='', strides=[2],
         auto_pad='SAME_LOWER')
    case(root, 'x_convtranspose_group_dil', 'ConvTranspose', [('x', f(1, 4, 5, 4)), ('w', f(4, 3, 3, 2)), ('b', f(6))], ['y'],
         domain='', group=2, strides=[2, 3], dilations=[1, 2], pads=[1, 0, 0, 1], output_padding=[1, 0])
    case(root, 'x_convtranspose1d', 'ConvTranspose', [('x', f(2, 3, 7)), ('w', f(3, 2, 3))], ['y'], domain='', strides=[2])
    case(root, 'x_conv_depthwise_mult2', 'Conv', [('x', f(1, 3, 7, 6)), ('w', f(6, 1, 3, 2))], ['y'], domain='', group=3,
         dilations=[1, 2], pads=[1, 0, 1, 2])
    # pooling
    case(root, 'x_avgpool1d_pad_incl', 'AveragePool', [('x', f(2, 3, 11))], ['y'], domain='', kernel_shape=[3], strides=[2],
         pads=[1, 2], count_include_pad=1)
    case(root, 'x_maxpool1d_dil', 'MaxPool', [('x', f(2, 3, 11))], ['y'], domain='', kernel_shape=[2], dilations=[3],
         pads=[1, 1])
    case(root, 'x_maxpool3d_idx', 'MaxPool', [('x', f(1, 2, 5, 6, 7))], ['y', 'i'], domain='', kernel_shape=[2, 3, 2],
         strides=[2, 2, 3], pads=[0, 1, 1, 1, 0, 0])
    case(root, 'x_avgpool_dil_ceil', 'AveragePool', [('x', f(1, 3, 9, 8))], ['y'], domain='', opset=19, kernel_shape=[3, 2],
         strides=[2, 2], dilations=[2, 1], ceil_mode=1, pads=[1, 0, 1, 1])
    # reductions / softmax / einsum / gemm
    case(root, 'x_reducemean_axes02', 'ReduceMean', [('x', f(3, 4, 5, 2))], ['y'], domain='', axes=[0, 2], keepdims=0)
    case(root, 'x_reducelse_mid', 'ReduceLogSumExp', [('x', f(3, 4, 5)), ('a', np.array([1], np.int64))], ['y'], domain='',
         opset=18)
    for red in ('ReduceMean', 'ReduceMax', 'ReduceMin', 'ReduceL2', 'ReduceLogSumExp', 'ReduceProd', 'ReduceSumSquare'):
        case(root, 'x_%s_last_axes' % red.lower(), red, [('x', f(4, 6, 7))], ['y'], domain='', axes=[1, 2])
    case(root, 'x_reducesum_last_axis', 'ReduceSum', [('x', f(5, 9)), ('a', np.array([-1], np.int64))], ['y'], domain='',
         keepdims=0)
    case(root, 'x_softmax_axis1', 'Softmax', [('x', f(2, 5, 3, 4))], ['y'], domain='', axis=1)
    case(root, 'x_logsoftmax_axis0', 'LogSoftmax', [('x', f(6, 3))], ['y'], domain='', axis=0)
    case(root, 'x_einsum_bmm', 'Einsum', [('a', f(2, 3, 4)), ('b', f(2, 4, 5))], ['y'], domain='', equation='bij,bjk->bik')
    case(root, 'x_einsum_attn', 'Einsum', [('a', f(2, 3, 4, 5)), ('b', f(2, 3, 6, 5))], ['y'], domain='',
         equation='bhqd,bhkd->bhqk')
    case(root, 'x_einsum_conv_head', 'Einsum', [('a', f(2, 5, 7)), ('b', f(4, 5))], ['y'], domain='', equation='bct,kc->bkt')
    case(root, 'x_einsum_transposed_out', 'Einsum', [('a', f(3, 4)), ('b', f(4, 5))], ['y'], domain='', equation='ij,jk->ki')
    case(root, 'x_einsum_dot', 'Einsum', [('a', f(6)), ('b', f(6))], ['y'], domain='', equation='i,i->')
    case(root, 'x_einsum_ellipsis_bmm', 'Einsum', [('a', f(2, 3, 4, 5)), ('b', f(2, 3, 5, 2))], ['y'], domain='',
         equation='...ij,...jk->...ik')
    case(root, 'x_einsum_ellipsis_trace', 'Einsum', [('a', f(2, 3, 3))], ['y'], domain='', equation='...ii->...i')
    case(root, 'x_einsum_outer_sum', 'Einsum', [('a', f(4)), ('b', f(3)), ('c', f(4, 3))], ['y'], domain='',
         equation='i,j,ij->')
    case(root, 'x_gemm_bcast_c', 'Gemm', [('a', f(5, 3)), ('b', f(4, 5)), ('c', f(1, 4))], ['y'], domain='', transA=1,
         transB=1, alpha=0.5, beta=2.0)
    case(root, 'x_layernorm_axis1', 'LayerNormalization', [('x', f(2, 3, 4)), ('s', f(3, 4)), ('b', f(3, 4))],
         ['y', 'm', 'inv'], domain='', axis=1, epsilon=1e-3)
    case(root, 'x_groupnorm', 'GroupNormalization', [('x', f(2, 6, 3, 2)), ('s', f(6)), ('b', f(6))], ['y'], domain='',
         opset=21, num_groups=3)
    case(root, 'x_instnorm3d', 'InstanceNormalization', [('x', f(2, 3, 2, 3, 4)), ('s', f(3)), ('b', f(3))], ['y'], domain='')
    case(root, 'x_cumsum_excl_rev', 'CumSum', [('x', f(3, 4, 2)), ('a', np.array(1, np.int32))], ['y'], domain='',
         exclusive=1, reverse=1)


def gen_outputs(root):
    for name in sorted(os.listdir(root)):
        d = os.path.join(root, name)
        p = os.path.join(d, 'out.json')
        if not os.path.exists(p):
            print('no outputs for', name, file=sys.stderr)
            continue
        for i, o in enumerate(json.load(open(p))):
            a = np.fromfile(os.path.join(d, o['file']), dtype=o['dtype']).reshape(o['shape'])
            with open(os.path.join(d, 'test_data_set_0', 'output_%d.pb' % i), 'wb') as fh:
                fh.write(numpy_helper.from_array(a, o['name']).SerializeToString())
        m = onnx.load(os.path.join(d, 'model.onnx'))  # give the outputs their real types
        outs = json.load(open(p))
        del m.graph.output[:]
        for o in outs:
            m.graph.output.append(helper.make_tensor_value_info(o['name'], NP2ONNX[np.dtype(o['dtype']).type], o['shape']))
        onnx.save(m, os.path.join(d, 'model.onnx'))


if __name__ == '__main__':
    if sys.argv[1] == 'inputs':
        gen_inputs(sys.argv[2])
        gen_onnx_extra(sys.argv[2])
    else:
        gen_outputs(sys.argv[2])
