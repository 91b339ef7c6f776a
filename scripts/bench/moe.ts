// npm run bench:moe — expert placement on unequal fleets (issue 12, must-show 2): routing traces
// with Zipf skew 0.8 / 1.0 / 1.2 over 8–64 experts, placed by round robin, by DeepSeek's EPLB
// (the baseline: balances load, assumes equal devices) and by fleetc's time-based placer, all
// priced by the same cost model (passes/partition/moe-cost.ts). Per layer: imbalance (slowest
// device's time ÷ the fluid ideal − 1), slowest device time, bytes moved per routed token,
// slots used. Targets: fleetc's imbalance ≤ 0.05 with ≤ 12.5% extra slots, and its slowest
// device ≥ 1.5× faster than EPLB's (geomean) on each fleet. Then measured vs predicted on real cpu
// devices (moe-measured.ts; `--measured-only` runs just that, `--no-measured` skips it).
import {
  balanceExperts,
  evaluate,
  roundRobin,
  type BalanceProblem,
  type Placement,
} from '../../passes/partition/moe-balance.js';
import { eplb } from '../../passes/partition/moe-eplb.js';
import { memoryAwareFluid } from './moe-bound.js';
import { measuredVsPredicted } from './moe-measured.js';
import { fleets, LAYERS, problem, SKEWS, zipfTrace } from './moe-setup.js';

const ms = (s: number): string => `${(s * 1e3).toFixed(3)} ms`;
const geomean = (xs: number[]): number => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);

function row(method: string, p: BalanceProblem, pl: Placement, bound: number): string[] {
  const ev = evaluate(p, pl);
  return [
    method,
    ev.imbalance.toFixed(3),
    bound > ev.fluid * 1.005 ? (ev.makespan / bound - 1).toFixed(3) : '',
    ms(ev.makespan),
    (ev.bytesPerToken / 1024).toFixed(2),
    `${ev.slots} (+${(((ev.slots - p.experts.length) / p.experts.length) * 100).toFixed(1)}%)`,
    ev.fits ? '' : 'over memory',
  ];
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) => r.map((x, c) => (c === 0 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!))).join('  '))
    .join('\n');
}

async function main(): Promise<void> {
  // --measured-only: only the measured-vs-predicted section (needs fleetrt).
  if (process.argv.includes('--measured-only')) {
    process.exitCode = (await measuredVsPredicted()) ? 0 : 1;
    return;
  }
  let ok = true;
  const summary: string[][] = [
    [
      'fleet',
      'worst imbalance (vs the reachable bound)',
      'extra slots (max)',
      'EPLB/fleetc slowest (geomean)',
      'RR/fleetc',
    ],
  ];
  for (const [title, fleet] of fleets()) {
    const header = ['layer / skew / method', 'imbalance', 'vs memory bound', 'slowest', 'KiB/token', 'slots', ''];
    const rows: string[][] = [header];
    const vsEplb: number[] = [];
    const vsRr: number[] = [];
    let worst = 0;
    let extraMax = 0;
    let seed = 1;
    for (const l of LAYERS)
      for (const skew of SKEWS) {
        const loads = zipfTrace(l.experts, l.k, skew, seed++);
        const p = problem(fleet, l, loads);
        const D = fleet.devices.length;
        const ours = balanceExperts(p);
        const rr = roundRobin(p);
        const base = eplb(loads, D, { slots: Math.ceil((l.experts + p.extraSlots) / D) * D });
        const bound = Math.max(ours.evaluation.fluid, await memoryAwareFluid(p));
        rows.push(
          [`${l.name} s=${skew}`, '', '', '', '', '', ''],
          row('  round robin', p, rr, bound),
          row('  EPLB', p, base, bound),
          row('  fleetc', p, ours.placement, bound),
        );
        const ev = ours.evaluation;
        worst = Math.max(worst, ev.makespan / bound - 1);
        extraMax = Math.max(extraMax, (ev.slots - l.experts) / l.experts);
        vsEplb.push(evaluate(p, base).makespan / ev.makespan);
        vsRr.push(evaluate(p, rr).makespan / ev.makespan);
        if (!ev.fits) ok = false;
      }
    console.log(`\n== ${title}: ${fleet.devices.map((d) => d.id).join(', ')} (tokens from ${fleet.devices[0]!.id})`);
    console.log(table(rows));
    const g = geomean(vsEplb);
    summary.push([
      title,
      worst.toFixed(3),
      `${(extraMax * 100).toFixed(1)}%`,
      `${g.toFixed(2)}×`,
      `${geomean(vsRr).toFixed(2)}×`,
    ]);
    if (worst > 0.05 || extraMax > 0.125 || g < 1.5) ok = false;
  }
  console.log('\n== summary (targets: imbalance ≤ 0.05, extra slots ≤ 12.5%, EPLB/fleetc ≥ 1.5×)');
  console.log(table(summary));
  console.log(ok ? 'targets met' : 'targets MISSED');
  // Measured vs predicted needs fleetrt; --no-measured skips it.
  if (!process.argv.includes('--no-measured')) ok = (await measuredVsPredicted()) && ok;
  process.exitCode = ok ? 0 : 1;
}

await main();
