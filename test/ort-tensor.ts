// ONNX test-data files (TensorProto .pb) as onnxruntime-node tensors, for reference runs in tests
// and benchmarks.
import { readFileSync } from 'node:fs';
import ort from 'onnxruntime-node';
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** An ONNX TensorProto file as an onnxruntime tensor (float32, float16, int32, int64, bool). */
export function pbTensor(file: string): ort.Tensor {
  const t = onnx.TensorProto.decode(readFileSync(file));
  const dims = t.dims.map(Number);
  const raw = t.rawData?.length ? new Uint8Array(t.rawData).slice() : undefined;
  switch (t.dataType) {
    case 1:
      return new ort.Tensor('float32', raw ? new Float32Array(raw.buffer) : Float32Array.from(t.floatData), dims);
    case 6:
      return new ort.Tensor('int32', raw ? new Int32Array(raw.buffer) : Int32Array.from(t.int32Data), dims);
    case 7:
      return new ort.Tensor(
        'int64',
        raw ? new BigInt64Array(raw.buffer) : BigInt64Array.from(t.int64Data, (x) => BigInt(x.toString())),
        dims,
      );
    case 9:
      return new ort.Tensor('bool', raw ?? Uint8Array.from(t.int32Data), dims);
    case 10: // float16: raw bits, or one value per int32Data entry
      return new ort.Tensor('float16', raw ? new Uint16Array(raw.buffer) : Uint16Array.from(t.int32Data), dims);
    default:
      throw new Error(`${file}: element type ${t.dataType} not handled`);
  }
}
