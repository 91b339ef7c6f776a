// Fills in reference outputs with onnxruntime-node: for every ROOT/test_*/ that has model.onnx
// and test_data_set_0/input_*.pb (written by gen_ort.py), runs the model and writes
// test_data_set_0/output_*.pb. Cases onnxruntime rejects are reported and left without
// outputs (convert.py then skips them). usage: node ort_fill.mjs ROOT
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.resolve(here, '../../../package.json'));
const ort = require('onnxruntime-node');
const { onnx } = require('onnx-proto');

// ONNX data type code -> [ort type name, typed array, bytes per element]
const TYPES = {
  1: ['float32', Float32Array, 4],
  2: ['uint8', Uint8Array, 1],
  3: ['int8', Int8Array, 1],
  5: ['int16', Int16Array, 2],
  6: ['int32', Int32Array, 4],
  7: ['int64', BigInt64Array, 8],
  9: ['bool', Uint8Array, 1],
  11: ['float64', Float64Array, 8],
  12: ['uint32', Uint32Array, 4],
  13: ['uint64', BigUint64Array, 8],
};
const CODE = Object.fromEntries(Object.entries(TYPES).map(([k, v]) => [v[0], Number(k)]));
CODE.string = 8;

function toOrt(tp) {
  const dims = tp.dims.map(Number);
  if (tp.dataType === 8)
    return new ort.Tensor(
      'string',
      tp.stringData.map((b) => Buffer.from(b).toString('utf8')),
      dims,
    );
  const t = TYPES[tp.dataType];
  if (!t) throw new Error(`input dtype ${tp.dataType} not handled`);
  const raw = Buffer.from(tp.rawData);
  const copy = new Uint8Array(raw.length);
  copy.set(raw);
  const data = new t[1](copy.buffer, 0, raw.length / t[2]);
  return new ort.Tensor(t[0], t[0] === 'bool' ? data : data, dims);
}

function fromOrt(name, t) {
  const tp = { name, dims: t.dims, dataType: CODE[t.type] };
  if (tp.dataType === undefined) throw new Error(`output dtype ${t.type} not handled`);
  if (t.type === 'string') tp.stringData = t.data.map((s) => Buffer.from(s, 'utf8'));
  else tp.rawData = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  return onnx.TensorProto.encode(onnx.TensorProto.create(tp)).finish();
}

const root = process.argv[2];
let ok = 0;
let bad = 0;
for (const name of fs.readdirSync(root).sort()) {
  const dir = path.join(root, name);
  const ds = path.join(dir, 'test_data_set_0');
  if (process.env.ORT_TRACE) console.error(`running ${name}`);
  try {
    const model = onnx.ModelProto.decode(fs.readFileSync(path.join(dir, 'model.onnx')));
    const feeds = {};
    let k = 0;
    for (const vi of model.graph.input) {
      const f = path.join(ds, `input_${k}.pb`);
      if (!fs.existsSync(f)) break;
      feeds[vi.name] = toOrt(onnx.TensorProto.decode(fs.readFileSync(f)));
      ++k;
    }
    const sess = await ort.InferenceSession.create(path.join(dir, 'model.onnx'), { logSeverityLevel: 4 });
    const res = await sess.run(feeds);
    model.graph.output.forEach((vi, i) =>
      fs.writeFileSync(path.join(ds, `output_${i}.pb`), fromOrt(vi.name, res[vi.name])),
    );
    ++ok;
  } catch (e) {
    ++bad;
    console.error(`ort-skipped ${name}: ${String(e.message).split('\n')[0]}`);
  }
}
console.error(`ort reference: ${ok} filled, ${bad} skipped`);
