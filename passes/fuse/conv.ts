import type { IRGraph, AttrValue } from '../../src/ir/graph.js';
import type { Pass } from '../pass.js';
import { fleetTakes, outerReferenced, dropIfUnused, sameShape, scalarWeight, soleConsumer } from './util.js';

/** Domain of the ops the fusion passes create (kernels in native/src/kernels/fused_*.cpp). */
export const FLEETC_DOMAIN = 'fleetc';

/** The activation of a fused epilogue: name and parameters, or undefined when `op` is none we fuse. */
function activationOf(graph: IRGraph, op: string): { name: string; params: number[] } | undefined {
  const a = graph.op(op);
  if (a.domain !== '') return undefined;
  const f = (k: string, def: number): number => {
    const v = a.attrs[k];
    return v && v.type === 'float' ? v.value : def;
  };
  switch (a.opType) {
    case 'Relu':
    case 'Sigmoid':
    case 'Tanh':
    case 'HardSwish':
      return { name: a.opType, params: [] };
    case 'LeakyRelu':
      return { name: 'LeakyRelu', params: [f('alpha', 0.01)] };
    case 'HardSigmoid':
      return { name: 'HardSigmoid', params: [f('alpha', 0.2), f('beta', 0.5)] };
    case 'Clip': {
      if (a.opset < 11)
        return { name: 'Clip', params: [f('min', -3.4028234663852886e38), f('max', 3.4028234663852886e38)] };
      const ins = graph.opInputs(op);
      const bound = (i: number, def: number): number | undefined =>
        ins[i] === undefined ? def : scalarWeight(graph, ins[i]);
      const lo = bound(1, -3.4028234663852886e38);
      const hi = bound(2, 3.4028234663852886e38);
      return lo === undefined || hi === undefined ? undefined : { name: 'Clip', params: [lo, hi] };
    }
  }
  return undefined;
}

/**
 * Fuses a float32 Conv with what reads its output alone: an Add of a same-shaped residual, then
 * an activation (Relu, Clip, LeakyRelu, HardSigmoid, HardSwish, Sigmoid, Tanh), into one
 * fleetc FusedConv(X, W, B, Z) with `activation` and `activation_params`, computing
 * act(conv(X, W) + B + Z). Returns the number of Convs fused.
 */
export function fuseConv(graph: IRGraph): number {
  let fused = 0;
  const outer = outerReferenced(graph);
  for (const id of graph.topoOps()) {
    if (!graph.hasOp(id)) continue;
    const conv = graph.op(id);
    if (conv.opType !== 'Conv' || conv.domain !== '') continue;
    const [y] = graph.opOutputs(id);
    if (y === undefined || graph.value(y).dtype !== 'float32') continue;
    let cur = y;
    const removed: string[] = [];
    let residual: string | undefined;
    let use = soleConsumer(graph, cur, outer);
    if (use && graph.op(use.op).opType === 'Add' && graph.op(use.op).domain === '') {
      const other = graph.opInputs(use.op)[1 - use.slot];
      const [addOut] = graph.opOutputs(use.op);
      if (
        other !== undefined &&
        other !== cur &&
        addOut !== undefined &&
        graph.value(other).dtype === 'float32' &&
        sameShape(graph, other, cur) &&
        sameShape(graph, addOut, cur)
      ) {
        residual = other;
        removed.push(use.op);
        cur = addOut;
        use = soleConsumer(graph, cur, outer);
      }
    }
    let act = use && use.slot === 0 ? activationOf(graph, use.op) : undefined;
    const [actOut] = use && act ? graph.opOutputs(use.op) : [];
    if (use && act && actOut !== undefined) {
      removed.push(use.op);
      cur = actOut;
    } else act = undefined;
    if (!removed.length) continue;
    const ins = graph.opInputs(id);
    const extra = removed.flatMap((r) => graph.opInputs(r));
    const attrs: Record<string, AttrValue> = { ...conv.attrs };
    if (act) {
      attrs.activation = { type: 'string', value: act.name };
      attrs.activation_params = { type: 'floats', value: act.params };
    }
    for (const r of removed) graph.removeOp(r);
    graph.removeOp(id);
    graph.addOp(
      { opType: 'FusedConv', domain: FLEETC_DOMAIN, opset: 1, attrs, loc: conv.loc, name: conv.name },
      residual ? [ins[0] ?? '', ins[1] ?? '', ins[2] ?? '', residual] : [ins[0] ?? '', ins[1] ?? '', ins[2] ?? ''],
      [cur],
    );
    for (const v of [y, ...extra]) if (v !== cur) dropIfUnused(graph, v, outer);
    fused++;
  }
  return fused;
}

export const fuseConvPass: Pass = {
  name: 'fuse-conv',
  summary: 'fuse Conv with a residual Add and an activation into fleetc FusedConv',
  kind: 'transform',
  options: {},
  run(graph, ctx) {
    if (!fleetTakes(ctx, 'FusedConv', FLEETC_DOMAIN))
      return { changed: false, summary: 'skipped: the fleet has non-cpu devices or refuses FusedConv' };
    const n = fuseConv(graph);
    return { changed: n > 0, summary: `${n} Conv fused with their epilogue` };
  },
};
