// Realises replicas of an expert in the graph: the rows routed to it are split by the plan's
// shares (row r goes to the first replica whose cumulative share covers it), each replica runs
// its own copy of the expert's ops, and the results are concatenated back in row order, so the
// layer computes exactly what it computed before. The split and the concat belong to the
// layer's home device; each copy is placed on its replica's device.
import type { IRGraph, AttrValue } from '../../src/ir/graph.js';

/** One placed instance of an expert: its device, share of the rows, ops and boundary values. */
export interface ExpertUnit {
  device: string;
  share: number;
  ops: string[];
  input: string;
  output: string;
}

function constant(graph: IRGraph, base: string, dtype: 'int64' | 'float32', values: number[], shape: number[]): string {
  const name = graph.freshValueName(base);
  const data =
    dtype === 'int64'
      ? new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer)
      : new Uint8Array(Float32Array.from(values).buffer);
  graph.addValue({ name, dtype, shape, role: 'weight', weight: { kind: 'inline', data } });
  return name;
}

/**
 * Splits the expert (`ops` reading `input`, producing `output`) over `devices` by `share`;
 * returns the units (the original ops stay the first unit) and the glue ops that run on home.
 */
export function replicateExpert(
  graph: IRGraph,
  expert: { ops: string[]; input: string; output: string },
  devices: string[],
  share: number[],
): { units: ExpertUnit[]; glue: string[] } {
  if (devices.length === 1)
    return {
      units: [{ device: devices[0]!, share: 1, ops: [...expert.ops], input: expert.input, output: expert.output }],
      glue: [],
    };
  const r = devices.length;
  const first = graph.op(expert.ops[0]!);
  const base = expert.ops[0]!.replace(/\/[^/]*$/, '') || expert.ops[0]!;
  const glue: string[] = [];
  const op = (
    opType: string,
    inputs: string[],
    attrs: Record<string, AttrValue> = {},
    outputs = 1,
    opset = 13,
  ): string[] => {
    const outs: string[] = [];
    for (let i = 0; i < outputs; i++) {
      // Reserve each name before taking the next, so that the outputs of one op differ.
      const n = graph.freshValueName(`${base}/replicas/${opType}_out_${i}`);
      graph.addValue({ name: n, dtype: null, shape: null, role: 'intermediate' });
      outs.push(n);
    }
    glue.push(graph.addOp({ opType, attrs, loc: first.loc, opset, name: `${base}/replicas/${opType}` }, inputs, outs));
    return outs;
  };
  const int = (value: number): AttrValue => ({ type: 'int', value });
  // Boundaries floor(rows · cumulative share) for the first r-1 replicas; sizes are their differences.
  const cumulative: number[] = [];
  let acc = 0;
  for (let j = 0; j < r - 1; j++) cumulative.push((acc += share[j]!));
  const [shape] = op('Shape', [expert.input], { start: int(0), end: int(1) }, 1, 15);
  const [rowsF] = op('Cast', [shape!], { to: int(1) });
  const [cuts] = op(
    'Cast',
    [
      op('Floor', [
        op('Mul', [rowsF!, constant(graph, `${base}/replicas/cumulative`, 'float32', cumulative, [r - 1])])[0]!,
      ])[0]!,
    ],
    {
      to: int(7),
    },
  );
  const zero = constant(graph, `${base}/replicas/zero`, 'int64', [0], [1]);
  const [ends] = op('Concat', [cuts!, shape!], { axis: int(0) });
  const [starts] = op('Concat', [zero, cuts!], { axis: int(0) });
  const [sizes] = op('Sub', [ends!, starts!]);
  const parts = op('Split', [expert.input, sizes!], { axis: int(0) }, r);

  const units: ExpertUnit[] = [];
  for (let j = 0; j < r; j++) {
    // The first replica's ops read parts[0] once rewired; copies read their own part.
    const rename = new Map<string, string>([
      [expert.input, parts[j]!],
      [parts[0]!, parts[j]!],
    ]);
    const ops: string[] = [];
    for (const id of expert.ops) {
      const o = graph.op(id);
      const ins = graph.opInputs(id).map((v) => (v === undefined ? '' : (rename.get(v) ?? v)));
      if (j === 0) {
        // The first replica keeps the original ops, reading its part of the rows.
        graph.opInputs(id).forEach((v, slot) => v === expert.input && graph.setOpInput(id, slot, parts[0]!));
        // Its rows are now a part of the input: shape inference gives the outputs their new shapes.
        for (const v of graph.opOutputs(id)) if (v) graph.updateValue(v, { shape: null });
        ops.push(id);
        continue;
      }
      const outs = graph.opOutputs(id).map((v) => {
        if (v === undefined) return '';
        const n = graph.freshValueName(`${v}@${devices[j]}`);
        rename.set(v, n);
        return n;
      });
      ops.push(
        graph.addOp(
          {
            opType: o.opType,
            domain: o.domain,
            opset: o.opset,
            attrs: o.attrs,
            loc: o.loc,
            name: `${o.name}@${devices[j]}`,
          },
          ins,
          outs,
        ),
      );
    }
    units.push({
      device: devices[j]!,
      share: share[j]!,
      ops,
      input: parts[j]!,
      output: j === 0 ? expert.output : rename.get(expert.output)!,
    });
  }
  // Readers of the expert's output read the concatenation of the replicas' outputs.
  const joined = graph.freshValueName(`${expert.output}/joined`);
  const readers = graph.consumers(expert.output);
  const wasOutput = graph.outputs.includes(expert.output);
  glue.push(
    graph.addOp(
      { opType: 'Concat', attrs: { axis: int(0) }, loc: first.loc, opset: 13, name: `${base}/replicas/Concat` },
      units.map((u) => u.output),
      [joined],
    ),
  );
  for (const u of readers) graph.setOpInput(u.op, u.slot, joined);
  if (wasOutput) graph.outputs = graph.outputs.map((o) => (o === expert.output ? joined : o));
  return { units, glue };
}
