// Runs every DIR/<case>/model.onnx made by gen_contrib.py in onnxruntime-node and writes the
// outputs as raw files + out.json (the reference results for the kernels-A harness).
// usage: node ort_expected.mjs DIR
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(path.resolve('../../../package.json'));
const ort = require('onnxruntime-node');

const ARRAYS = { float32: Float32Array, int32: Int32Array, int64: BigInt64Array, float16: Uint16Array };
const ORT_TYPES = { float32: 'float32', int32: 'int32', int64: 'int64', float16: 'float16' };

const root = process.argv[2];
for (const name of fs.readdirSync(root).sort()) {
  const dir = path.join(root, name);
  const io = JSON.parse(fs.readFileSync(path.join(dir, 'io.json'), 'utf8'));
  try {
    const sess = await ort.InferenceSession.create(path.join(dir, 'model.onnx'));
    const feeds = {};
    for (const inp of io.inputs) {
      const buf = fs.readFileSync(path.join(dir, inp.file));
      const Arr = ARRAYS[inp.dtype];
      const data = new Arr(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
      feeds[inp.name] = new ort.Tensor(ORT_TYPES[inp.dtype], data, inp.shape);
    }
    const res = await sess.run(feeds);
    const meta = [];
    io.outputs.forEach((o, i) => {
      const t = res[o];
      const file = `out_${i}.bin`;
      fs.writeFileSync(path.join(dir, file), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      meta.push({ name: o, dtype: t.type, shape: t.dims, file });
    });
    fs.writeFileSync(path.join(dir, 'out.json'), JSON.stringify(meta));
  } catch (e) {
    console.error(`${name}: ${e.message.split('\n')[0]}`);
  }
}
