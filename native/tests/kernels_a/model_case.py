#!/usr/bin/python3
"""Makes an ONNX test folder for a whole model with random inputs; onnxruntime-node supplies the
expected outputs. Symbolic dims become 2 (override: NAME=VALUE). Then `fleetc test DIR/NAME`.
  /usr/bin/python3 model_case.py inputs MODEL DIR/NAME [dim=value ...]
  node ort_expected.mjs DIR
  /usr/bin/python3 gen_contrib.py outputs DIR
"""
import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import numpy_helper

NP = {1: np.float32, 6: np.int32, 7: np.int64, 10: np.float16, 9: np.bool_}


def main():
    model, out = sys.argv[2], sys.argv[3]
    dims = dict(a.split('=') for a in sys.argv[4:])
    os.makedirs(os.path.join(out, 'test_data_set_0'), exist_ok=True)
    shutil.copy(model, os.path.join(out, 'model.onnx'))
    m = onnx.load(model, load_external_data=False)
    inits = {i.name for i in m.graph.initializer}
    rng = np.random.RandomState(11)
    meta = []
    for i, inp in enumerate([x for x in m.graph.input if x.name not in inits]):
        tt = inp.type.tensor_type
        shape = [d.dim_value if d.dim_value else int(dims.get(d.dim_param, 2)) for d in tt.shape.dim]
        dt = NP[tt.elem_type]
        if dt in (np.int32, np.int64):
            a = rng.randint(0, int(dims.get('int_high', 5)), shape).astype(dt)
        elif dt == np.bool_:
            a = rng.randint(0, 2, shape).astype(dt)
        else:
            a = (rng.standard_normal(shape) * 0.5).astype(dt)
        with open(os.path.join(out, 'test_data_set_0', 'input_%d.pb' % i), 'wb') as fh:
            fh.write(numpy_helper.from_array(a, inp.name).SerializeToString())
        a.tofile(os.path.join(out, 'in_%d.bin' % i))
        meta.append({'name': inp.name, 'dtype': str(a.dtype), 'shape': shape, 'file': 'in_%d.bin' % i})
    json.dump({'inputs': meta, 'outputs': [o.name for o in m.graph.output]}, open(os.path.join(out, 'io.json'), 'w'))


if __name__ == '__main__':
    main()
