// The HTML form of the partition report: one self-contained page (inline SVG and CSS, no
// scripts or network): the graph laid out by elkjs and coloured by device with cut edges
// highlighted and each op's placement reason on hover, a roofline chart per device class with
// the ops plotted, and the predicted timeline.
import elkModule from 'elkjs/lib/elk.bundled.js';
import type { ELK as ElkApi, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import { bytes, seconds, si } from '../util/format.js';
import type { Report, ReportOp } from './model.js';

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1', '#76b7b2', '#edc948', '#ff9da7', '#9c755f', '#bab0ac'];
/** Above this many ops the graph is drawn per segment, to keep layout time and page size sane. */
const MAX_DRAWN_NODES = 1500;

const esc = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fix = (x: number): string => (Math.round(x * 10) / 10).toString();

interface DrawNode {
  id: string;
  label: string;
  device: string;
  title: string;
  critical: boolean;
}

export async function renderReportHtml(r: Report): Promise<string> {
  const colour = new Map(r.devices.map((d, i) => [d.id, PALETTE[i % PALETTE.length]!]));
  const graphSvg = await graphSection(r, colour);
  const legend = r.devices
    .map(
      (d) =>
        `<span class="key"><span class="swatch" style="background:${colour.get(d.id)}"></span>${esc(d.id)} (${esc(d.class)}${d.emulated ? ', emulated' : ''})</span>`,
    )
    .join(' ');
  const deviceRows = r.devices
    .map(
      (d) =>
        `<tr><td>${esc(d.id)}</td><td>${esc(d.class)}${d.emulated ? ' <em>emulated</em>' : ''}</td><td>${d.ops}</td><td>${si(d.flops)}</td><td>${bytes(d.weightBytes)}</td><td>${bytes(d.activationPeak)}</td><td>${bytes(d.memory)} / ${bytes(d.capacity)}</td><td>${d.plannedArena !== undefined ? bytes(d.plannedArena) : '—'}</td><td>${seconds(d.busy)}</td><td>${(d.utilisation * 100).toFixed(0)}%</td></tr>`,
    )
    .join('\n');
  const linkRows = r.links
    .map((l) => `<tr><td>${esc(l.id)}</td><td>${bytes(l.bytes)}</td><td>${seconds(l.seconds)}</td></tr>`)
    .join('\n');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>fleetc report: ${esc(r.model)}</title>
<style>
body{font:14px system-ui,sans-serif;margin:24px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}
.key{margin-right:14px}.swatch{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
svg text{font:10px system-ui,sans-serif}.cut{stroke:#d62728;stroke-width:2.5}.edge{stroke:#999;stroke-width:1}
.node rect{stroke:#333;stroke-width:.5}.node.critical rect{stroke:#000;stroke-width:2}.scroll{overflow:auto;max-height:80vh;border:1px solid #eee}
</style></head><body>
<h1>fleetc partition report</h1>
<p><b>model</b> ${esc(r.model)} · <b>fleet</b> ${esc(r.fleet.name)} · <b>objective</b> ${esc(r.objective)} (${esc(r.method)}) ·
<b>predicted latency</b> <span id="latency">${seconds(r.predicted.latency)}</span> · throughput ${si(r.predicted.throughput)} req/s ·
greedy baseline ${seconds(r.baseline.latency)}</p>
<p><b>pipeline</b> <code>${esc(r.pipeline)}</code></p>
<h2>Devices</h2>
<table id="devices"><tr><th>device</th><th>class</th><th>ops</th><th>FLOPs</th><th>weights</th><th>act. peak</th><th>memory / capacity</th><th>arena</th><th>busy</th><th>util</th></tr>
${deviceRows}</table>
${(r.costModel?.devices ?? [])
  .filter((d) => d.described)
  .map(
    (d) =>
      `<p class="host">${esc(d.id)}: ${esc(d.described!.figures.join(', '))} from this host's profile: ${esc(d.described!.provenance)}</p>`,
  )
  .join('\n')}
<h2>Links</h2>
${r.links.length ? `<table id="links"><tr><th>link</th><th>bytes</th><th>time</th></tr>${linkRows}</table>` : '<p>Nothing crosses a link.</p>'}
${experts(r)}<h2>Graph</h2>
<p>${legend} <span class="key"><svg width="24" height="8"><line x1="0" y1="4" x2="24" y2="4" class="cut"/></svg> crosses devices</span> · hover a node for why it went there</p>
<div class="scroll">${graphSvg}</div>
<h2>Roofline</h2>
${rooflines(r, colour)}
<h2>Predicted timeline</h2>
${timeline(r, colour)}
<h2>Critical path</h2>
<p>${r.criticalPath.map(esc).join(' → ')}</p>
</body></html>
`;
}

// The package is CommonJS; under Node's ESM the default import is the constructor itself.
/** MoE layers: per device its experts, predicted tokens and time; per expert why it went there. */
function experts(r: Report): string {
  return (r.moe ?? [])
    .map((l) => {
      const rows = l.devices
        .map(
          (d) =>
            `<tr><td>${esc(d.device)}</td><td style="text-align:left">${esc(d.experts.join(', ') || '—')}</td><td>${si(d.tokens)}</td><td>${seconds(d.seconds)}</td><td>${bytes(d.weightBytes)}</td></tr>`,
        )
        .join('\n');
      const why = l.placement
        .map((p) => `<li>expert ${p.expert} → <b>${esc(p.devices.join(' + '))}</b>: ${esc(p.reason)}</li>`)
        .join('\n');
      return `<h2>MoE layer ${l.layer} ${esc(l.name)}</h2>
<p>${l.experts} experts, top-${l.k}, ${esc(l.kind)}; home ${esc(l.home)}; routing ${l.routing === 'file' ? 'from --routing' : 'uniform'}; ${l.slots} slots;
slowest device ${seconds(l.makespan)} (fluid ideal ${seconds(l.fluid)}, imbalance ${l.imbalance.toFixed(3)})</p>
<table class="moe"><tr><th>device</th><th style="text-align:left">experts</th><th>tokens</th><th>time</th><th>weights</th></tr>
${rows}</table>
<details><summary>why each expert went where it did</summary><ul>${why}</ul></details>
`;
    })
    .join('\n');
}

function newElk(): ElkApi {
  const Ctor = ((elkModule as unknown as { default?: unknown }).default ?? elkModule) as new () => ElkApi;
  return new Ctor();
}

function drawNodes(r: Report): {
  nodes: DrawNode[];
  edges: { from: string; to: string; cut: boolean; title: string }[];
} {
  if (r.ops.length <= MAX_DRAWN_NODES) {
    const nodes = r.ops.map((o: ReportOp) => ({
      id: o.id,
      label: o.opType,
      device: o.device,
      critical: o.critical,
      title: `${o.name} (${o.opType}) on ${o.device}: ${o.reason}\n${si(o.flops)}FLOPs, ${bytes(o.bytes)}, ${o.bound}-bound, ${seconds(o.time)}`,
    }));
    const edges = r.edges.map((e) => ({ from: e.from, to: e.to, cut: e.cut, title: `${e.value}: ${bytes(e.bytes)}` }));
    return { nodes, edges };
  }
  const segOf = new Map(r.ops.map((o) => [o.id, o.segment]));
  const nodes = r.segments.map((s) => ({
    id: `s${s.segment}`,
    label: `${s.ops.length} ops`,
    device: s.device,
    critical: r.criticalPath.includes(s.name),
    title: `${s.name} on ${s.device}: ${s.reason}`,
  }));
  const seen = new Map<string, { from: string; to: string; cut: boolean; title: string }>();
  for (const e of r.edges) {
    const a = segOf.get(e.from);
    const b = segOf.get(e.to);
    if (a === undefined || b === undefined || a === b) continue;
    const key = `${a}-${b}`;
    if (!seen.has(key)) seen.set(key, { from: `s${a}`, to: `s${b}`, cut: e.cut, title: e.value });
  }
  return { nodes, edges: [...seen.values()] };
}

async function graphSection(r: Report, colour: Map<string, string>): Promise<string> {
  const { nodes, edges } = drawNodes(r);
  const laid: ElkNode = await newElk().layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'DOWN',
      'elk.spacing.nodeNode': '12',
      'elk.layered.spacing.nodeNodeBetweenLayers': '24',
    },
    children: nodes.map((n) => ({ id: n.id, width: Math.max(48, n.label.length * 6.5 + 10), height: 20 })),
    edges: edges.map((e, i) => ({ id: `e${i}`, sources: [e.from], targets: [e.to] })),
  });
  const pos = new Map((laid.children ?? []).map((c) => [c.id, c]));
  const laidEdges = (laid.edges ?? []) as ElkExtendedEdge[];
  const parts: string[] = [];
  laidEdges.forEach((le, i) => {
    const e = edges[i]!;
    for (const sec of le.sections ?? []) {
      const pts = [sec.startPoint, ...(sec.bendPoints ?? []), sec.endPoint]
        .map((p) => `${fix(p.x)},${fix(p.y)}`)
        .join(' ');
      parts.push(
        `<polyline class="${e.cut ? 'cut' : 'edge'}" fill="none" points="${pts}"><title>${esc(e.title)}</title></polyline>`,
      );
    }
  });
  for (const n of nodes) {
    const p = pos.get(n.id)!;
    parts.push(
      `<g class="node${n.critical ? ' critical' : ''}" data-device="${esc(n.device)}"><title>${esc(n.title)}</title>` +
        `<rect x="${fix(p.x!)}" y="${fix(p.y!)}" width="${fix(p.width!)}" height="${fix(p.height!)}" rx="3" fill="${colour.get(n.device) ?? '#ccc'}"/>` +
        `<text x="${fix(p.x! + 5)}" y="${fix(p.y! + 14)}" fill="#fff">${esc(n.label)}</text></g>`,
    );
  }
  return `<svg id="graph" xmlns="http://www.w3.org/2000/svg" width="${fix((laid.width ?? 0) + 20)}" height="${fix((laid.height ?? 0) + 20)}">${parts.join('')}</svg>`;
}

/** One log-log chart per device class: the roof (peak compute, bandwidth) and each op placed on it. */
function rooflines(r: Report, colour: Map<string, string>): string {
  const W = 420;
  const H = 260;
  const M = 40;
  const charts: string[] = [];
  const classes = [...new Set(r.devices.map((d) => d.class))];
  for (const cls of classes) {
    const devs = r.devices.filter((d) => d.class === cls);
    const ops = r.ops.filter((o) => devs.some((d) => d.id === o.device) && o.flops > 0 && o.time > 0);
    const peak = Math.max(...devs.map((d) => d.roofline.peakFlops));
    const bw = Math.max(...devs.map((d) => d.roofline.bandwidth));
    const xs = [1e-2, 1e4];
    const yMax = peak * 2;
    const yMin = Math.min(peak / 1e5, ...ops.map((o) => o.flops / o.time)) / 2;
    const x = (v: number): number =>
      M + ((Math.log10(v) - Math.log10(xs[0]!)) / (Math.log10(xs[1]!) - Math.log10(xs[0]!))) * (W - M - 10);
    const y = (v: number): number =>
      H - M - ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * (H - M - 10);
    const ridge = peak / bw;
    const roof = [
      [xs[0]!, Math.max(yMin, xs[0]! * bw)],
      [ridge, peak],
      [xs[1]!, peak],
    ]
      .map(([a, b]) => `${fix(x(a!))},${fix(y(b!))}`)
      .join(' ');
    const dots = ops
      .map((o) => {
        const perf = o.flops / o.time;
        const ix = Math.min(xs[1]!, Math.max(xs[0]!, o.intensity || xs[0]!));
        return `<circle cx="${fix(x(ix))}" cy="${fix(y(Math.max(yMin, perf)))}" r="3" fill="${colour.get(o.device)}" fill-opacity=".7"><title>${esc(`${o.name} (${o.opType}) on ${o.device}: ${o.intensity.toFixed(2)} FLOP/B, ${si(perf)}FLOP/s, ${o.bound}-bound`)}</title></circle>`;
      })
      .join('');
    charts.push(
      `<figure style="display:inline-block;margin:0 16px 16px 0"><svg class="roofline" data-class="${esc(cls)}" width="${W}" height="${H}">` +
        `<line x1="${M}" y1="${H - M}" x2="${W - 10}" y2="${H - M}" stroke="#333"/><line x1="${M}" y1="10" x2="${M}" y2="${H - M}" stroke="#333"/>` +
        `<polyline points="${roof}" fill="none" stroke="#333" stroke-width="2"/>${dots}` +
        `<text x="${W / 2}" y="${H - 8}" text-anchor="middle">arithmetic intensity (FLOP/byte, log)</text>` +
        `<text x="12" y="${H / 2}" transform="rotate(-90 12 ${H / 2})" text-anchor="middle">FLOP/s (log)</text>` +
        `<text x="${W - 12}" y="${fix(y(peak) - 4)}" text-anchor="end">peak ${si(peak)}FLOP/s · ${bytes(bw)}/s</text></svg>` +
        `<figcaption>${esc(cls)}: ${devs.map((d) => esc(d.id)).join(', ')} (${ops.length} ops)</figcaption></figure>`,
    );
  }
  return charts.join('\n');
}

/** A Gantt chart: one track per device, one per link, segments and transfers as bars. */
function timeline(r: Report, colour: Map<string, string>): string {
  const W = 900;
  const rowH = 22;
  const L = 110;
  const total = Math.max(r.predicted.latency, ...r.timeline.segments.map((s) => s.finish), 1e-12);
  const x = (t: number): number => L + (t / total) * (W - L - 10);
  const tracks = [...r.devices.map((d) => d.id), ...new Set(r.timeline.transfers.map((t) => `${t.from} → ${t.to}`))];
  const row = new Map(tracks.map((t, i) => [t, i]));
  const bars: string[] = tracks.map(
    (t, i) =>
      `<text x="4" y="${i * rowH + 15}">${esc(t)}</text><line x1="${L}" y1="${i * rowH + rowH}" x2="${W - 10}" y2="${i * rowH + rowH}" stroke="#eee"/>`,
  );
  for (const s of r.timeline.segments) {
    const i = row.get(s.device)!;
    bars.push(
      `<rect class="task" x="${fix(x(s.start))}" y="${i * rowH + 3}" width="${fix(Math.max(0.5, x(s.finish) - x(s.start)))}" height="${rowH - 6}" fill="${colour.get(s.device)}"><title>${esc(`${s.name} (${s.ops} ops) on ${s.device}: ${seconds(s.start)} – ${seconds(s.finish)}`)}</title></rect>`,
    );
  }
  for (const t of r.timeline.transfers) {
    const i = row.get(`${t.from} → ${t.to}`)!;
    bars.push(
      `<rect class="transfer" x="${fix(x(t.start))}" y="${i * rowH + 3}" width="${fix(Math.max(0.5, x(t.end) - x(t.start)))}" height="${rowH - 6}" fill="#d62728"><title>${esc(`${bytes(t.bytes)} ${t.from} → ${t.to}: ${seconds(t.start)} – ${seconds(t.end)}`)}</title></rect>`,
    );
  }
  const H = tracks.length * rowH + 24;
  bars.push(
    `<text x="${L}" y="${H - 4}">0</text><text x="${W - 10}" y="${H - 4}" text-anchor="end">${seconds(total)}</text>`,
  );
  return `<svg id="timeline" width="${W}" height="${H}">${bars.join('')}</svg>`;
}
