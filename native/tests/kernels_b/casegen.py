"""Writes one node test in the ONNX node-test layout: <out>/test_<name>/model.onnx and
test_data_set_0/{input,output}_N.pb, plus expect_error.txt for cases that must fail."""
import os
import onnx
from onnx import helper, numpy_helper


def _vi(n, a):
    return helper.make_tensor_value_info(n, onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[a.dtype], list(a.shape))


def writer(out):
    def case(name, op, inputs, outputs, attrs=None, opset=17, error=None, out_types=None, domain='', domain_opset=1):
        """inputs/outputs: lists of (name, array); an input named '' is an omitted optional input.
        error: text the failure message must contain (outputs then only name the outputs)."""
        d = os.path.join(out, 'test_' + name)
        os.makedirs(os.path.join(d, 'test_data_set_0'), exist_ok=True)
        node = helper.make_node(op, [n for n, _ in inputs], [n for n, _ in outputs], domain=domain or None, **(attrs or {}))
        def out_vi(n, a):
            if a is not None:
                return _vi(n, a)
            t = (out_types or {}).get(n, 1)
            if t == 'seq':
                return helper.make_value_info(n, helper.make_sequence_type_proto(helper.make_tensor_type_proto(1, None)))
            return helper.make_tensor_value_info(n, t, None)
        outs = [out_vi(n, a) for n, a in outputs]
        g = helper.make_graph([node], name, [_vi(n, a) for n, a in inputs if n], outs)
        ops = [helper.make_opsetid('', opset)] + ([helper.make_opsetid(domain, domain_opset)] if domain else [])
        m = helper.make_model(g, opset_imports=ops)
        onnx.save(m, os.path.join(d, 'model.onnx'))
        k = 0
        for n, a in inputs:
            if not n:
                continue
            onnx.save_tensor(numpy_helper.from_array(a, n), os.path.join(d, 'test_data_set_0', 'input_%d.pb' % k))
            k += 1
        for k, (n, a) in enumerate(outputs):
            if a is not None:
                onnx.save_tensor(numpy_helper.from_array(a, n), os.path.join(d, 'test_data_set_0', 'output_%d.pb' % k))
        if error:
            open(os.path.join(d, 'expect_error.txt'), 'w').write(error)
    return case
