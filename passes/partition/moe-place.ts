// Expert placement within a compile (docs/moe.md): find the MoE layers, price each expert on
// every device for the expected routing, choose each layer's home (where its router runs in a
// first HEFT placement of the whole graph), place the experts with moe-balance, realise
// replicas in the graph (moe-replicate), and hand the partitioner pins: every expert unit on
// its device, the layer's router, dispatch and combine on its home. The partitioner then places
// everything else around them; the token counts it prices each expert with are the expected ones.
import type { IRGraph } from '../../src/ir/graph.js';
import type { Diagnostic } from '../../src/diagnostics/index.js';
import { FleetCost } from '../../src/fleet/cost.js';
import type { Fleet } from '../../src/fleet/types.js';
import { byteSize, type DType } from '../../src/ir/dtype.js';
import { evaluate, isSym, symbolsOf, type Dim } from '../../src/ir/sym.js';
import { opCost } from '../analysis/cost.js';
import { detectMoe, type MoeExpert, type MoeLayer } from '../analysis/moe.js';
import { bytesOf } from '../analysis/tensor.js';
import { inferShapesPass } from '../shape/index.js';
import { newPassContext, targetOf, type Pass } from '../pass.js';
import { buildProblem } from './build.js';
import { heft } from './heft.js';
import { balanceExperts, type BalanceProblem, type BalanceResult, type Placement } from './moe-balance.js';
import { expertCosts, type ExpertOpWork, type ExpertWork } from './moe-cost.js';
import { replicateExpert, type ExpertUnit } from './moe-replicate.js';
import { readPlacement, readRouting, shares, type RoutingCounts } from './moe-routing.js';
import { evaluate as evaluatePlacement } from './moe-balance.js';
import { linkCost } from './moe-cost.js';
import { serializeProblem, type SerializedProblem } from './moe-tune.js';

export interface MoeCompileOptions {
  /** A routing file or the metrics.json of an earlier run. */
  routing?: string;
  /** Extra expert instances per MoE layer for replicas of hot experts. */
  expertSlots?: number;
  /** A placement file (written by `fleetc tune`): its layers are placed as it says. */
  placement?: string;
  /** The fleet's cost model (default: its datasheet figures). */
  cost?: FleetCost;
}

/** plan.json `experts[]`: where each expert runs and how its tokens split. */
export interface PlanExpert {
  layer: number;
  expert: number;
  /** The layer's home device: where its router runs, rows are dispatched from and results combined. */
  home: string;
  devices: string[];
  share: number[];
  /** Predicted per device: routed tokens per request and seconds. */
  tokens: number[];
  seconds: number[];
  weightBytes: number;
  /**
   * Per device: the op whose first input's rows are the tokens routed there, the expert's ops,
   * and the values its rows arrive in and leave in (they cross links when the device is not home).
   */
  entry: string[];
  ops: string[][];
  input: string[];
  output: string[];
  /**
   * Per device, the cost model's terms for this expert there, so that telemetry can predict its
   * time for the tokens that came: seconds = max(n·compute, stream) + n·transfer + fixed.
   */
  cost: { compute: number; stream: number; transfer: number; fixed: number; latency: number }[];
}

export interface MoeReportDevice {
  device: string;
  experts: string[];
  tokens: number;
  seconds: number;
  weightBytes: number;
}

export interface MoeReportLayer {
  layer: number;
  name: string;
  kind: string;
  home: string;
  experts: number;
  k: number;
  routing: 'uniform' | 'file';
  tokens: number;
  slots: number;
  extraSlots: number;
  imbalance: number;
  makespan: number;
  fluid: number;
  bytesPerToken: number;
  devices: MoeReportDevice[];
  placement: { expert: number; devices: string[]; share: number[]; reason: string }[];
  /** What was solved, for `fleetc tune`: devices, experts, their costs, migration between devices. */
  problem: SerializedProblem;
}

declare module '../pass.js' {
  interface PassResults {
    /** place-experts: where each MoE expert runs, pins for the partitioner and the rows it prices. */
    experts?: MoeCompileResult;
  }
}

export interface MoeCompileResult {
  layers: MoeLayer[];
  /** The bindings to price with: the user's dims plus each expert's expected rows. */
  costDims: Map<string, number>;
  /** op id → device id for the partitioner. */
  pins: Map<string, string>;
  experts: PlanExpert[];
  report: MoeReportLayer[];
}

function evalDims(d: Dim | null, dims: ReadonlyMap<string, number>): number {
  if (d === null) return 1;
  const bind = new Map(dims);
  for (const s of symbolsOf(d)) if (!bind.has(s)) bind.set(s, 1);
  return Math.max(0, evaluate(d, bind) ?? 1);
}

/** The single symbol a row count is, when it is one (NonZero's fresh symbol, `tokens`). */
function rowSymbol(d: Dim | null): string | undefined {
  if (d === null || !isSym(d)) return undefined;
  const syms = [...symbolsOf(d)];
  return syms.length === 1 && d.poly.size === 1 && d.poly.get(syms[0]!) === 1 ? syms[0] : undefined;
}

/** The expert's work per routed token, from its ops priced for `rows` rows. */
function expertWork(graph: IRGraph, e: MoeExpert, rows: number, dims: ReadonlyMap<string, number>): ExpertWork {
  const n = Math.max(1, rows);
  const bind = new Map(dims);
  const sym = rowSymbol(e.tokens);
  if (sym) bind.set(sym, n);
  let flops = 0;
  let bytes = 0;
  let working = 0;
  let dtype: DType | null = null;
  const weights = new Set(e.weights);
  const isWeight = (v: string): boolean => weights.has(v) || graph.value(v).role === 'weight';
  const ops: ExpertOpWork[] = [];
  for (const o of e.ops) {
    const c = opCost(graph, o);
    const f = c.flops === null ? 0 : evalDims(c.flops, bind);
    const b =
      (c.bytesRead === null ? 0 : evalDims(c.bytesRead, bind)) +
      (c.bytesWritten === null ? 0 : evalDims(c.bytesWritten, bind));
    flops += f;
    bytes += b;
    dtype ??= c.dtype;
    let set = 0;
    for (const v of [...graph.opInputs(o), ...graph.opOutputs(o)])
      if (v && !isWeight(v)) set += evalDims(bytesOf(graph, v), bind);
    // What the op reads once per step whatever the rows (its weights, also weights sliced outside
    // the expert): with a row symbol, the part of its bytes that does not grow with the rows.
    let w = 0;
    if (sym) {
      const twice = new Map(bind).set(sym, 2 * n);
      const b2 =
        (c.bytesRead === null ? 0 : evalDims(c.bytesRead, twice)) +
        (c.bytesWritten === null ? 0 : evalDims(c.bytesWritten, twice));
      w = Math.max(0, 2 * b - b2);
    } else for (const v of new Set(graph.opInputs(o))) if (v && isWeight(v)) w += evalDims(bytesOf(graph, v), bind);
    working = Math.max(working, set);
    const op = graph.op(o);
    ops.push({
      opType: op.opType,
      domain: op.domain,
      dtype: c.dtype,
      flopsPerToken: f / n,
      activationBytesPerToken: Math.max(0, b - w) / n,
      weightBytes: w,
    });
  }
  const rowBytes = (v: string): number => {
    const val = graph.value(v);
    const s = val.shape;
    if (!s || !val.dtype || s.length === 0) return 0;
    const per = s.slice(1).reduce<number>((a, d) => a * evalDims(d, bind), 1);
    return byteSize(val.dtype, per);
  };
  return {
    flopsPerToken: flops / n,
    activationBytesPerToken: Math.max(0, bytes - e.weightBytes) / n,
    workingSetPerToken: working / n,
    weightBytes: e.weightBytes,
    dtype,
    launches: e.ops.length,
    dispatchBytes: rowBytes(e.input),
    combineBytes: rowBytes(e.output),
    ops,
  };
}

/** Weight bytes of ops outside every expert, per device, under a placement of ops. */
function otherWeights(
  graph: IRGraph,
  placement: Map<string, number>,
  expertOps: Set<string>,
  D: number,
  dims: ReadonlyMap<string, number>,
): number[] {
  const out = new Array<number>(D).fill(0);
  const seen = Array.from({ length: D }, () => new Set<string>());
  for (const [op, d] of placement) {
    if (expertOps.has(op)) continue;
    for (const v of graph.opInputs(op)) {
      if (!v || graph.value(v).role !== 'weight' || seen[d]!.has(v)) continue;
      seen[d]!.add(v);
      out[d]! += evalDims(bytesOf(graph, v), dims);
    }
  }
  return out;
}

export function placeMoe(
  graph: IRGraph,
  fleet: Fleet,
  dims: ReadonlyMap<string, number>,
  opts: MoeCompileOptions,
  diagnostics: Diagnostic[],
): MoeCompileResult | undefined {
  const layers = detectMoe(graph, dims);
  if (!layers.length) {
    if (opts.routing || opts.expertSlots)
      diagnostics.push({
        severity: 'warning',
        message: `${opts.routing ? '--routing' : '--expert-slots'}: the model has no MoE layer; nothing to place`,
      });
    return undefined;
  }
  const routing: RoutingCounts | undefined = opts.routing
    ? readRouting(
        opts.routing,
        layers.map((l) => ({ layer: l.layer, experts: l.numExperts })),
      )
    : undefined;
  const extraSlots = opts.expertSlots ?? 0;
  const given = opts.placement
    ? readPlacement(
        opts.placement,
        layers.map((l) => ({ layer: l.layer, experts: l.numExperts })),
        fleet.devices.map((d) => d.id),
      )
    : undefined;
  const cost = opts.cost ?? new FleetCost(fleet);
  const migration = {
    perByte: fleet.devices.map((a) => fleet.devices.map((b) => linkCost(cost, a.id, b.id).perByte)),
    latency: fleet.devices.map((a) => fleet.devices.map((b) => linkCost(cost, a.id, b.id).latency)),
  };

  // Expected rows per expert and request: the layer's tokens × k × the expert's routing share.
  const costDims = new Map(dims);
  const expected = layers.map((l) => {
    const tokens = evalDims(l.tokens, dims);
    const p = shares(routing?.get(l.layer), l.numExperts);
    // A token picks an expert at most once: no expert gets more rows than the layer has tokens.
    return l.experts.map((e) => (l.kind === 'dense' ? tokens : Math.min(tokens, tokens * l.k * (p[e.expert] ?? 0))));
  });
  layers.forEach((l, i) =>
    l.experts.forEach((e, j) => {
      const s = rowSymbol(e.tokens);
      if (s && !dims.has(s)) costDims.set(s, expected[i]![j]!);
    }),
  );

  // Homes: where a first placement of the whole graph puts each router.
  const D = fleet.devices.length;
  const built = buildProblem(graph, fleet, { dims: costDims, cost });
  const first = D > 1 ? heft(built.problem) : built.problem.tasks.map(() => 0);
  const taskOf = new Map<string, number>();
  built.problem.tasks.forEach((t, i) => t.ops.forEach((o) => taskOf.set(o, i)));
  const opDevice = new Map<string, number>();
  for (const [o, t] of taskOf) opDevice.set(o, first[t]!);
  const expertOps = new Set(layers.flatMap((l) => l.experts.flatMap((e) => e.ops)));
  const used = otherWeights(graph, opDevice, expertOps, D, costDims);

  const pins = new Map<string, string>();
  const experts: PlanExpert[] = [];
  const report: MoeReportLayer[] = [];
  const units: { layer: number; expert: MoeExpert; units: ExpertUnit[]; glue: string[] }[] = [];
  for (const [i, l] of layers.entries()) {
    const home = opDevice.get(l.router.gate) ?? built.problem.home;
    const homeId = fleet.devices[home]!.id;
    const works = l.experts.map((e, j) => expertWork(graph, e, expected[i]![j]!, costDims));
    const bp: BalanceProblem = {
      devices: fleet.devices.map((d, k) => ({ id: d.id, capacity: Math.max(0, d.memory[0]!.capacity - used[k]!) })),
      experts: l.experts.map((e, j) => ({
        expert: e.expert,
        load: expected[i]![j]!,
        weightBytes: e.weightBytes,
        activationBytesPerToken: works[j]!.workingSetPerToken,
      })),
      cost: l.experts.map((e, j) => {
        const costs = expertCosts(cost, homeId, works[j]!);
        // A device that cannot run one of the expert's ops is never chosen.
        return costs.map((c, d) =>
          e.ops.some((o) => built.facts.get(o)?.refused[d]) ? { ...c, compute: Infinity, fixed: Infinity } : c,
        );
      }),
      // An expert whose output is a graph output keeps one instance (its name must stay).
      extraSlots: l.experts.some((e) => graph.outputs.includes(e.output)) || l.kind === 'contrib' ? 0 : extraSlots,
    };
    const fixed = given?.get(l.layer);
    const res: BalanceResult = fixed
      ? givenResult(
          bp,
          l,
          fixed,
          fleet.devices.map((d) => d.id),
        )
      : balanceExperts(bp);
    res.evaluation.weightBytes.forEach((w, d) => (used[d]! += w));
    report.push({
      ...layerReport(l, homeId, bp, res, routing !== undefined, evalDims(l.tokens, dims)),
      problem: serializeProblem(bp, migration),
    });
    for (const [j, e] of l.experts.entries()) {
      const devs = res.placement.devices[j]!.map((d) => fleet.devices[d]!.id);
      const sh = res.placement.share[j]!;
      // Drop replicas the levelling left without tokens.
      const keep = sh.map((s, k) => (s > 1e-9 || sh.length === 1 ? k : -1)).filter((k) => k >= 0);
      const r = replicateExpert(
        graph,
        e,
        keep.map((k) => devs[k]!),
        normalise(keep.map((k) => sh[k]!)),
      );
      units.push({ layer: l.layer, expert: e, ...r });
      for (const o of r.glue) pins.set(o, homeId);
      for (const u of r.units) for (const o of u.ops) pins.set(o, u.device);
      const dIdx = keep.map((k) => res.placement.devices[j]![k]!);
      experts.push({
        layer: l.layer,
        expert: e.expert,
        home: homeId,
        devices: r.units.map((u) => u.device),
        share: r.units.map((u) => u.share),
        tokens: r.units.map((u) => expected[i]![j]! * u.share),
        seconds: dIdx.map((d, k) => {
          const c = bp.cost[j]![d]!;
          const n = expected[i]![j]! * r.units[k]!.share;
          return n > 0 ? Math.max(n * c.compute, c.stream) + n * c.transfer + c.fixed : 0;
        }),
        weightBytes: e.weightBytes,
        entry: r.units.map((u) => entryOp(graph, u)),
        ops: r.units.map((u) => u.ops.map((o) => graph.op(o).name)),
        input: r.units.map((u) => u.input),
        output: r.units.map((u) => u.output),
        cost: dIdx.map((d) => {
          const c = bp.cost[j]![d]!;
          return {
            compute: c.compute,
            stream: c.stream,
            transfer: c.transfer,
            fixed: c.fixed,
            latency: c.latency ?? 0,
          };
        }),
      });
    }
    for (const o of l.regionOps) if (!built.facts.get(o)?.refused[home]) pins.set(o, homeId);
  }

  // New values of the replicas get their types; their row symbols get the expected rows.
  if (units.some((u) => u.units.length > 1)) {
    inferShapesPass.run(graph, newPassContext({ dims: new Map(dims) }), inferShapesPass.options);
    for (const u of units) {
      if (u.units.length < 2) continue;
      const li = layers.findIndex((l) => l.layer === u.layer);
      const j = layers[li]!.experts.indexOf(u.expert);
      for (const unit of u.units) {
        const s = rowSymbol(graph.value(unit.input).shape?.[0] ?? null);
        if (s && !dims.has(s)) costDims.set(s, expected[li]![j]! * unit.share);
      }
    }
  }
  return { layers, costDims, pins, experts, report };
}

/** The placement a file gives, evaluated like a searched one. */
function givenResult(
  bp: BalanceProblem,
  l: MoeLayer,
  fixed: Map<number, { devices: string[]; share: number[] }>,
  ids: string[],
): BalanceResult {
  const placement: Placement = {
    devices: l.experts.map((e) => fixed.get(e.expert)!.devices.map((d) => ids.indexOf(d))),
    share: l.experts.map((e) => [...fixed.get(e.expert)!.share]),
  };
  return {
    placement,
    evaluation: evaluatePlacement(bp, placement),
    reasons: l.experts.map((e) => `placed by --placement on ${fixed.get(e.expert)!.devices.join(' + ')}`),
  };
}

function normalise(xs: number[]): number[] {
  const s = xs.reduce((a, b) => a + b, 0);
  return s > 0 ? xs.map((x) => x / s) : xs.map(() => 1 / xs.length);
}

/** The unit's first op reading its input rows (its row count is the tokens routed there). */
function entryOp(graph: IRGraph, u: ExpertUnit): string {
  const reader = u.ops.find((o) => graph.opInputs(o).includes(u.input));
  return graph.op(reader ?? u.ops[0]!).name;
}

function layerReport(
  l: MoeLayer,
  home: string,
  p: BalanceProblem,
  res: BalanceResult,
  fromFile: boolean,
  tokens: number,
): Omit<MoeReportLayer, 'problem'> {
  const ev = res.evaluation;
  const pl: Placement = res.placement;
  return {
    layer: l.layer,
    name: l.name,
    kind: l.kind,
    home,
    experts: l.experts.length,
    k: l.k,
    routing: fromFile ? 'file' : 'uniform',
    tokens,
    slots: ev.slots,
    extraSlots: p.extraSlots,
    imbalance: ev.imbalance,
    makespan: ev.makespan,
    fluid: ev.fluid,
    bytesPerToken: ev.bytesPerToken,
    devices: p.devices.map((d, k) => ({
      device: d.id,
      experts: pl.devices.flatMap((devs, e) =>
        devs.includes(k)
          ? [
              `${p.experts[e]!.expert}${devs.length > 1 ? ` (${(pl.share[e]![devs.indexOf(k)]! * 100).toFixed(0)}%)` : ''}`,
            ]
          : [],
      ),
      tokens: ev.tokens[k]!,
      seconds: ev.time[k]!,
      weightBytes: ev.weightBytes[k]!,
    })),
    placement: pl.devices.map((devs, e) => ({
      expert: p.experts[e]!.expert,
      devices: devs.map((d) => p.devices[d]!.id),
      share: pl.share[e]!,
      reason: res.reasons[e]!,
    })),
  };
}

export const placeExpertsPass: Pass = {
  name: 'place-experts',
  summary:
    'place the experts of MoE layers first (priced per device, balanced with replicas); the partitioner places the rest around them',
  kind: 'transform',
  options: {},
  provides: 'experts',
  needsTarget: true,
  run(graph, ctx) {
    const { fleet, cost } = targetOf(ctx, 'place-experts');
    const r = placeMoe(graph, fleet, ctx.dims, { ...ctx.settings.moe, cost }, ctx.diagnostics);
    if (!r) return { changed: false, summary: 'no MoE layers' };
    ctx.results.experts = r;
    return {
      changed: r.experts.some((e) => e.devices.length > 1),
      summary: `${r.layers.length} MoE layers, ${r.experts.length} experts on ${new Set(r.experts.flatMap((e) => e.devices)).size} devices`,
    };
  },
};
