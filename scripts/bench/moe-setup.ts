// The set-up of bench:moe: layer shapes of public MoE models, the unequal fleets, Zipf routing
// traces and the placement problem they make (shared with test/moe for a short smoke run).
import { parseFleet } from '../../src/fleet/load.js';
import { FleetCost } from '../../src/fleet/cost.js';
import type { Fleet } from '../../src/fleet/types.js';
import type { BalanceProblem } from '../../passes/partition/moe-balance.js';
import { expertCosts, groupedFixed, type ExpertWork } from '../../passes/partition/moe-cost.js';

export interface LayerSpec {
  name: string;
  experts: number;
  k: number;
  hidden: number;
  ffn: number;
}

// Expert shapes of public MoE models (SwiGLU experts: three hidden×ffn matrices, bf16).
export const LAYERS: LayerSpec[] = [
  { name: 'mixtral-8x7b', experts: 8, k: 2, hidden: 4096, ffn: 14336 },
  { name: 'qwen-moe-16', experts: 16, k: 2, hidden: 2048, ffn: 5632 },
  { name: 'e32-top4', experts: 32, k: 4, hidden: 2048, ffn: 2816 },
  { name: 'deepseek-moe-64', experts: 64, k: 6, hidden: 2048, ffn: 1408 },
];
export const SKEWS = [0.8, 1.0, 1.2];
export const TOKENS = 16384; // tokens per step (a prefill batch)
export const STEPS = 16; // steps in a routing window
// A model of MOE_LAYERS such layers: each device gives an eighth of its memory to one layer's experts.
export const MOE_LAYERS = 8;

export const FLEETS: Record<string, string> = {
  'H100 + L4 + Xeon': `
name: h100-l4-xeon
devices:
  - { id: h100, preset: nvidia-h100-sxm, host: n0 }
  - { id: l4, preset: nvidia-l4, host: n0 }
  - { id: xeon, preset: intel-xeon-8480, host: n0 }
`,
  '2 × A100 + Gaudi 2': `
name: a100x2-gaudi2
devices:
  - { id: a100a, preset: nvidia-a100-sxm, host: n0 }
  - { id: a100b, preset: nvidia-a100-sxm, host: n0 }
  - { id: gaudi, preset: intel-gaudi2, host: n0 }
links:
  - { between: [a100a, a100b], kind: nvlink3 }
`,
  'A100 + IPU (small memory) + Xeon': `
name: a100-ipu-xeon
devices:
  - { id: a100, preset: nvidia-a100-sxm, host: n0 }
  - { id: ipu, preset: graphcore-ipu-gc200, host: n0 }
  - { id: xeon, preset: intel-xeon-8480, host: n0 }
`,
};

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A routing window: TOKENS × STEPS tokens, each choosing k distinct experts with Zipf(s)
 * popularity over a random ranking of the experts. Returns routed tokens per expert per step.
 */
export function zipfTrace(experts: number, k: number, skew: number, seed: number): number[] {
  const next = rng(seed);
  const rank = Array.from({ length: experts }, (_, i) => i);
  for (let i = experts - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [rank[i], rank[j]] = [rank[j]!, rank[i]!];
  }
  const weight = rank.map((r) => 1 / (r + 1) ** skew);
  const counts = new Array<number>(experts).fill(0);
  for (let t = 0; t < TOKENS * STEPS; t++) {
    const w = [...weight];
    for (let c = 0; c < k; c++) {
      let total = 0;
      for (const x of w) total += x;
      let u = next() * total;
      let e = 0;
      while (e < experts - 1 && u >= w[e]!) u -= w[e++]!;
      counts[e]!++;
      w[e] = 0;
    }
  }
  return counts.map((c) => c / STEPS);
}

export function work(l: LayerSpec): ExpertWork {
  const bytes = 2; // bf16
  return {
    flopsPerToken: 2 * 3 * l.hidden * l.ffn,
    // row in, gate and up projections out and back in, row out
    activationBytesPerToken: bytes * (2 * l.hidden + 4 * l.ffn),
    weightBytes: bytes * 3 * l.hidden * l.ffn,
    dtype: 'bfloat16',
    launches: 5,
    dispatchBytes: bytes * l.hidden,
    combineBytes: bytes * l.hidden,
  };
}

export function problem(fleet: Fleet, l: LayerSpec, loads: number[]): BalanceProblem {
  const home = fleet.devices[0]!.id; // the rest of the model runs on the first (fastest) device
  const w = work(l);
  const costs = expertCosts(new FleetCost(fleet), home, w, true);
  return {
    devices: fleet.devices.map((d) => ({ id: d.id, capacity: d.memory[0]!.capacity / MOE_LAYERS })),
    experts: loads.map((load, e) => ({ expert: e, load, weightBytes: w.weightBytes })),
    cost: loads.map(() => costs),
    extraSlots: Math.floor(l.experts / 8),
    deviceFixed: groupedFixed(new FleetCost(fleet), home, w.launches),
  };
}

export function fleets(): [string, Fleet][] {
  return Object.entries(FLEETS).map(([title, yaml]) => [title, parseFleet(yaml, `${title}.yaml`)]);
}
