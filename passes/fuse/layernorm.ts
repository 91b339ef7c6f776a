import type { IRGraph } from '../../src/ir/graph.js';
import { dimEq } from '../../src/ir/sym.js';
import { readWeightBytes } from '../../src/ir/weights.js';
import type { Pass } from '../pass.js';
import {
  addFloatWeight,
  dropIfUnused,
  fleetTakes,
  floatWeight,
  outerReferenced,
  scalarWeight,
  soleConsumer,
} from './util.js';

/** Whether ReduceMean `op` averages `x` over its last axis only, keeping dims. */
function meanOverLastAxis(graph: IRGraph, op: string, x: string): boolean {
  const a = graph.op(op);
  if (a.opType !== 'ReduceMean' || a.domain !== '' || graph.opInputs(op)[0] !== x) return false;
  const keep = a.attrs.keepdims;
  if (keep && keep.type === 'int' && keep.value !== 1) return false;
  const rank = graph.value(x).shape?.length;
  let axes: number[] | undefined;
  const attr = a.attrs.axes;
  if (attr && attr.type === 'ints') axes = attr.value;
  else {
    const input = graph.opInputs(op)[1];
    const v = input === undefined ? undefined : graph.value(input);
    if (v && v.role === 'weight' && v.dtype === 'int64' && v.weight && v.weight.kind !== 'elided') {
      const bytes = readWeightBytes(v.weight);
      if (bytes.byteLength === 8) axes = [Number(new DataView(bytes.buffer, bytes.byteOffset).getBigInt64(0, true))];
    }
  }
  return !!axes && axes.length === 1 && rank !== undefined && (axes[0] === -1 || axes[0] === rank - 1);
}

/** The other input of binary `op` when one of its inputs is `v`; undefined otherwise. */
function otherInput(graph: IRGraph, op: string, v: string): string | undefined {
  const [a, b] = graph.opInputs(op);
  return a === v ? b : b === v ? a : undefined;
}

/**
 * Replaces the layer normalization that exporters write out before opset 17,
 *   m = ReduceMean(x, [-1]); d = x − m; v = ReduceMean(d², [-1]); n = d / sqrt(v + ε)
 * (d² as Pow(d, 2) or Mul(d, d)), optionally followed by n·γ and + β with [C] weights, by one
 * LayerNormalization(x, γ, β; axis −1, ε): one pass for the statistics and one for the output,
 * instead of nine ops and six intermediates. Every intermediate must be read by the pattern
 * only. Returns the number replaced.
 */
export function fuseLayerNorm(graph: IRGraph): number {
  let fused = 0;
  const outer = outerReferenced(graph);
  for (const id of graph.topoOps()) {
    if (!graph.hasOp(id) || graph.op(id).opType !== 'ReduceMean') continue;
    const x = graph.opInputs(id)[0];
    const m = graph.opOutputs(id)[0];
    if (x === undefined || m === undefined || graph.value(x).dtype !== 'float32' || !meanOverLastAxis(graph, id, x))
      continue;
    const sub = soleConsumer(graph, m, outer);
    if (!sub || graph.op(sub.op).opType !== 'Sub' || sub.slot !== 1 || graph.opInputs(sub.op)[0] !== x) continue;
    const d = graph.opOutputs(sub.op)[0]!;
    // d feeds the square and the final division, nothing else
    const uses = graph.consumers(d);
    if (graph.outputs.includes(d) || outer.has(d)) continue;
    const div = uses.find((u) => graph.op(u.op).opType === 'Div' && u.slot === 0);
    const sqOps = [...new Set(uses.filter((u) => u !== div).map((u) => u.op))];
    if (!div || sqOps.length !== 1) continue;
    const sq = sqOps[0]!;
    const sqOp = graph.op(sq);
    const squares =
      (sqOp.opType === 'Pow' && graph.opInputs(sq)[0] === d && scalarWeight(graph, graph.opInputs(sq)[1]) === 2) ||
      (sqOp.opType === 'Mul' && graph.opInputs(sq).every((v) => v === d));
    if (!squares || uses.length !== (sqOp.opType === 'Mul' ? 3 : 2)) continue;
    const p = graph.opOutputs(sq)[0]!;
    const mean2 = soleConsumer(graph, p, outer);
    if (!mean2 || !meanOverLastAxis(graph, mean2.op, p)) continue;
    const v = graph.opOutputs(mean2.op)[0]!;
    const add = soleConsumer(graph, v, outer);
    if (!add || graph.op(add.op).opType !== 'Add') continue;
    const epsName = otherInput(graph, add.op, v);
    const eps = scalarWeight(graph, epsName);
    if (eps === undefined) continue;
    const e = graph.opOutputs(add.op)[0]!;
    const sqrt = soleConsumer(graph, e, outer);
    if (!sqrt || graph.op(sqrt.op).opType !== 'Sqrt') continue;
    const s = graph.opOutputs(sqrt.op)[0]!;
    const divUse = soleConsumer(graph, s, outer);
    if (!divUse || divUse.op !== div.op || divUse.slot !== 1) continue;
    let out = graph.opOutputs(div.op)[0]!;
    const removed = [id, sub.op, sq, mean2.op, add.op, sqrt.op, div.op];
    const consts = [
      epsName,
      graph.opInputs(sq)[1],
      ...graph.opInputs(id).slice(1),
      ...graph.opInputs(mean2.op).slice(1),
    ];

    // optional affine tail: · γ then + β, both [C] weights
    const xShape = graph.value(x).shape;
    const C = xShape?.[xShape.length - 1];
    const affine = (opType: string): string | undefined => {
      const use = soleConsumer(graph, out, outer);
      if (!use || graph.op(use.op).opType !== opType) return undefined;
      const w = otherInput(graph, use.op, out);
      const shape = w === undefined ? undefined : graph.value(w).shape;
      if (!floatWeight(graph, w) || !shape || shape.length !== 1 || C === undefined || !dimEq(shape[0]!, C))
        return undefined;
      removed.push(use.op);
      out = graph.opOutputs(use.op)[0]!;
      return w;
    };
    let gamma = affine('Mul');
    const beta = gamma ? affine('Add') : undefined;
    if (!gamma) {
      if (typeof C !== 'number') continue;
      gamma = addFloatWeight(graph, `${graph.op(id).name}.ones`, new Float32Array(C).fill(1), [C]);
    }
    const first = graph.op(id);
    const intermediates = removed.flatMap((op) => graph.opOutputs(op)).filter((o) => o !== out);
    for (const op of removed) graph.removeOp(op);
    graph.addOp(
      {
        opType: 'LayerNormalization',
        domain: '',
        opset: 17,
        attrs: { axis: { type: 'int', value: -1 }, epsilon: { type: 'float', value: eps } },
        loc: first.loc,
        name: `${first.name}.layernorm`,
      },
      beta ? [x, gamma, beta] : [x, gamma],
      [out],
    );
    for (const val of [...intermediates, ...consts]) dropIfUnused(graph, val, outer);
    fused++;
  }
  return fused;
}

export const fuseLayerNormPass: Pass = {
  name: 'fuse-layernorm',
  summary: 'replace decomposed layer normalization (ReduceMean … Sqrt, Div) with LayerNormalization',
  kind: 'transform',
  options: {},
  run(graph, ctx) {
    if (!fleetTakes(ctx, 'LayerNormalization'))
      return { changed: false, summary: 'skipped: the fleet has non-cpu devices or refuses LayerNormalization' };
    const n = fuseLayerNorm(graph);
    return { changed: n > 0, summary: `${n} layer normalizations fused` };
  },
};
