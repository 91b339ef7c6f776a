// DeepSeek's expert-parallel load balancer (EPLB), written from its public description: give
// replicas to the experts with the highest load per replica until the physical slots are used,
// then pack the physical experts onto the devices so that every device holds the same number
// of them and the loads are as even as greedy packing makes them. With several nodes
// (hierarchical policy) expert groups are first packed onto nodes, then replicated and packed
// within each node. It balances load only and assumes equally fast devices; tokens of a
// replicated expert are split evenly. bench:moe uses it as the baseline.
import type { Placement } from './moe-balance.js';

/** Pack items (by weight) into `packs` bins of equal item count; returns each item's bin. */
export function balancedPacking(weights: number[], packs: number): number[] {
  const per = weights.length / packs;
  if (!Number.isInteger(per))
    throw new Error(`balancedPacking: ${weights.length} items do not split into ${packs} packs`);
  const order = weights.map((_, i) => i).sort((a, b) => weights[b]! - weights[a]! || a - b);
  const load = new Array<number>(packs).fill(0);
  const count = new Array<number>(packs).fill(0);
  const pack = new Array<number>(weights.length).fill(-1);
  for (const i of order) {
    let best = -1;
    for (let b = 0; b < packs; b++) if (count[b]! < per && (best < 0 || load[b]! < load[best]!)) best = b;
    pack[i] = best;
    load[best]! += weights[i]!;
    count[best]!++;
  }
  return pack;
}

/** Replica counts: each extra slot goes to the expert with the highest load per replica. */
export function replicate(loads: number[], slots: number): number[] {
  const count = loads.map(() => 1);
  for (let s = loads.length; s < slots; s++) {
    let best = 0;
    for (let e = 1; e < loads.length; e++) if (loads[e]! / count[e]! > loads[best]! / count[best]!) best = e;
    count[best]!++;
  }
  return count;
}

export interface EplbOptions {
  /** Physical expert slots in total; a multiple of the device count. */
  slots: number;
  /** Devices per node (in device order) for the hierarchical policy; default: one node. */
  nodes?: number;
  /** Expert groups (consecutive experts) kept on one node; default 1 (global policy). */
  groups?: number;
}

/** EPLB's placement of `loads` (one per expert) on `devices` equal devices. */
export function eplb(loads: number[], devices: number, opts: EplbOptions): Placement {
  const E = loads.length;
  const nodes = opts.nodes ?? 1;
  const groups = opts.groups ?? 1;
  if (opts.slots % devices !== 0)
    throw new Error(`EPLB needs slots (${opts.slots}) to be a multiple of devices (${devices})`);
  if (opts.slots < E) throw new Error(`EPLB needs at least one slot per expert (${opts.slots} < ${E})`);
  const hierarchical = nodes > 1 && groups % nodes === 0 && E % groups === 0 && devices % nodes === 0;
  const devicesPerNode = hierarchical ? devices / nodes : devices;
  const nodeOf = new Array<number>(E).fill(0);
  if (hierarchical) {
    const size = E / groups;
    const groupLoad = Array.from({ length: groups }, (_, g) =>
      loads.slice(g * size, (g + 1) * size).reduce((a, b) => a + b, 0),
    );
    const packed = balancedPacking(groupLoad, nodes);
    for (let e = 0; e < E; e++) nodeOf[e] = packed[Math.floor(e / size)]!;
  }
  const placement: Placement = { devices: loads.map(() => []), share: loads.map(() => []) };
  const nodeCount = hierarchical ? nodes : 1;
  for (let n = 0; n < nodeCount; n++) {
    const members = loads.map((_, e) => e).filter((e) => nodeOf[e] === n);
    const slots = opts.slots / nodeCount;
    const counts = replicate(
      members.map((e) => loads[e]!),
      slots,
    );
    // Physical experts: each replica of an expert carries an even part of its load.
    const phys: { expert: number; load: number }[] = [];
    members.forEach((e, i) => {
      for (let r = 0; r < counts[i]!; r++) phys.push({ expert: e, load: loads[e]! / counts[i]! });
    });
    const packs = balancedPacking(
      phys.map((x) => x.load),
      devicesPerNode,
    );
    phys.forEach((x, i) => {
      const dev = n * devicesPerNode + packs[i]!;
      const devs = placement.devices[x.expert]!;
      const k = devs.indexOf(dev);
      const part = 1 / counts[members.indexOf(x.expert)]!;
      // Two replicas packed onto one device act as one instance with both shares.
      if (k >= 0) placement.share[x.expert]![k]! += part;
      else {
        devs.push(dev);
        placement.share[x.expert]!.push(part);
      }
    });
  }
  return placement;
}
