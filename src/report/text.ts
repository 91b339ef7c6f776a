// The terminal form of the partition report.
import { bytes, seconds, si, table } from '../util/format.js';
import type { Report } from './model.js';
import { floatingText } from './floating.js';

/** Styling hooks (chalk in the CLI; identity for report.txt). */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
}
const PLAIN: Style = { bold: (s) => s, dim: (s) => s, red: (s) => s, yellow: (s) => s };

const pct = (x: number): string => `${(x * 100).toFixed(x < 0.1 ? 1 : 0)}%`;

export function renderReportText(r: Report, c: Style = PLAIN): string {
  const out: string[] = [];
  const emulated = r.devices.filter((d) => d.emulated).map((d) => d.id);
  out.push(`${c.bold('model')}      ${r.model}`);
  out.push(`${c.bold('fleet')}      ${r.fleet.name}${r.fleet.file ? ` (${r.fleet.file})` : ''}`);
  out.push(`${c.bold('objective')}  ${r.objective}, placed by ${r.method}`);
  out.push(`${c.bold('pipeline')}   ${r.pipeline}`);
  const dims = Object.entries(r.dims).map(([k, v]) => `${k}=${v}`);
  if (dims.length || r.unboundSymbols.length)
    out.push(
      `${c.bold('dims')}       ${[...dims, ...r.unboundSymbols.map((s) => `${s}=1 ${c.dim('(unbound)')}`)].join(', ')}`,
    );
  const speedup = r.baseline.latency / r.predicted.latency;
  out.push(
    `${c.bold('predicted')}  latency ${seconds(r.predicted.latency)}, throughput ${si(r.predicted.throughput)} req/s` +
      c.dim(
        `   (greedy priority baseline: ${seconds(r.baseline.latency)}${r.baseline.fits ? '' : ', does not fit'}; ${speedup.toFixed(2)}×)`,
      ),
  );
  if (emulated.length)
    out.push(c.yellow(`emulated   ${emulated.join(', ')}: host kernels; their times are the cost model's predictions`));

  out.push('', c.bold('devices'));
  const rows = r.devices.map((d) => {
    const mem = d.memory / d.capacity;
    const memText = `${bytes(d.memory)} / ${bytes(d.capacity)}`;
    return [
      `  ${d.id}`,
      `${d.class}${d.emulated ? ' (emulated)' : ''}`,
      String(d.ops),
      si(d.flops),
      bytes(d.weightBytes),
      bytes(d.activationPeak),
      mem > 0.9 ? c.red(memText) : memText,
      d.plannedArena !== undefined ? bytes(d.plannedArena) : '—',
      seconds(d.busy),
      pct(d.utilisation),
    ];
  });
  out.push(
    ...table(
      ['  device', 'class', 'ops', 'FLOPs', 'weights', 'act. peak', 'memory / capacity', 'arena', 'busy', 'util'],
      rows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
  );

  for (const d of r.costModel?.devices ?? [])
    if (d.described) {
      const text = `  ${d.id}: ${d.described.figures.join(', ')} from this host's profile: ${d.described.provenance}`;
      out.push(d.described.measured ? c.dim(text) : c.yellow(text));
    }

  out.push('', c.bold('links'));
  if (r.links.length === 0) out.push(c.dim('  nothing crosses a link: one device runs everything'));
  else
    out.push(
      ...table(
        ['  link', 'bytes', 'time'],
        r.links.map((l) => [`  ${l.id}`, bytes(l.bytes), seconds(l.seconds)]),
        ['l', 'r', 'r'],
      ),
    );
  if (r.channels.length) {
    out.push('', c.bold(`channels (${r.channels.length})`));
    const shown = r.channels.slice(0, 20);
    out.push(
      ...table(
        ['  value', 'from', 'to', 'bytes', 'via'],
        shown.map((ch) => [`  ${ch.value}`, ch.from, ch.to, bytes(ch.bytes), ch.links.join(' → ')]),
        ['l', 'l', 'l', 'r', 'l'],
      ),
    );
    if (r.channels.length > shown.length)
      out.push(c.dim(`  … ${r.channels.length - shown.length} more in report.json`));
  }

  out.push(...floatingText(r.floating, c));

  for (const l of r.moe ?? []) {
    out.push(
      '',
      c.bold(`MoE layer ${l.layer} ${l.name}`) +
        `: ${l.experts} experts, top-${l.k}, ${l.kind}; home ${l.home}; routing ${l.routing === 'file' ? 'from --routing' : 'uniform'}` +
        ` for ${si(l.tokens)} tokens; ${l.slots} slots (${l.extraSlots} extra allowed)`,
    );
    out.push(
      `  predicted slowest device ${seconds(l.makespan)} (fluid ideal ${seconds(l.fluid)}, imbalance ${l.imbalance.toFixed(3)}),` +
        ` ${bytes(l.bytesPerToken)} moved per routed token`,
    );
    out.push(
      ...table(
        ['  device', 'experts', 'tokens', 'time', 'weights'],
        l.devices.map((d) => [
          `  ${d.device}`,
          d.experts.join(', ') || '—',
          si(d.tokens),
          seconds(d.seconds),
          bytes(d.weightBytes),
        ]),
        ['l', 'l', 'r', 'r', 'r'],
      ),
    );
    for (const p of l.placement.slice(0, 64))
      out.push(`  expert ${p.expert} → ${c.bold(p.devices.join(' + '))}: ${p.reason}`);
    if (l.placement.length > 64) out.push(c.dim(`  … ${l.placement.length - 64} more experts in report.json`));
  }

  const onPath = new Set(r.criticalPath);
  const pathOps = r.segments.filter((s) => onPath.has(s.name)).reduce((n, s) => n + s.ops.length, 0);
  out.push('', c.bold('critical path') + c.dim(` (${r.criticalPath.length} segments, ${pathOps} ops)`));
  out.push(`  ${foldPath(r.criticalPath).join(' → ')}`);

  out.push('', c.bold('placement'));
  const segs = r.segments.slice(0, 30);
  for (const s of segs) out.push(`  ${s.name} → ${c.bold(s.device)}: ${s.reason}`);
  if (r.segments.length > segs.length)
    out.push(c.dim(`  … ${r.segments.length - segs.length} more segments in report.json`));
  return out.join('\n') + '\n';
}

/** Segments that share a scope (an exporter's module path: `/blocks.0/…`) at least this many in a row are folded into one entry. */
const FOLD_RUN = 4;
/** Entries shown at most: the first ones and the last ones (report.json has them all). */
const PATH_HEAD = 16;
const PATH_TAIL = 6;

/** A long critical path as the terminal can show it: runs of one scope folded, the middle elided. */
export function foldPath(names: string[]): string[] {
  const scope = (name: string): string | null => {
    const end = name.startsWith('/') ? name.indexOf('/', 1) : -1;
    return end > 0 ? name.slice(0, end) : null;
  };
  const out: string[] = [];
  for (let i = 0; i < names.length;) {
    const s = scope(names[i]!);
    let j = i + 1;
    while (s !== null && j < names.length && scope(names[j]!) === s) j++;
    if (j - i >= FOLD_RUN) out.push(`${s}/… (${j - i} segments)`);
    else out.push(...names.slice(i, j));
    i = j;
  }
  if (out.length <= PATH_HEAD + PATH_TAIL + 1) return out;
  return [...out.slice(0, PATH_HEAD), `… ${out.length - PATH_HEAD - PATH_TAIL} more …`, ...out.slice(-PATH_TAIL)];
}
