import { byteSize, dtypeBits } from '../../ir/dtype.js';
import type { TensorConst, WeightRef } from '../../ir/types.js';
import { fail, type LoadContext, type Where } from './context.js';
import type { SparseTensorProto } from './proto.js';
import { convertTensor, tensorShape } from './tensor.js';

/** Dense constants made from sparse ones are held inline; bigger ones are refused. */
const MAX_DENSE_BYTES = 64 << 20;

/**
 * A sparse constant (Constant's sparse_value, sparse_initializer) made dense: zeros everywhere
 * but at `indices` ([NNZ] linear or [NNZ, rank] coordinates), which take `values`.
 */
export function densifySparse(ctx: LoadContext, sp: SparseTensorProto, what: string, where: Where): TensorConst {
  const shape = tensorShape(ctx, sp.dims ?? [], what, where);
  if (!sp.values || !sp.indices) fail(ctx, 'E0102', `sparse ${what} lacks its values or indices`, where);
  const values = convertTensor(ctx, sp.values, `values of sparse ${what}`, where);
  const indices = convertTensor(ctx, sp.indices, `indices of sparse ${what}`, where);
  const { dtype } = values;
  if (dtype === 'string' || dtypeBits(dtype) < 8)
    fail(ctx, 'E0103', `sparse ${what} has element type ${dtype}, not supported sparse`, where);
  if (indices.dtype !== 'int64')
    fail(ctx, 'E0102', `sparse ${what} has ${indices.dtype} indices (must be int64)`, where);
  const numel = shape.reduce((a, b) => a * b, 1);
  const size = byteSize(dtype, numel);
  if (size > MAX_DENSE_BYTES)
    fail(ctx, 'E0103', `sparse ${what} is ${size} bytes dense, more than fleetc densifies`, where);
  const nnz = values.shape.length === 1 ? values.shape[0]! : -1;
  const rank = shape.length;
  const linear = indices.shape.length === 1 && indices.shape[0] === nnz;
  const coords = indices.shape.length === 2 && indices.shape[0] === nnz && indices.shape[1] === rank;
  if (nnz < 0 || !(linear || coords))
    fail(
      ctx,
      'E0102',
      `sparse ${what} has values [${values.shape}] and indices [${indices.shape}] that do not fit shape [${shape}]`,
      where,
    );
  const vb = bytesNow(ctx, values.ref, what, where);
  const ib = new DataView(bytesNow(ctx, indices.ref, what, where).slice().buffer);
  const width = dtypeBits(dtype) / 8;
  const out = new Uint8Array(size);
  for (let k = 0; k < nnz; k++) {
    let at = 0;
    if (linear) at = Number(ib.getBigInt64(k * 8, true));
    else
      for (let a = 0; a < rank; a++) {
        const c = Number(ib.getBigInt64((k * rank + a) * 8, true));
        if (c < 0 || c >= shape[a]!)
          fail(ctx, 'E0102', `sparse ${what} has index ${c} out of range on axis ${a}`, where);
        at = at * shape[a]! + c;
      }
    if (at < 0 || at >= numel)
      fail(ctx, 'E0102', `sparse ${what} has index ${at} outside its ${numel} elements`, where);
    out.set(vb.subarray(k * width, (k + 1) * width), at * width);
  }
  return { dtype, shape, ref: { kind: 'inline', data: out } };
}

/** Bytes of a constant held in memory already (inline, or raw_data inside the loaded file). */
function bytesNow(ctx: LoadContext, ref: WeightRef, what: string, where: Where): Uint8Array {
  if (ref.kind === 'inline') return ref.data;
  if (ref.kind === 'file' && ref.path === ctx.absPath) {
    const start = ctx.fileBytes.byteOffset + ref.offset;
    return new Uint8Array(ctx.fileBytes.buffer, start, ref.length);
  }
  return fail(ctx, 'E0103', `sparse ${what} keeps its parts in external data, which fleetc does not support`, where);
}
