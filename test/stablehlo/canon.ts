import { createHash } from 'node:crypto';
import type { IRGraph, AttrValue } from '../../src/ir/graph.js';
import { readWeightBytes } from '../../src/ir/weights.js';
import { dimToString } from '../../src/ir/sym.js';

/**
 * A name-independent text form of an IR graph: values are numbered in order of definition, ops
 * listed in topological order with their attributes (subgraphs recursively), weights by type and
 * a hash of their bytes. Source locations are left out. Two spellings of one program (pretty and
 * generic MLIR) must give the same text.
 */
export function canonical(g: IRGraph): string {
  const ids = new Map<string, string>();
  const lines: string[] = [];
  const shape = (n: string): string => {
    const v = g.value(n);
    return `${v.dtype}[${v.shape?.map((d) => (typeof d === 'number' ? String(d) : dimToString(d))).join(',') ?? '?'}]`;
  };
  const name = (n: string | undefined): string => {
    if (n === undefined) return '_';
    let id = ids.get(n);
    if (id) return id;
    const v = g.value(n);
    id = `v${ids.size}`;
    ids.set(n, id);
    if (v.role === 'weight') {
      const bytes =
        v.weight && v.weight.kind !== 'elided'
          ? createHash('sha256').update(readWeightBytes(v.weight)).digest('hex').slice(0, 16)
          : 'elided';
      lines.push(`${id} = weight ${shape(n)} ${bytes}`);
    } else if (v.role === 'outer') lines.push(`${id} = outer ${shape(n)}`);
    return id;
  };
  g.inputs.forEach((n, i) => lines.push(`${name(n)} = input${i} ${shape(n)}`));
  for (const op of g.topoOps()) {
    const o = g.op(op);
    const ins = g.opInputs(op).map(name);
    const outs = g.opOutputs(op).map((n) => {
      const id = name(n);
      return n === undefined ? id : `${id}:${shape(n)}`;
    });
    const attrs = Object.keys(o.attrs)
      .sort()
      .map((k) => `${k}=${attr(o.attrs[k]!)}`);
    lines.push(
      `${outs.join(', ')} = ${o.domain ? o.domain + '.' : ''}${o.opType}(${ins.join(', ')}) {${attrs.join('; ')}}`,
    );
  }
  lines.push(`return ${g.outputs.map(name).join(', ')}`);
  return lines.join('\n');
}

function attr(a: AttrValue): string {
  switch (a.type) {
    case 'graph':
      return `{${canonical(a.value)}}`;
    case 'graphs':
      return `[${a.value.map((x) => `{${canonical(x)}}`).join(' | ')}]`;
    case 'tensor':
      return `tensor ${a.value.dtype}[${a.value.shape}] ${createHash('sha256').update(readWeightBytes(a.value.ref)).digest('hex').slice(0, 16)}`;
    case 'tensors':
      return `${a.value.length} tensors`;
    default:
      return JSON.stringify(a.value);
  }
}
