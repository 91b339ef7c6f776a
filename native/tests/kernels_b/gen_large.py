#!/usr/bin/python3
"""Writes larger randomized test cases for the kernels-B ops (same layout as the ONNX node
tests: <dir>/model.onnx + test_data_set_0/{input,output}_N.pb), with expected outputs from
numpy / torch. The conformance tests are tiny; these exercise the blocked, strided and
parallel paths. Usage: gen_large.py OUTDIR"""
import sys
import numpy as np
import torch
import torch.nn.functional as F
from casegen import writer

case = writer(sys.argv[1])
rng = np.random.default_rng(1234)


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def i64(*v):
    return np.array(v, dtype=np.int64)


# ---- layout ------------------------------------------------------------------------------
x = f32(8, 16, 32, 24)
for i, perm in enumerate([(0, 2, 3, 1), (3, 2, 1, 0), (0, 1, 3, 2), (1, 0, 2, 3)]):
    case('large_transpose_%d' % i, 'Transpose', [('x', x)], [('y', np.ascontiguousarray(x.transpose(perm)))], {'perm': list(perm)})
xi = rng.integers(-100, 100, (33, 65, 17)).astype(np.int8)
case('large_transpose_int8', 'Transpose', [('x', xi)], [('y', np.ascontiguousarray(xi.transpose(2, 0, 1)))], {'perm': [2, 0, 1]})
xd = rng.standard_normal((40, 70)).astype(np.float64)
case('large_transpose_f64', 'Transpose', [('x', xd)], [('y', np.ascontiguousarray(xd.T))])

x = f32(64, 50, 40)
case('large_slice_negstep', 'Slice', [('x', x), ('s', i64(60, -3, 1)), ('e', i64(2, -50, 40)), ('a', i64(0, 1, 2)), ('st', i64(-3, -2, 5))],
     [('y', np.ascontiguousarray(x[60:2:-3, -3:-50:-2, 1:40:5]))])
a, b, c = f32(16, 3, 64), f32(16, 40, 64), f32(16, 1, 64)
case('large_concat', 'Concat', [('a', a), ('b', b), ('c', c)], [('y', np.concatenate([a, b, c], 1))], {'axis': 1})
x = f32(6, 10, 130)
case('large_split', 'Split', [('x', x), ('s', i64(7, 100, 23))],
     [('y0', x[:, :, :7].copy()), ('y1', x[:, :, 7:107].copy()), ('y2', x[:, :, 107:].copy())], {'axis': 2})
x = f32(3, 40, 50)
case('large_tile', 'Tile', [('x', x), ('r', i64(2, 3, 4))], [('y', np.tile(x, (2, 3, 4)))])
x = f32(1, 300, 1)
case('large_expand', 'Expand', [('x', x), ('s', i64(64, 300, 20))], [('y', np.ascontiguousarray(np.broadcast_to(x, (64, 300, 20))))])
x = f32(2, 36, 20, 30)
case('large_depthtospace_dcr', 'DepthToSpace', [('x', x)],
     [('y', x.reshape(2, 3, 3, 4, 20, 30).transpose(0, 3, 4, 1, 5, 2).reshape(2, 4, 60, 90))], {'blocksize': 3})
case('large_depthtospace_crd', 'DepthToSpace', [('x', x)],
     [('y', x.reshape(2, 4, 3, 3, 20, 30).transpose(0, 1, 4, 2, 5, 3).reshape(2, 4, 60, 90))], {'blocksize': 3, 'mode': 'CRD'})
x = f32(4, 8, 33, 47)
pads = [0, 1, 3, 5, 0, 2, 4, 6]
npp = [(pads[i], pads[i + 4]) for i in range(4)]
for mode, npm in [('constant', 'constant'), ('reflect', 'reflect'), ('edge', 'edge')]:
    case('large_pad_' + mode, 'Pad', [('x', x), ('p', i64(*pads))], [('y', np.pad(x, npp, mode=npm))], {'mode': mode})
case('large_pad_negative', 'Pad', [('x', x), ('p', i64(0, -1, 2, -3, 0, 0, -4, 1))],
     [('y', np.pad(x[:, 1:, :, 3:], [(0, 0), (0, 0), (2, 0), (0, 1)])[:, :, :-4, :])], {'mode': 'constant'})
x = f32(5, 70, 90)
case('large_trilu_upper', 'Trilu', [('x', x), ('k', i64(3))], [('y', np.triu(x, 3))])
case('large_trilu_lower', 'Trilu', [('x', x), ('k', i64(-7))], [('y', np.tril(x, -7))], {'upper': 0})

# ---- indexing ----------------------------------------------------------------------------
x = f32(32, 1000, 8)
ind = rng.integers(-1000, 1000, (300,)).astype(np.int64)
case('large_gather', 'Gather', [('x', x), ('i', ind)], [('y', np.take(x, ind, axis=1))], {'axis': 1})
ind2 = rng.integers(0, 32, (5, 7)).astype(np.int64)
case('large_gather_axis0', 'Gather', [('x', x), ('i', ind2)], [('y', np.take(x, ind2, axis=0))])
x = f32(16, 32, 64)
ind = rng.integers(-64, 64, (16, 32, 40)).astype(np.int64)
case('large_gather_elements', 'GatherElements', [('x', x), ('i', ind)], [('y', np.take_along_axis(x, np.where(ind < 0, ind + 64, ind), 2))], {'axis': 2})
x = f32(4, 50, 30, 6)
ind = np.stack([rng.integers(0, 50, (4, 20)), rng.integers(0, 30, (4, 20))], -1).astype(np.int64)
exp = np.stack([x[b][ind[b, :, 0], ind[b, :, 1]] for b in range(4)])
case('large_gathernd_batch', 'GatherND', [('x', x), ('i', ind)], [('y', exp)], {'batch_dims': 1})
data = f32(40, 30)
ind = rng.integers(0, 40, (100, 1)).astype(np.int64)
upd = f32(100, 30)
exp = data.copy()
np.add.at(exp, ind[:, 0], upd)
case('large_scatternd_add', 'ScatterND', [('d', data), ('i', ind), ('u', upd)], [('y', exp)], {'reduction': 'add'}, opset=16)
data = f32(20, 50)
ind = rng.integers(0, 50, (20, 80)).astype(np.int64)
upd = f32(20, 80)
exp = data.copy()
for r in range(20):
    np.add.at(exp[r], ind[r], upd[r])
case('large_scatter_elements_add', 'ScatterElements', [('d', data), ('i', ind), ('u', upd)], [('y', exp)], {'axis': 1, 'reduction': 'add'}, opset=16)
m = rng.random((30, 40, 20)) < 0.2
case('large_nonzero', 'NonZero', [('x', m)], [('y', np.array(np.nonzero(m), dtype=np.int64))])
v = rng.integers(0, 500, (3000,)).astype(np.int64)
u, idx, inv, cnt = np.unique(v, return_index=True, return_inverse=True, return_counts=True)
case('large_unique_sorted', 'Unique', [('x', v)], [('y', u), ('i', idx.astype(np.int64)), ('inv', inv.astype(np.int64).reshape(-1)), ('c', cnt.astype(np.int64))])
x = f32(64, 1000)
vals, inds = torch.topk(torch.from_numpy(x), 17, dim=1)
case('large_topk', 'TopK', [('x', x), ('k', i64(17))], [('v', vals.numpy()), ('i', inds.numpy())], {'axis': 1})
vals, inds = torch.topk(torch.from_numpy(x), 9, dim=0, largest=False)
case('large_topk_smallest_axis0', 'TopK', [('x', x), ('k', i64(9))], [('v', vals.numpy()), ('i', inds.numpy())], {'axis': 0, 'largest': 0})

# ---- resize / grid sample ----------------------------------------------------------------
x = f32(1, 64, 40, 40)
case('large_resize_nearest_2x', 'Resize', [('x', x), ('roi', np.zeros(0, np.float32)), ('s', np.array([1, 1, 2, 2], np.float32))],
     [('y', x.repeat(2, 2).repeat(2, 3))], {'mode': 'nearest', 'coordinate_transformation_mode': 'asymmetric', 'nearest_mode': 'floor'})
x = f32(2, 16, 37, 29)
t = torch.from_numpy(x)
for mode, tm in [('linear', 'bilinear'), ('cubic', 'bicubic')]:
    for ac in [False, True]:
        y = F.interpolate(t, size=(64, 50), mode=tm, align_corners=ac).numpy()
        case('large_resize_%s_%s' % (mode, 'align' if ac else 'half'), 'Resize',
             [('x', x), ('roi', np.zeros(0, np.float32)), ('sc', np.zeros(0, np.float32)), ('sz', i64(2, 16, 64, 50))], [('y', y)],
             {'mode': mode, 'coordinate_transformation_mode': 'align_corners' if ac else 'half_pixel'})
x = f32(2, 8, 30, 40)
g = (rng.random((2, 25, 35, 2)) * 2.4 - 1.2).astype(np.float32)
for mode, tm in [('bilinear', 'bilinear'), ('nearest', 'nearest'), ('bicubic', 'bicubic')]:
    for pm in ['zeros', 'border', 'reflection']:
        if mode == 'bicubic' and pm == 'reflection':
            continue  # onnxruntime and the spec's reference reflect the coordinate before taking taps; torch only each tap
        for ac in [0, 1]:
            y = F.grid_sample(torch.from_numpy(x), torch.from_numpy(g), mode=tm, padding_mode=pm, align_corners=bool(ac)).numpy()
            case('large_gridsample_%s_%s_%d' % (mode, pm, ac), 'GridSample', [('x', x), ('g', g)], [('y', y)],
                 {'mode': mode, 'padding_mode': pm, 'align_corners': ac}, opset=16)

# ---- signal / misc -----------------------------------------------------------------------
x = f32(4, 256, 3, 1)
y = np.fft.fft(x[..., 0], axis=1)
case('large_dft_pow2', 'DFT', [('x', x)], [('y', np.stack([y.real, y.imag], -1).astype(np.float32))], {'axis': 1})
x = f32(3, 100, 2)
y = np.fft.ifft(x[..., 0] + 1j * x[..., 1], axis=1)
case('large_dft_inverse_100', 'DFT', [('x', x)], [('y', np.stack([y.real, y.imag], -1).astype(np.float32))], {'axis': 1, 'inverse': 1})
L = ((11 + 2 - 5) // 2 + 1) * ((13 + 4 - 4) // 3 + 1)
x = f32(2, 3 * 12, L)
y = F.fold(torch.from_numpy(x), output_size=(11, 13), kernel_size=(3, 4), dilation=(2, 1), padding=(1, 2), stride=(2, 3)).numpy()
case('large_col2im', 'Col2Im', [('x', x), ('im', i64(11, 13)), ('b', i64(3, 4))], [('y', y)],
     {'dilations': [2, 1], 'pads': [1, 2, 1, 2], 'strides': [2, 3]}, opset=18)
ind = rng.integers(-10, 10, (30, 40)).astype(np.int64)
depth = np.array(10, np.int64)
oh = (np.arange(10) == np.where(ind < 0, ind + 10, ind)[..., None]).astype(np.float32)
case('large_onehot', 'OneHot', [('i', ind), ('d', depth), ('v', np.array([0, 1], np.float32))], [('y', oh)])
x = f32(30, 8, 5)
lens = rng.integers(1, 31, (8,)).astype(np.int64)
y = x.copy()
for b in range(8):
    y[:lens[b], b] = x[:lens[b], b][::-1]
case('large_reversesequence', 'ReverseSequence', [('x', x), ('l', lens)], [('y', y)], {'time_axis': 0, 'batch_axis': 1})

# ---- edge cases --------------------------------------------------------------------------
a, z = f32(3, 4), np.zeros((3, 0), np.float32)
case('large_edge_concat_empty', 'Concat', [('a', a), ('z', z), ('b', a)], [('y', np.concatenate([a, z, a], 1))], {'axis': 1})
x = f32(1, 3, 1, 5, 1)
case('large_edge_squeeze_all', 'Squeeze', [('x', x)], [('y', x.reshape(3, 5))])
x = f32(2, 0, 3)
case('large_edge_reshape_allowzero', 'Reshape', [('x', x), ('s', i64(3, 0, 2))], [('y', x.reshape(3, 0, 2))], {'allowzero': 1}, opset=14)
x = f32(4, 6, 5)
case('large_edge_reshape_copy_dims', 'Reshape', [('x', x), ('s', i64(0, -1))], [('y', x.reshape(4, 30))])
case('large_edge_gather_scalar', 'Gather', [('x', x), ('i', np.array(-2, np.int64))], [('y', x[:, -2])], {'axis': 1})
big = np.iinfo(np.int64).max
case('large_edge_slice_intmax', 'Slice', [('x', x), ('s', i64(1, -big)), ('e', i64(big, big)), ('a', i64(1, 2))], [('y', x[:, 1:, :])])
case('large_edge_slice_reverse_all', 'Slice', [('x', x), ('s', i64(-1)), ('e', i64(-big)), ('a', i64(2)), ('st', i64(-1))],
     [('y', np.ascontiguousarray(x[:, :, ::-1]))])
s = np.array([['a', 'bb', 'ccc'], ['d', '', 'f']], dtype=object)
case('large_edge_transpose_strings', 'Transpose', [('x', s)], [('y', np.ascontiguousarray(s.T))])
case('large_edge_gather_strings', 'Gather', [('x', s), ('i', i64(2, 0, 2))], [('y', s[:, [2, 0, 2]])], {'axis': 1})
case('large_edge_concat_strings', 'Concat', [('a', s), ('b', s)], [('y', np.concatenate([s, s], 0))], {'axis': 0})
x = f32(2, 3)
case('large_edge_expand_lower_rank', 'Expand', [('x', x), ('s', i64(3))], [('y', x)])
case('large_edge_expand_higher_rank', 'Expand', [('x', x), ('s', i64(4, 1, 1))], [('y', np.broadcast_to(x, (4, 2, 3)).copy())])
xi = rng.integers(0, 5, (7, 9)).astype(np.int32)
case('large_edge_pad_int_edge', 'Pad', [('x', xi), ('p', i64(2, 3, 1, 0))], [('y', np.pad(xi, [(2, 1), (3, 0)], mode='edge'))], {'mode': 'edge'})
case('large_edge_constantofshape_empty', 'ConstantOfShape', [('s', i64(3, 0))], [('y', np.zeros((3, 0), np.float32))])
x = f32(2, 3, 4, 5)
case('large_edge_shape_slice', 'Shape', [('x', x)], [('y', i64(3, 4))], {'start': -3, 'end': -1}, opset=15)
x = f32(5, 4, 3)

# ---- seeded generators: equal to numpy's legacy MT19937 streams ---------------------------
# (named "rng", not "random", so that the harness compares values, not only shapes)
np.random.seed(7)
case('large_rng_uniform_seeded', 'RandomUniform', [], [('y', np.random.uniform(-2.0, 3.0, (40, 30)).astype(np.float32))],
     {'shape': [40, 30], 'low': -2.0, 'high': 3.0, 'seed': 7.0})
np.random.seed(11)
case('large_rng_normal_seeded', 'RandomNormal', [], [('y', np.random.normal(0.5, 2.0, (33, 7)).astype(np.float32))],
     {'shape': [33, 7], 'mean': 0.5, 'scale': 2.0, 'seed': 11.0})
np.random.seed(3)
x = f32(17, 9)
case('large_rng_normal_like_f64', 'RandomNormalLike', [('x', x)], [('y', np.random.normal(0.0, 1.0, (17, 9)))],
     {'seed': 3.0, 'dtype': 11})

# ---- RegexFullMatch vs Python's re (same meaning for this RE2 subset; ASCII classes) ---------
import re
PATTERNS = [r'www\.[\w.-]+\.\bcom\b', r'(\W|^)[\w.\-]{0,25}@(yahoo|gmail)\.com(\W|$)', r'a(b|c)*d?', r'(?:ab){2,3}c',
            r'[^0-9\s]+\d{1,2}', r'x*y+z?', r'(a|ab)(c|bcd)(d*)', r'[a-c\-x]+', r'\bfoo\b.*', r'(a*)*b', r'.{3}',
            r'\x41\d\s\S', r'[\]a]+', r'colou?r|colr', r'', r'a{2}|b{0,}|c{1,}', r'(?P<n>ab)+', r'^ab$|^$', r'\Aab\z']
STRINGS = ['www.google.com', 'www.bbc.co.uk', 'x account@gmail.com ', 'abcbd', 'abc', 'ababc', 'abababc', 'abababababc',
           'xyz', 'yyyy', 'abcd', 'abcbcd', 'a-x-c', 'foo bar', 'foobar', 'b', 'aaab', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaac',
           '', 'A1 x', 'A1  ', ']a]', 'color', 'colour', 'colr', 'aa', 'bbb', 'ccc', 'ab', 'abab', 'é!', 'hi5', 'hello12']
strs = np.array(STRINGS, dtype=object)
for k, pat in enumerate(PATTERNS):
    exp = np.array([re.fullmatch(pat.replace(r'\z', r'\Z'), s, re.ASCII) is not None for s in STRINGS])  # Python spells \z as \Z
    case('large_regex_%02d' % k, 'RegexFullMatch', [('s', strs)], [('y', exp)], {'pattern': pat}, opset=20)
long = np.array(['ab' * 60000, 'ab' * 60000 + 'c', 'a' * 40 + 'c'], dtype=object)
case('large_regex_long_input', 'RegexFullMatch', [('s', long)], [('y', np.array([True, False, False]))], {'pattern': '(a|b)*'}, opset=20)
case('large_regex_pathological', 'RegexFullMatch', [('s', long)], [('y', np.array([False, False, False]))], {'pattern': '(a*)*(b*)*d'},
     opset=20)
