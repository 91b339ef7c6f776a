// A lower bound on the slowest device's time that respects memory: the fluid ideal as a linear
// program (tokens split freely, linear per-token costs) in which a device may only serve tokens
// of an expert whose weights it holds, within its memory and the slot budget. Holding is
// whole experts (binary) when the layer is small enough for the MILP, else fractional (a
// looser bound). Where no
// device is short of memory it equals the fluid ideal; where one is (an IPU with small SRAM and
// large experts) it says what any placement could at best reach. Solved with HiGHS.
import highsModule, { type Highs } from 'highs';
import type { BalanceProblem } from '../../passes/partition/moe-balance.js';

const load = highsModule as unknown as () => Promise<Highs>;
let solver: Highs | undefined;

const US = 1e6;
const n = (v: number): string => (Math.round(v * 1e9) / 1e9).toString();

export async function memoryAwareFluid(p: BalanceProblem): Promise<number> {
  const tight = p.experts.length <= 16 ? await solve(p, true) : undefined;
  return tight ?? (await solve(p, false))!;
}

async function solve(p: BalanceProblem, integral: boolean): Promise<number | undefined> {
  solver ??= await load();
  const E = p.experts.length;
  const D = p.devices.length;
  const rows: string[] = [];
  const bounds: string[] = [];
  for (let e = 0; e < E; e++) {
    const l = p.experts[e]!.load;
    rows.push(`tok_${e}: ${Array.from({ length: D }, (_, d) => `+ x_${e}_${d}`).join(' ')} = ${n(l)}`);
    for (let d = 0; d < D; d++) {
      rows.push(`hold_${e}_${d}: + x_${e}_${d} - ${n(l)} y_${e}_${d} <= 0`);
      bounds.push(`0 <= y_${e}_${d} <= 1`);
    }
  }
  for (let d = 0; d < D; d++) {
    const time = Array.from({ length: E }, (_, e) => {
      const c = p.cost[e]![d]!;
      return `+ ${n((c.compute + c.transfer) * US)} x_${e}_${d}`;
    }).join(' ');
    rows.push(`time_${d}: ${time} - T <= 0`);
    const mem = Array.from({ length: E }, (_, e) => `+ ${n(p.experts[e]!.weightBytes / 1e6)} y_${e}_${d}`).join(' ');
    rows.push(`mem_${d}: ${mem} <= ${n(p.devices[d]!.capacity / 1e6)}`);
  }
  const all: string[] = [];
  for (let e = 0; e < E; e++) for (let d = 0; d < D; d++) all.push(`+ y_${e}_${d}`);
  rows.push(`slots: ${all.join(' ')} <= ${E + p.extraSlots}`);
  const ys: string[] = [];
  for (let e = 0; e < E; e++) for (let d = 0; d < D; d++) ys.push(`y_${e}_${d}`);
  const lp =
    `Minimize\n obj: + T\nSubject To\n ${rows.join('\n ')}\nBounds\n ${bounds.join('\n ')}\n` +
    (integral ? `General\n ${ys.join(' ')}\n` : '') +
    'End\n';
  const res = solver.solve(lp, integral ? { time_limit: 20, mip_rel_gap: 1e-6 } : {});
  if (res.Status !== 'Optimal') {
    if (integral) return undefined;
    throw new Error(`memory-aware bound: HiGHS says ${res.Status}`);
  }
  return res.ObjectiveValue / US;
}
