// Floating ops in the report (docs/floating.md): which ops any cpu of their host may run, and
// the channels the plan saves by sharing their values instead.
import { bytes, table } from '../util/format.js';

/** The terminal styling the text report passes (text.ts `Style`). */
interface Styling {
  bold(s: string): string;
  dim(s: string): string;
}

export interface ReportFloating {
  ops: { op: string; name: string; opType: string; devices: string[]; placed: string; workUs: number }[];
  /** Values shared (not copied) between the group's devices. */
  sharedValues: number;
  sharedBytes: number;
  /** Channels of the plan, and of the same placement with every op pinned (`--no-float`). */
  channels: number;
  pinnedChannels: number;
}

/** One line per group of devices, and the ops, for the terminal report. */
export function floatingText(f: ReportFloating | undefined, c: Styling): string[] {
  if (!f?.ops.length) return [];
  const groups = new Map<string, string[]>();
  for (const o of f.ops) groups.set(o.devices.join(' + '), [...(groups.get(o.devices.join(' + ')) ?? []), o.name]);
  const out = [
    '',
    c.bold(`floating ops (${f.ops.length})`) +
      `: run on whichever device of their group has them ready; ${f.sharedValues} values shared (${bytes(f.sharedBytes)}),` +
      ` ${f.channels} channels instead of ${f.pinnedChannels} pinned`,
  ];
  const shown = f.ops.slice(0, 20);
  out.push(
    ...table(
      ['  op', 'type', 'devices', 'placed', 'work'],
      shown.map((o) => [`  ${o.name}`, o.opType, o.devices.join(' + '), o.placed, `${o.workUs.toFixed(3)} µs`]),
      ['l', 'l', 'l', 'l', 'r'],
    ),
  );
  if (f.ops.length > shown.length) out.push(c.dim(`  … ${f.ops.length - shown.length} more in report.json`));
  return out;
}

/** The HTML section. */
export function floatingHtml(f: ReportFloating | undefined, esc: (s: string) => string): string {
  if (!f?.ops.length) return '';
  const rows = f.ops
    .map(
      (o) =>
        `<tr><td style="text-align:left">${esc(o.name)}</td><td>${esc(o.opType)}</td><td>${esc(o.devices.join(' + '))}</td><td>${esc(o.placed)}</td><td>${o.workUs.toFixed(3)} µs</td></tr>`,
    )
    .join('\n');
  return `<h2>Floating ops</h2>
<p>${f.ops.length} ops run on whichever device of their group has them ready; ${f.sharedValues} values shared (${bytes(f.sharedBytes)}), ${f.channels} channels instead of ${f.pinnedChannels} pinned.</p>
<table id="floating"><tr><th style="text-align:left">op</th><th>type</th><th>devices</th><th>placed</th><th>work</th></tr>
${rows}</table>
`;
}
