import { IRGraph, type AttrValue } from './graph.js';
import { shapeToString } from './sym.js';
import type { ValueAttrs } from './types.js';

function typeStr(v: ValueAttrs): string {
  const base = `${v.dtype ?? '?'}${shapeToString(v.shape)}`;
  return v.container ? `${v.container}<${base}>` : base;
}

function attrStr(a: AttrValue, indent: string): string {
  switch (a.type) {
    case 'ints':
    case 'floats':
      return `[${a.value.join(', ')}]`;
    case 'strings':
      return `[${a.value.map((s) => JSON.stringify(s)).join(', ')}]`;
    case 'string':
      return JSON.stringify(a.value);
    case 'tensor':
      return `tensor<${a.value.dtype}[${a.value.shape.join(', ')}]>`;
    case 'tensors':
      return `[${a.value.length} tensors]`;
    case 'graph':
      return `{\n${printGraph(a.value, indent + '    ')}${indent}  }`;
    case 'graphs':
      return `[${a.value.length} graphs]`;
    case 'type':
      return `${a.value.dtype ?? '?'}${shapeToString(a.value.shape)}`;
    default:
      return String(a.value);
  }
}

/** A readable dump: one line per value declaration and per op, in topological order. */
export function printGraph(graph: IRGraph, indent = ''): string {
  const lines: string[] = [];
  const meta = graph.meta;
  if (!indent) lines.push(`graph ${graph.name} (${meta.format}${meta.file ? `, ${meta.file}` : ''})`);
  else lines.push(`${indent}graph ${graph.name}`);
  for (const name of graph.inputs) lines.push(`${indent}  input  %${name}: ${typeStr(graph.value(name))}`);
  for (const name of graph.values()) {
    const v = graph.value(name);
    if (v.role === 'weight' || v.role === 'outer')
      lines.push(`${indent}  ${v.role === 'weight' ? 'weight' : 'outer '} %${name}: ${typeStr(v)}`);
  }
  for (const id of graph.topoOps()) {
    const op = graph.op(id);
    const outs = graph.opOutputs(id).map((v) => (v === undefined ? '_' : `%${v}: ${typeStr(graph.value(v))}`));
    const ins = graph.opInputs(id).map((v) => (v === undefined ? '_' : `%${v}`));
    const qual = op.domain ? `${op.domain}.${op.opType}` : op.opType;
    const attrs = Object.entries(op.attrs).map(([k, a]) => `${k}=${attrStr(a, indent + '  ')}`);
    lines.push(
      `${indent}  ${outs.join(', ')} = ${qual}(${ins.join(', ')})${attrs.length ? ` {${attrs.join(', ')}}` : ''}  # ${id}`,
    );
  }
  lines.push(`${indent}  return ${graph.outputs.map((o) => `%${o}`).join(', ')}`);
  return lines.join('\n') + '\n';
}
