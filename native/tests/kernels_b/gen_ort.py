#!/usr/bin/python3
"""Writes cases whose reference outputs come from onnxruntime (ort_fill.mjs fills them in):
modes and sizes the node suite does not cover. Usage: gen_ort.py OUTDIR"""
import sys
import numpy as np
from onnx import TensorProto as TP
from casegen import writer

case = writer(sys.argv[1])
rng = np.random.default_rng(4321)
F, I64, B, S = TP.FLOAT, TP.INT64, TP.BOOL, TP.STRING


def f32(*shape):
    return rng.standard_normal(shape).astype(np.float32)


def i64(*v):
    return np.array(v, dtype=np.int64)


def ort(name, op, inputs, out_types, attrs=None, opset=18, ml=0):
    outs = [('y%d' % k, None) for k in range(len(out_types))]
    case('ort_' + name, op, inputs, outs, attrs, opset=opset, out_types={'y%d' % k: t for k, t in enumerate(out_types)},
         domain='ai.onnx.ml' if ml else '', domain_opset=ml)


EMPTY = np.zeros(0, np.float32)

# ---- Resize ------------------------------------------------------------------------------
x = f32(2, 3, 23, 31)
for mode in ['linear', 'cubic']:
    for sz in [(9, 14), (40, 50)]:
        ort('resize_antialias_%s_%dx%d' % (mode, *sz), 'Resize', [('x', x), ('', None), ('', None), ('s', i64(2, 3, *sz))], [F],
            {'mode': mode, 'antialias': 1}, opset=18)
for ctm in ['half_pixel_symmetric', 'pytorch_half_pixel', 'asymmetric', 'align_corners', 'half_pixel']:
    for mode in ['nearest', 'linear', 'cubic']:
        # align_corners with non-integral scale*size: onnxruntime divides by the rounded output
        # length, the spec's reference (and this runtime) by scale*size; sizes agree in both.
        sz = [('', None), ('sz', i64(2, 3, 14, 42))] if ctm == 'align_corners' else [('sc', np.array([1, 1, 0.63, 1.37], np.float32))]
        ort('resize_%s_%s' % (ctm, mode), 'Resize', [('x', x), ('', None)] + sz, [F],
            {'mode': mode, 'coordinate_transformation_mode': ctm}, opset=19)
for nm in ['round_prefer_ceil', 'floor', 'ceil', 'round_prefer_floor']:
    ort('resize_nearest_%s' % nm, 'Resize', [('x', x), ('', None), ('sc', np.array([1, 1, 1.7, 0.45], np.float32))], [F],
        {'mode': 'nearest', 'nearest_mode': nm}, opset=18)
ort('resize_cubic_exclude_a05', 'Resize', [('x', x), ('', None), ('sc', np.array([1, 1, 0.8, 2.1], np.float32))], [F],
    {'mode': 'cubic', 'exclude_outside': 1, 'cubic_coeff_a': -0.5}, opset=18)
ort('resize_tf_crop_extrap', 'Resize',
    [('x', x), ('roi', np.array([0, 0, -0.2, 0.1, 1, 1, 0.9, 1.3], np.float32)), ('', None), ('s', i64(2, 3, 17, 19))], [F],
    {'mode': 'linear', 'coordinate_transformation_mode': 'tf_crop_and_resize', 'extrapolation_value': 7.5}, opset=18)
ort('resize_not_smaller_axes', 'Resize', [('x', x), ('', None), ('', None), ('s', i64(50, 40))], [F],
    {'mode': 'linear', 'axes': [3, 2], 'keep_aspect_ratio_policy': 'not_smaller'}, opset=18)
xu = rng.integers(0, 255, (1, 2, 13, 17)).astype(np.uint8)
ort('resize_uint8_nearest', 'Resize', [('xu', xu), ('', None), ('sc', np.array([1, 1, 2.5, 1.5], np.float32))], [TP.UINT8],
    {'mode': 'nearest'}, opset=18)
x5 = f32(1, 2, 6, 7, 8)
ort('resize_trilinear', 'Resize', [('x5', x5), ('', None), ('sc', np.array([1, 1, 1.5, 0.5, 2], np.float32))], [F], {'mode': 'linear'})

# ---- GridSample / AffineGrid -------------------------------------------------------------
xg = f32(2, 3, 9, 11)
g = (rng.random((2, 7, 8, 2)) * 3 - 1.5).astype(np.float32)
for mode in ['linear', 'cubic', 'nearest']:
    for pm in ['zeros', 'border', 'reflection']:
        for ac in [0, 1]:
            ort('gridsample_%s_%s_%d' % (mode, pm, ac), 'GridSample', [('xg', xg), ('g', g)], [F],
                {'mode': mode, 'padding_mode': pm, 'align_corners': ac}, opset=20)
x3 = f32(1, 2, 5, 6, 7)
g3 = (rng.random((1, 4, 3, 5, 3)) * 2.4 - 1.2).astype(np.float32)
ort('gridsample_3d_linear_border', 'GridSample', [('x3', x3), ('g3', g3)], [F], {'mode': 'linear', 'padding_mode': 'border'}, opset=20)
th = f32(2, 3, 4)
ort('affine_grid_3d', 'AffineGrid', [('th', th), ('sz', i64(2, 1, 4, 5, 6))], [F], {'align_corners': 0}, opset=20)

# ---- detection ---------------------------------------------------------------------------
xr = f32(2, 4, 20, 24)
lo = rng.random((9, 2)) * 15
rois = np.concatenate([lo, lo + rng.random((9, 2)) * 9 + 0.5], 1).astype(np.float32)
bi = rng.integers(0, 2, 9).astype(np.int64)
for mode in ['avg', 'max']:
    for ctm in ['half_pixel', 'output_half_pixel']:
        for sr in [0, 2]:
            ort('roialign_%s_%s_%d' % (mode, ctm, sr), 'RoiAlign', [('xr', xr), ('rois', rois), ('bi', bi)], [F],
                {'mode': mode, 'coordinate_transformation_mode': ctm, 'sampling_ratio': sr, 'output_height': 3, 'output_width': 4,
                 'spatial_scale': 0.75}, opset=16)
boxes = np.concatenate([rng.random((2, 60, 2)) * 10, rng.random((2, 60, 2)) * 10], 2).astype(np.float32)
scores = rng.random((2, 3, 60)).astype(np.float32)
for cpb in [0, 1]:
    ort('nms_random_%d' % cpb, 'NonMaxSuppression',
        [('bx', boxes), ('sc', scores), ('m', i64(7)), ('iou', np.array([0.3], np.float32)), ('st', np.array([0.2], np.float32))], [I64],
        {'center_point_box': cpb}, opset=11)
rp = np.concatenate([rng.integers(0, 2, (6, 1)), rng.random((6, 2)) * 10, rng.random((6, 2)) * 10 + 10], 1).astype(np.float32)
ort('maxroipool', 'MaxRoiPool', [('xr', xr), ('rp', rp)], [F], {'pooled_shape': [3, 2], 'spatial_scale': 0.9}, opset=1)

# ---- indexing / layout -------------------------------------------------------------------
xt = np.round(f32(5, 40) * 2) / 2  # many ties
for largest in [0, 1]:
    ort('topk_ties_%d' % largest, 'TopK', [('xt', xt), ('k', i64(11))], [F, I64], {'axis': 1, 'largest': largest}, opset=11)
xq = rng.integers(0, 3, (6, 4, 5)).astype(np.float32)
for axis in [0, 1, 2]:
    for srt in [0, 1]:
        ort('unique_axis%d_sorted%d' % (axis, srt), 'Unique', [('xq', xq)], [F, I64, I64, I64], {'axis': axis, 'sorted': srt}, opset=11)
xs = rng.integers(0, 9, (50,)).astype(np.int64)
ort('unique_unsorted_flat', 'Unique', [('xs', xs)], [I64, I64, I64, I64], {'sorted': 0}, opset=11)
d = f32(6, 7, 8)
for red in ['max', 'min', 'mul', 'add']:
    ind = rng.integers(-7, 7, (6, 5, 8)).astype(np.int64)
    ort('scatter_elements_%s' % red, 'ScatterElements', [('d', d), ('ind', ind), ('u', f32(6, 5, 8))], [F],
        {'axis': 1, 'reduction': red}, opset=18)
    indn = rng.integers(0, 6, (10, 2)).astype(np.int64)
    ort('scatternd_%s' % red, 'ScatterND', [('d', d), ('indn', indn), ('u', f32(10, 8))], [F], {'reduction': red}, opset=18)
xp = f32(3, 5, 6)
ort('pad_wrap', 'Pad', [('xp', xp), ('p', i64(1, 4, 2, 0, 3, 5))], [F], {'mode': 'wrap'}, opset=19)
ort('pad_axes_reflect', 'Pad', [('xp', xp), ('p', i64(2, 1, 3, 4)), ('', None), ('ax', i64(-1, 1))], [F], {'mode': 'reflect'}, opset=18)
ort('split_num_outputs', 'Split', [('xn', f32(2, 7, 3))], [F, F, F], {'axis': 1, 'num_outputs': 3}, opset=18)
ort('center_crop_pad_mixed', 'CenterCropPad', [('xp', xp), ('s', i64(7, 3))], [F], {'axes': [1, 2]}, opset=18)
xg2 = f32(2, 3, 4, 5, 6)
ig = np.stack([rng.integers(0, 4, (2, 3, 7)), rng.integers(0, 5, (2, 3, 7))], -1).astype(np.int64)
ort('gathernd_batch2', 'GatherND', [('xg2', xg2), ('ig', ig)], [F], {'batch_dims': 2}, opset=13)
ort('trilu_int', 'Trilu', [('ti', rng.integers(-9, 9, (3, 6, 4)).astype(np.int64)), ('k', i64(-1))], [I64], {'upper': 0}, opset=14)
ort('onehot_axis1', 'OneHot', [('oi', rng.integers(-4, 4, (3, 5)).astype(np.int64)), ('dp', np.array([4], np.int64)),
                               ('ov', np.array([-1, 2], np.float32))], [F], {'axis': 1}, opset=11)
# (3-D Col2Im is left out: onnxruntime's N-D result disagrees with a direct evaluation of the
# spec; 2-D is checked against torch's fold in gen_large.py, N-D by the node suite.)
ort('det_batched', 'Det', [('dm', f32(4, 3, 5, 5))], [F], opset=11)

# ---- signal ------------------------------------------------------------------------------
xd = f32(2, 24, 3, 1) * 0.25  # small values: onnxruntime's float32 sums stay within the tolerance
ort('dft_length_pad', 'DFT', [('xd', xd), ('dl', np.array(30, np.int64)), ('ax', np.array(1, np.int64))], [F], {}, opset=20)
ort('dft_length_trunc_onesided', 'DFT', [('xd', xd), ('dl', np.array(17, np.int64)), ('ax', np.array(-3, np.int64))], [F],
    {'onesided': 1}, opset=20)
xc = f32(2, 3, 12, 2)
ort('dft_inverse_axis2', 'DFT', [('xc', xc), ('', None), ('ax', np.array(2, np.int64))], [F], {'inverse': 1}, opset=20)
sig = f32(2, 100, 1) * 0.25
ort('stft_hann_window', 'STFT', [('sig', sig), ('st', np.array(7, np.int64)), ('w', np.hanning(20).astype(np.float32))], [F],
    {'onesided': 1}, opset=17)
sigc = f32(1, 64, 2)
ort('stft_complex_full', 'STFT', [('sigc', sigc), ('st', np.array(5, np.int64)), ('', None), ('fl', np.array(12, np.int64))], [F],
    {'onesided': 0}, opset=17)
for w in ['HannWindow', 'HammingWindow', 'BlackmanWindow']:
    ort(w.lower() + '_odd_double', w, [('n', np.array(15, np.int64))], [TP.DOUBLE], {'output_datatype': 11, 'periodic': 0}, opset=17)
ort('melweightmatrix_wide', 'MelWeightMatrix',
    [('nm', np.array(20, np.int64)), ('dl', np.array(512, np.int64)), ('sr', np.array(16000, np.int64)),
     ('lo', np.array(20.0, np.float32)), ('hi', np.array(7600.0, np.float32))], [F], {}, opset=17)

# ---- strings / ml ------------------------------------------------------------------------
st = np.array(['Hello World', 'ALPHA beta', 'stop', 'Stop', 'x'], dtype=object)
ort('strnormalizer_lower_insensitive', 'StringNormalizer', [('st', st)], [S],
    {'case_change_action': 'LOWER', 'stopwords': ['stop'], 'is_case_sensitive': 0, 'locale': 'C'}, opset=10)
ort('regex_anchors_classes', 'RegexFullMatch', [('st', st)], [B], {'pattern': '[A-Z][a-z]+ .*|s[a-z]{3}'}, opset=20)
ti = rng.integers(0, 6, (3, 12)).astype(np.int64)
ort('tfidf_tfidf_weights', 'TfIdfVectorizer', [('ti', ti)], [F],
    {'mode': 'TFIDF', 'min_gram_length': 1, 'max_gram_length': 3, 'max_skip_count': 2, 'ngram_counts': [0, 3, 7],
     'ngram_indexes': [0, 1, 2, 3, 4, 5, 6], 'pool_int64s': [1, 3, 5, 1, 2, 3, 4, 0, 5, 2, 0, 1, 2],
     'weights': [0.5, 1.0, 2.0, 0.25, 1.5, 3.0, 0.1]}, opset=9)
tsx = np.array([['a', 'b', 'c', 'a', 'b', 'd'], ['c', 'c', 'a', 'b', 'x', 'a']], dtype=object)
ort('tfidf_strings_idf', 'TfIdfVectorizer', [('tsx', tsx)], [F],
    {'mode': 'IDF', 'min_gram_length': 2, 'max_gram_length': 2, 'max_skip_count': 1, 'ngram_counts': [0, 2],
     'ngram_indexes': [3, 2, 0, 1], 'pool_strings': ['a', 'c', 'a', 'b', 'c', 'a'], 'weights': [0.5, 1.0, 2.0, 3.0]}, opset=9)

xm = (rng.standard_normal((7, 3)) * 3).astype(np.float32)
xm[2, 1] = np.nan
ort('ml_binarizer', 'Binarizer', [('xb', np.nan_to_num(xm))], [F], {'threshold': 0.5}, ml=1)
ort('ml_array_feature_extractor', 'ArrayFeatureExtractor', [('xm', xm), ('ix', i64(2, 0, 2))], [F], ml=1)
ort('ml_label_encoder_float_string', 'LabelEncoder', [('lf', np.array([1.5, -2.0, 3.25, 7.0], np.float32))], [S],
    {'keys_floats': [1.5, 3.25, -2.0], 'values_strings': ['a', 'b', 'c'], 'default_string': 'none'}, ml=2)
ort('ml_label_encoder_int_float', 'LabelEncoder', [('li', i64(4, 1, 9, 1))], [F],
    {'keys_int64s': [1, 4], 'values_floats': [0.5, -1.0], 'default_float': 3.0}, ml=2)
modes = np.array([0, 1, 2, 3, 4, 5, 0], np.uint8)
from onnx import numpy_helper as nh
for agg in [0, 1, 2, 3]:
    # post_transform 1/2: onnxruntime swaps SOFTMAX and LOGISTIC against the spec's numbering
    # (NONE 0, SOFTMAX 1, LOGISTIC 2, SOFTMAX_ZERO 3), so only 0 and 3 are compared.
    for post in [0, 3]:
        ort('ml_tree_ensemble_agg%d_post%d' % (agg, post), 'TreeEnsemble', [('xm', xm)], [F],
            {'aggregate_function': agg, 'post_transform': post, 'n_targets': 2, 'tree_roots': [0, 3],
             'nodes_featureids': [0, 1, 2, 1, 0, 2, 1], 'nodes_modes': nh.from_array(modes, 'nodes_modes'),
             'nodes_splits': nh.from_array(np.array([0.1, -0.5, 1.0, 0.0, 2.0, -1.0, 0.3], np.float32), 'nodes_splits'),
             'nodes_truenodeids': [1, 0, 1, 4, 2, 3, 4], 'nodes_trueleafs': [0, 1, 1, 0, 1, 1, 1],
             'nodes_falsenodeids': [2, 1, 2, 5, 3, 4, 5], 'nodes_falseleafs': [0, 1, 1, 0, 1, 1, 1],
             'nodes_missing_value_tracks_true': [1, 0, 0, 0, 1, 0, 0],
             'leaf_targetids': [0, 1, 0, 1, 0, 1], 'leaf_weights': nh.from_array(np.array([1.0, -2.0, 0.5, 3.0, -1.5, 2.5], np.float32),
                                                                                 'leaf_weights')}, ml=5)
xf = (rng.standard_normal((6, 4)) * 2).astype(np.float32)
ort('ml_scaler', 'Scaler', [('xf', xf)], [F], {'offset': [0.5, -1.0, 0.0, 2.0], 'scale': [2.0, 0.5, 1.5, -1.0]}, ml=1)
ort('ml_scaler_single', 'Scaler', [('xf', xf)], [F], {'offset': [0.25], 'scale': [3.0]}, ml=1)
for norm in ['MAX', 'L1', 'L2']:
    ort('ml_normalizer_' + norm.lower(), 'Normalizer', [('xf', xf)], [F], {'norm': norm}, ml=1)
xn = xf.copy()
xn[1, 2] = np.nan
xn[4, 0] = np.nan
ort('ml_imputer_nan', 'Imputer', [('xn', xn)], [F], {'imputed_value_floats': [9.0, 8.0, 7.0, 6.0], 'replaced_value_float': np.nan},
    ml=1)
ort('ml_imputer_default_zero', 'Imputer', [('xz', np.round(xf))], [F], {'imputed_value_floats': [5.0]}, ml=1)
xi = rng.integers(-2, 3, (5, 3)).astype(np.int64)
ort('ml_imputer_int', 'Imputer', [('xi', xi)], [I64], {'imputed_value_int64s': [100], 'replaced_value_int64': 0}, ml=1)
ort('ml_onehotencoder_int', 'OneHotEncoder', [('xi', xi)], [F], {'cats_int64s': [-2, 0, 2, 5]}, ml=1)
ort('ml_onehotencoder_str', 'OneHotEncoder', [('cs', np.array([['a', 'b'], ['zz', 'c']], dtype=object))], [F],
    {'cats_strings': ['c', 'a', 'b']}, ml=1)
ort('ml_category_mapper_s2i', 'CategoryMapper', [('cs', np.array(['a', 'q', 'c', 'b'], dtype=object))], [I64],
    {'cats_strings': ['a', 'b', 'c'], 'cats_int64s': [10, 20, 30], 'default_int64': -7}, ml=1)
ort('ml_category_mapper_i2s', 'CategoryMapper', [('ci', i64(30, 5, 10))], [S],
    {'cats_strings': ['a', 'b', 'c'], 'cats_int64s': [10, 20, 30], 'default_string': 'none'}, ml=1)
ort('ml_feature_vectorizer', 'FeatureVectorizer', [('fa', f32(4, 2)), ('fb', f32(4, 3))], [F],
    {'inputdimensions': [2, 3]}, ml=1)
for post in ['NONE', 'LOGISTIC', 'SOFTMAX', 'SOFTMAX_ZERO']:
    ort('ml_linear_regressor_%s' % post.lower(), 'LinearRegressor', [('xf', xf)], [F],
        {'coefficients': list(rng.standard_normal(8)), 'intercepts': [0.5, -0.25], 'targets': 2, 'post_transform': post}, ml=1)
for agg in ['SUM', 'AVERAGE', 'MIN', 'MAX']:
    ort('ml_tree_regressor_%s' % agg.lower(), 'TreeEnsembleRegressor', [('xn', xn)], [F],
        {'aggregate_function': agg, 'n_targets': 2, 'base_values': [0.5, -1.0],
         'nodes_treeids': [0, 0, 0, 0, 0, 1, 1, 1], 'nodes_nodeids': [0, 1, 2, 3, 4, 0, 1, 2],
         'nodes_featureids': [0, 1, 0, 0, 0, 2, 0, 0], 'nodes_values': [0.1, -0.5, 0, 0, 0, 1.0, 0, 0],
         'nodes_modes': ['BRANCH_LEQ', 'BRANCH_GT', 'LEAF', 'LEAF', 'LEAF', 'BRANCH_LT', 'LEAF', 'LEAF'],
         'nodes_truenodeids': [1, 3, 0, 0, 0, 1, 0, 0], 'nodes_falsenodeids': [2, 4, 0, 0, 0, 2, 0, 0],
         'nodes_missing_value_tracks_true': [1, 0, 0, 0, 0, 0, 0, 0],
         # Every leaf votes for both targets: for a target without votes onnxruntime returns 0
         # where this runtime returns base_values (the spec adds them after aggregation).
         'target_treeids': [0, 0, 0, 0, 0, 0, 1, 1, 1, 1], 'target_nodeids': [2, 2, 3, 3, 4, 4, 1, 1, 2, 2],
         'target_ids': [0, 1, 0, 1, 0, 1, 0, 1, 0, 1],
         'target_weights': [1.0, 0.25, -1.0, 2.0, -3.0, 0.5, 4.0, 1.5, -0.75, -2.5]}, ml=1)
