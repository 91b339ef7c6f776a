import type { Dim } from '../../../src/ir/sym.js';
import type { OpCtx, ShapeFn } from '../context.js';
import { sameType, unify } from '../merge.js';
import { ShapeError, type Known, type VType } from '../types.js';
import { normAxis, t } from './util.js';

function need(c: OpCtx, name: string) {
  const g = c.attrGraph(name);
  if (!g) throw new ShapeError(`${c.opType} has no '${name}' subgraph`);
  return g;
}

const ifOp: ShapeFn = (c) => {
  const thenRes = c.inferSubgraph(need(c, 'then_branch'), []);
  const elseRes = c.inferSubgraph(need(c, 'else_branch'), []);
  const cond = c.scalar(0);
  if (typeof cond === 'number') {
    const taken = cond ? thenRes : elseRes;
    c.knownOutputs = taken.knowns;
    return taken.types;
  }
  return thenRes.types.map((a, i) => {
    const b = elseRes.types[i];
    return b ? unify(a, b, (d) => c.fresh(`out${i}_d${d}`)) : a;
  });
};

/** A dim with `trip` inserted at `axis` (scan outputs). */
function stacked(v: VType, trip: Dim, axis = 0): VType {
  if (!v.shape) return t(v.dtype, null);
  const shape = v.shape.slice();
  shape.splice(normAxis(axis, shape.length + 1), 0, trip);
  return t(v.dtype, shape);
}

/**
 * Loop: the body is inferred with the initial carried types; where an iteration changes a
 * carried type, the differing dims become fresh symbols and the body is inferred once more.
 * Scan outputs stack along a trip-count dim: M when M is a known constant and the body's
 * condition is a known true, else a fresh symbol.
 */
const loop: ShapeFn = (c) => {
  const body = need(c, 'body');
  const nCarried = Math.max(c.numInputs - 2, 0);
  let carried: VType[] = [];
  for (let i = 0; i < nCarried; i++) carried.push({ ...c.input(i + 2) });
  const iterTypes = (): VType[] => [t('int64', []), t('bool', []), ...carried];
  // The condition fed to the first iteration (absent: true). Given only it (iteration number and
  // carried values unknown), a body whose condition output is still a known true keeps looping
  // for all M iterations.
  const cond0 = c.has(1) ? c.scalar(1) : 1;
  const condKnown: (Known | undefined)[] = [
    undefined,
    cond0 === 1 ? { dtype: 'bool', shape: [], data: [1] } : undefined,
  ];
  // A sequence carried from empty (no element shape) enters the first iteration as it is: the
  // body's own declaration of its element shape would otherwise stand in for the real one.
  const fromEmpty = [false, false, ...carried.map((v) => v.container === 'sequence' && !v.shape)];
  let res = c.inferSubgraph(body, iterTypes(), condKnown, fromEmpty);
  const changed = carried.some((v, i) => res.types[i + 1] && !sameType(v, res.types[i + 1]!));
  if (changed) {
    carried = carried.map((v, i) => {
      const out = res.types[i + 1];
      // A sequence with no element shape (SequenceEmpty) takes the shape of what the body appends.
      if (out && v.container === 'sequence' && !v.shape && out.container === 'sequence')
        return { ...out, dtype: v.dtype ?? out.dtype };
      return out ? unify(v, out, (d) => c.fresh(`carried${i}_d${d}`)) : v;
    });
    res = c.inferSubgraph(body, iterTypes(), condKnown);
  }
  const m = c.scalar(0);
  const condOut = res.knowns[0]?.data[0];
  const trip: Dim = typeof m === 'number' && condOut === 1 ? m : c.fresh('trip');
  const finals = carried.map((v, i) => {
    const out = res.types[i + 1];
    if (out && v.container === 'sequence' && !v.shape && out.container === 'sequence') return out;
    return out ? unify(v, out, (d) => c.fresh(`carried${i}_d${d}`)) : v;
  });
  const scans = res.types.slice(1 + nCarried).map((v) => stacked(v, trip));
  return [...finals, ...scans];
};

const scan: ShapeFn = (c) => {
  const body = need(c, 'body');
  const nScan = c.attrInt('num_scan_inputs');
  if (nScan === undefined) throw new ShapeError('Scan needs num_scan_inputs');
  const v8 = c.opset < 9;
  const first = v8 ? 1 : 0;
  const nState = c.numInputs - first - nScan;
  const inAxes = c.attrInts('scan_input_axes') ?? [];
  const outAxes = c.attrInts('scan_output_axes') ?? [];
  const states: VType[] = [];
  for (let i = 0; i < nState; i++) {
    const v = c.input(first + i);
    states.push(v8 && v.shape ? t(v.dtype, v.shape.slice(1)) : { ...v });
  }
  let trip: Dim | undefined;
  let batch: Dim | undefined;
  const scans: VType[] = [];
  for (let j = 0; j < nScan; j++) {
    const v = c.input(first + nState + j);
    if (!v.shape) {
      scans.push(t(v.dtype, null));
      continue;
    }
    const shape = v.shape.slice();
    if (v8) batch ??= shape.shift();
    const axis = v8 ? 0 : normAxis(inAxes[j] ?? 0, shape.length);
    const [d] = shape.splice(axis, 1);
    if (trip === undefined || typeof trip !== 'number') trip = d;
    scans.push(t(v.dtype, shape));
  }
  const res = c.inferSubgraph(body, [...states, ...scans]);
  const tripDim: Dim = trip ?? c.fresh('trip');
  const outStates = states.map((v, i) => {
    const out = res.types[i];
    const u = out ? unify(v, out, (d) => c.fresh(`state${i}_d${d}`)) : v;
    return v8 && u.shape ? t(u.dtype, [batch ?? c.fresh('batch'), ...u.shape]) : u;
  });
  const outScans = res.types.slice(nState).map((v, j) => {
    if (!v8) return stacked(v, tripDim, outAxes[j] ?? 0);
    const s = stacked(v, tripDim, 0);
    return s.shape ? t(s.dtype, [batch ?? c.fresh('batch'), ...s.shape]) : s;
  });
  return [...outStates, ...outScans];
};

export const CONTROL_OPS: Record<string, ShapeFn> = {
  If: ifOp,
  Loop: loop,
  Scan: scan,
};
