import type { Device, Fleet } from './types.js';

export interface Hop {
  link: string;
  from: string;
  to: string;
  bandwidth: number;
  latency: number;
}

/** How bytes travel from one device to another: the hops, store-and-forward. */
export interface Route {
  from: string;
  to: string;
  hops: Hop[];
}

/** Seconds to move `bytes` along a route: each hop pays its latency and bytes / bandwidth. */
export function transferTime(r: Route, bytes: number): number {
  let t = 0;
  for (const h of r.hops) t += h.latency + bytes / h.bandwidth;
  return t;
}

const REFERENCE_BYTES = 1 << 20;
const cache = new WeakMap<Fleet, Map<string, Route | null>>();

/**
 * The cheapest route between two devices for a 1 MiB transfer, over explicit links (device or
 * host endpoints) and each accelerator's attachment to its host. A cpu device computes from its
 * host's memory, so it reaches the host for free. null when no route exists.
 */
export function route(fleet: Fleet, from: string, to: string): Route | null {
  let byPair = cache.get(fleet);
  if (!byPair) cache.set(fleet, (byPair = new Map()));
  const key = `${from}\u0000${to}`;
  if (!byPair.has(key)) byPair.set(key, search(fleet, from, to));
  return byPair.get(key)!;
}

function edgesOf(fleet: Fleet): Map<string, Hop[]> {
  const adj = new Map<string, Hop[]>();
  const add = (h: Hop): void => {
    if (!adj.has(h.from)) adj.set(h.from, []);
    adj.get(h.from)!.push(h);
  };
  const both = (link: string, a: string, b: string, bandwidth: number, latency: number): void => {
    add({ link, from: a, to: b, bandwidth, latency });
    add({ link, from: b, to: a, bandwidth, latency });
  };
  for (const d of fleet.devices) {
    if (d.hostLink) both(`${d.id}~${d.host}`, d.id, d.host, d.hostLink.bandwidth, d.hostLink.latency);
    else both(`${d.id}~${d.host}`, d.id, d.host, Infinity, 0);
  }
  for (const l of fleet.links) both(l.id, l.between[0], l.between[1], l.bandwidth, l.latency);
  return adj;
}

function search(fleet: Fleet, from: string, to: string): Route | null {
  if (from === to) return { from, to, hops: [] };
  const adj = edgesOf(fleet);
  const cost = new Map<string, number>([[from, 0]]);
  const via = new Map<string, Hop>();
  const done = new Set<string>();
  for (;;) {
    let best: string | undefined;
    for (const [node, c] of cost) if (!done.has(node) && (best === undefined || c < cost.get(best)!)) best = node;
    if (best === undefined) return null;
    if (best === to) break;
    done.add(best);
    for (const h of adj.get(best) ?? []) {
      const c = cost.get(best)! + h.latency + REFERENCE_BYTES / h.bandwidth;
      if (c < (cost.get(h.to) ?? Infinity)) {
        cost.set(h.to, c);
        via.set(h.to, h);
      }
    }
  }
  const hops: Hop[] = [];
  for (let node = to; node !== from;) {
    const h = via.get(node)!;
    hops.unshift(h);
    node = h.from;
  }
  // A host's own memory is not a hop worth naming when the cpu attaches for free.
  return { from, to, hops: hops.filter((h) => h.bandwidth !== Infinity) };
}

export function unreachablePairs(fleet: Fleet): [Device, Device][] {
  const out: [Device, Device][] = [];
  for (const a of fleet.devices)
    for (const b of fleet.devices) if (a.id < b.id && !route(fleet, a.id, b.id)) out.push([a, b]);
  return out;
}
