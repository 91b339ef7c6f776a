// An experiment measured inside a model: fleetrt runs the plan `--repeat` times with the
// environment variable VAR unset or set to 1 by turns (FLEETRT_BENCH_AB_VAR: unset, set, set,
// unset, …), and this prints, from the trace, the median over those blocks of four of the time
// set against the time unset: for the whole pass, for the ops whose names match --ops, and for
// the rest. Both arms run in one process, in the model's own cache state, passes apart: on this
// noisy host, runs of two builds in separate processes differ by ±20% from one minute to the
// next, while this ratio stays within ±1% with nothing switched (VAR read by no code;
// MobileNetV2, 64 passes). The code under test reads VAR per call. Where the two arms read
// different data (two conv paths with packed filters of their own) it misled (docs/runtime.md):
// compare such switches build against build, process by process.
//
//   npx tsx scripts/bench/ab.ts PLAN.json VAR [--input NAME=FILE]... [--repeat N] [--threads N] [--ops REGEX]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { parseInputs, run } from '../../src/api/run.js';

const { positionals, values: flags } = parseArgs({
  allowPositionals: true,
  options: {
    input: { type: 'string', multiple: true, default: [] },
    repeat: { type: 'string', default: '48' },
    threads: { type: 'string', default: '2' },
    ops: { type: 'string' },
  },
});
const [plan, variable] = positionals;
if (!plan || !variable) {
  console.error('usage: ab.ts PLAN.json VAR [--input NAME=FILE]... [--repeat N] [--threads N] [--ops REGEX]');
  process.exit(2);
}
const inputs = parseInputs(flags.input);
const repeat = Math.max(4, Math.round(Number(flags.repeat) / 4) * 4);
const threads = Number(flags.threads);
const ops = flags.ops === undefined ? undefined : new RegExp(flags.ops);

const work = mkdtempSync(path.join(tmpdir(), 'fleetc-ab-'));
const trace = path.join(work, 'trace.json');
await run(plan, {
  ...(Object.keys(inputs).length ? { inputs } : { randomInputs: true }),
  outputDir: path.join(work, 'out'),
  repeat,
  warmup: 2,
  threads,
  trace,
  env: { FLEETRT_BENCH_AB_VAR: variable },
});

interface TraceEvent {
  ph: string;
  name: string;
  dur: number;
  args?: { op?: string; pass?: number };
}
const events = (JSON.parse(readFileSync(trace, 'utf8')) as { traceEvents: TraceEvent[] }).traceEvents;
// milliseconds per pass (in the order the passes ran) for the selected ops, the others, all
const perPass = new Map<number, { sel: number; rest: number }>();
for (const e of events) {
  if (e.ph !== 'X' || !e.args?.op || e.args.pass === undefined) continue;
  const p = perPass.get(e.args.pass) ?? { sel: 0, rest: 0 };
  if (ops?.test(e.name)) p.sel += e.dur / 1e3;
  else p.rest += e.dur / 1e3;
  perPass.set(e.args.pass, p);
}
const passes = [...perPass.keys()].sort((a, b) => a - b).map((k) => perPass.get(k)!);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
// passes in blocks of four, VAR unset, set, set, unset: per block (set + set) / (unset + unset),
// where a steady drift of the host's speed and any difference between a pass's first and second
// run of a pair cancel
const row = (label: string, f: (p: { sel: number; rest: number }) => number): string => {
  const unset: number[] = [];
  const set: number[] = [];
  const ratios: number[] = [];
  for (let b = 0; b + 4 <= passes.length; b += 4) {
    const [u0, s0, s1, u1] = passes.slice(b, b + 4).map(f) as [number, number, number, number];
    unset.push(u0, u1);
    set.push(s0, s1);
    if (u0 + u1 > 0) ratios.push((s0 + s1) / (u0 + u1));
  }
  return `${label.padEnd(10)} ${variable} unset ${median(unset).toFixed(3)} ms, set ${median(set).toFixed(3)} ms, set/unset ${median(ratios).toFixed(3)} (median of ${ratios.length} blocks)`;
};
console.log(`${plan}: ${passes.length} passes, ${threads} threads`);
console.log(row('all ops', (p) => p.sel + p.rest));
if (ops) {
  console.log(row(`--ops`, (p) => p.sel));
  console.log(row('the rest', (p) => p.rest));
}
