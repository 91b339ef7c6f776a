import type { ChalkInstance } from 'chalk';
import type { InspectReport, TensorInfo } from '../../api/inspect.js';
import { bytes, seconds, si, table } from '../../util/format.js';

const shapeText = (t: TensorInfo): string => (t.shape ? `[${t.shape.join(', ')}]` : '[?]');

/** The text form of `fleetc inspect`. */
export function renderInspect(r: InspectReport, c: ChalkInstance): string[] {
  const out: string[] = [];
  const head = (s: string): string => c.bold(s);
  const opsets = Object.entries(r.opsets)
    .map(([d, v]) => `${d || 'ai.onnx'} ${v}`)
    .join(', ');
  out.push(
    `${head('model')}     ${r.file} (${r.format}${r.producer ? `, ${r.producer}` : ''}${opsets ? `, opsets ${opsets}` : ''})`,
  );
  out.push(
    `${head('nodes')}     ${r.nodes}${r.subgraphNodes ? ` (+${r.subgraphNodes} in subgraphs)` : ''}` +
      `   ${head('params')} ${si(r.params)}   ${head('weights')} ${bytes(r.weightBytes)}`,
  );
  const io = (label: string, list: TensorInfo[]): void => {
    out.push(head(label));
    const rows = list.map((t) => [`  ${t.name}`, t.dtype ?? '?', shapeText(t)]);
    out.push(...table(['', '', ''], rows, ['l', 'l', 'l']).slice(1));
  };
  io('inputs', r.inputs);
  io('outputs', r.outputs);
  const dimList = Object.entries(r.dims).map(
    ([k, v]) => `${k}=${v}${r.defaulted.includes(k) ? c.dim(' (default)') : ''}`,
  );
  if (dimList.length) out.push(`${head('dims')}      ${dimList.join(', ')}`);
  if (r.defaulted.length)
    out.push(c.dim(`          unbound symbols are evaluated as 1; bind them with --dim name=value`));
  out.push(`${head('FLOPs')}     ${si(r.flops)}${/[a-z]/i.test(r.flopsExpr) ? c.dim(`   = ${r.flopsExpr}`) : ''}`);
  out.push(`${head('bytes')}     ${bytes(r.bytesRead)} read, ${bytes(r.bytesWritten)} written`);
  out.push(
    `${head('predicted')} ${seconds(r.criticalPath.time)} on the critical path (${r.criticalPath.length} ops), ` +
      `${seconds(r.predictedSerialTime)} serial — ${r.device.description}`,
  );
  const unc = Object.entries(r.uncosted);
  if (unc.length)
    out.push(c.yellow(`uncosted  ${unc.map(([k, n]) => `${k} ×${n}`).join(', ')} (op not modelled or shapes unknown)`));
  if (r.state.length) {
    out.push(head('KV cache / state'));
    const rows = r.state.map((s) => [
      `  ${s.input} → ${s.output}`,
      s.dtype ?? '?',
      s.axis >= 0 ? `axis ${s.axis} grows by ${s.growth}` : 'fixed size',
      s.bytes === null ? '?' : bytes(s.bytes),
      typeof s.bytesExpr === 'string' ? `= ${s.bytesExpr} B` : '',
    ]);
    out.push(...table(['', '', '', '', ''], rows, ['l', 'l', 'l', 'r', 'l']).slice(1));
    const total = r.state.reduce((a, s) => a + (s.bytes ?? 0), 0);
    out.push(`  total ${bytes(total)} for ${r.state.length} tensors`);
  }
  const es = r.engineState;
  if (es && 'error' in es) out.push(c.yellow(`  as engine state: cannot generate: ${es.error}`));
  else if (es) {
    const paged = es.states.filter((s) => s.mode === 'paged').length;
    out.push(
      `  as engine state (fleetc generate): ${es.states.length} state objects, ${paged} paged, ${es.states.length - paged} gathered; ` +
        `${bytes(es.bytesPerToken)} per token; ${es.batching} batching${es.batchingReason ? ` (${es.batchingReason})` : ''}` +
        (es.staticCapacity !== undefined
          ? `; static cache: at most ${es.staticCapacity} tokens per sequence (written in place)`
          : ''),
    );
    for (const s of es.states.filter((x) => x.mode === 'gather'))
      out.push(
        c.yellow(
          `    ${s.input}${s.part ? ` (${s.part})` : ''}: gathered each step, ${bytes(s.bytesPerToken)} per cached token: ${s.reason}`,
        ),
      );
  }
  for (const m of r.moe) {
    out.push(
      `${head(`MoE layer ${m.layer}`)} ${m.name}: ${m.experts} experts, top-${m.k}, ${m.kind}` +
        ` (router ${m.router}; dispatch ${m.dispatch.join(' + ')}; combine ${m.combine.join(' + ') || '?'})`,
    );
    out.push(
      `  expert weights ${bytes(m.expertWeightBytes)} (${bytes(m.weightBytesPerExpert)} each), ` +
        `${si(m.flopsPerToken)} FLOPs per routed token per expert` +
        (m.tokens !== null ? `; tokens in: ${m.tokens}` : ''),
    );
    for (const n of m.notes) out.push(c.yellow(`  note: ${n}`));
  }
  out.push(
    `${head('ops')}       ${Object.entries(r.ops)
      .map(([k, n]) => `${k} ${n}`)
      .join(', ')}`,
  );
  if (r.opRows) {
    out.push('', head(`per op (${r.device.name}; * = on the critical path)`));
    // With a fleet, the other devices' classes get a column each.
    const fleetIds = Object.keys(r.opRows[0]?.boundOn ?? {}).filter((id) => id !== r.device.name);
    const rows = r.opRows.map((o) => [
      o.critical ? '*' : '',
      o.name,
      o.opType,
      o.flops === null ? '?' : si(o.flops),
      o.bytesRead === null ? '?' : bytes(o.bytesRead),
      o.bytesWritten === null ? '?' : bytes(o.bytesWritten),
      o.intensity === null ? '-' : o.intensity.toFixed(2),
      o.bound ?? '?',
      ...fleetIds.map((id) => o.boundOn?.[id] ?? '?'),
      seconds(o.time),
    ]);
    out.push(
      ...table(
        ['', 'op', 'type', 'FLOPs', 'read', 'written', 'FLOP/B', 'bound', ...fleetIds.map((id) => `on ${id}`), 'time'],
        rows,
        ['l', 'l', 'l', 'r', 'r', 'r', 'r', 'l', ...fleetIds.map(() => 'l' as const), 'r'],
      ),
    );
    out.push('', head('per op type'));
    const trows = r.opTypes.map((t) => [
      t.opType,
      String(t.count),
      si(t.flops),
      bytes(t.bytesRead),
      bytes(t.bytesWritten),
      Object.entries(t.bound)
        .map(([b, n]) => `${b} ${n}`)
        .concat(t.unknown ? [`unknown ${t.unknown}`] : [])
        .join(', '),
      seconds(t.time),
    ]);
    out.push(
      ...table(['type', 'count', 'FLOPs', 'read', 'written', 'bound', 'time'], trows, [
        'l',
        'r',
        'r',
        'r',
        'r',
        'l',
        'r',
      ]),
    );
  }
  return out;
}
