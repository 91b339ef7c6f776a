import { IRGraph } from './graph.js';

export interface VerifyProblem {
  op?: string;
  value?: string;
  message: string;
}

/**
 * Structural checks of the IR: every edge joins a value and an op, slots are unique and inside
 * the op's arity, every value has at most one producer, graph inputs and outputs exist,
 * weights have no producer, types are consistent, and the op graph is acyclic. Recurses into
 * subgraphs. Returns the problems found (empty when the graph is well formed).
 */
export function verifyGraph(graph: IRGraph, path = graph.name): VerifyProblem[] {
  const problems: VerifyProblem[] = [];
  const g = graph.g;
  const at = (p: VerifyProblem): void => {
    problems.push({ ...p, message: `${path}: ${p.message}` });
  };

  g.forEachEdge((_e, attrs, source, target, sa, ta) => {
    if (sa.kind === ta.kind) at({ message: `edge ${source} -> ${target} joins two ${sa.kind}s` });
    if (!Number.isInteger(attrs.slot) || attrs.slot < 0)
      at({ message: `edge ${source} -> ${target} has slot ${attrs.slot}` });
  });

  for (const id of graph.ops()) {
    const op = graph.op(id);
    const inSlots = new Set<number>();
    for (const e of g.inEdges('o:' + id)) {
      const slot = g.getEdgeAttribute(e, 'slot');
      if (inSlots.has(slot)) at({ op: id, message: `op '${id}' has two inputs in slot ${slot}` });
      if (slot >= op.numInputs)
        at({ op: id, message: `op '${id}' input slot ${slot} is beyond its ${op.numInputs} inputs` });
      inSlots.add(slot);
    }
    const outSlots = new Set<number>();
    for (const e of g.outEdges('o:' + id)) {
      const slot = g.getEdgeAttribute(e, 'slot');
      if (outSlots.has(slot)) at({ op: id, message: `op '${id}' has two outputs in slot ${slot}` });
      if (slot >= op.numOutputs)
        at({ op: id, message: `op '${id}' output slot ${slot} is beyond its ${op.numOutputs} outputs` });
      outSlots.add(slot);
    }
    for (const [name, sub] of graph.subgraphs(id)) problems.push(...verifyGraph(sub, `${path}/${id}.${name}`));
  }

  for (const name of graph.values()) {
    const v = graph.value(name);
    const producers = g.inDegree('v:' + name);
    if (producers > 1) at({ value: name, message: `value '${name}' has ${producers} producers` });
    if ((v.role === 'weight' || v.role === 'input' || v.role === 'outer') && producers > 0)
      at({ value: name, message: `${v.role} '${name}' is produced by an op` });
    if (v.role === 'weight' && !v.weight) at({ value: name, message: `weight '${name}' has no data reference` });
    if (v.shape) {
      for (const d of v.shape)
        if (typeof d === 'number' && (!Number.isInteger(d) || d < 0))
          at({ value: name, message: `value '${name}' has dimension ${d}` });
    }
  }

  for (const name of graph.inputs) if (!graph.hasValue(name)) at({ message: `graph input '${name}' does not exist` });
  for (const name of graph.outputs) if (!graph.hasValue(name)) at({ message: `graph output '${name}' does not exist` });

  try {
    graph.topoOps();
  } catch (err) {
    at({ message: (err as Error).message });
  }
  return problems;
}

export class VerifyError extends Error {
  constructor(
    readonly problems: VerifyProblem[],
    after: string,
  ) {
    super(
      `IR verification failed after ${after}: ${problems[0]?.message ?? ''}${problems.length > 1 ? ` (+${problems.length - 1} more)` : ''}`,
    );
  }
}

export function assertVerified(graph: IRGraph, after: string): void {
  const problems = verifyGraph(graph);
  if (problems.length) throw new VerifyError(problems, after);
}
