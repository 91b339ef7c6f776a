// Expected routing for expert placement: tokens per expert of each MoE layer, from a routing
// file (`--routing FILE`: { "layers": [ { "layer": i, "counts": [...] } ] }) or from the
// metrics of an earlier run (metrics.json "moe" section, written by fleetrt), checked against
// the layers the model has.
import { readFileSync } from 'node:fs';
import { FleetcError } from '../../src/diagnostics/index.js';

/** Layer index → routed tokens per expert (over whatever window the file covers). */
export type RoutingCounts = Map<number, number[]>;

export interface LayerShape {
  layer: number;
  experts: number;
}

function fail(file: string, msg: string): never {
  throw new FleetcError('E0304', msg, { file });
}

function counts(file: string, where: string, v: unknown, experts: number): number[] {
  if (!Array.isArray(v)) fail(file, `${where}: "counts" must be an array of token counts`);
  if (v.length !== experts) fail(file, `${where}: ${v.length} counts for a layer with ${experts} experts`);
  v.forEach((c, e) => {
    if (typeof c !== 'number' || !Number.isFinite(c) || c < 0)
      fail(file, `${where}: count of expert ${e} is ${JSON.stringify(c)}, not a non-negative number`);
  });
  return v as number[];
}

/**
 * Parses routing counts from a routing file or a metrics.json; `layers` are the model's MoE
 * layers (a file naming another layer, or another expert count, is refused).
 */
export function parseRouting(text: string, file: string, layers: readonly LayerShape[]): RoutingCounts {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    fail(file, `not valid JSON: ${(e as Error).message}`);
  }
  const byLayer = new Map(layers.map((l) => [l.layer, l.experts]));
  const out: RoutingCounts = new Map();
  const obj = json as { layers?: unknown; moe?: { layers?: unknown } };
  const add = (layer: unknown, where: string, values: () => number[]): void => {
    if (typeof layer !== 'number' || !Number.isInteger(layer)) fail(file, `${where}: "layer" must be an integer`);
    const experts = byLayer.get(layer);
    if (experts === undefined)
      fail(
        file,
        `${where}: layer ${layer} is not a MoE layer of the model (its MoE layers: ${[...byLayer.keys()].join(', ') || 'none'})`,
      );
    if (out.has(layer)) fail(file, `${where}: layer ${layer} appears twice`);
    out.set(layer, values());
  };
  if (obj && typeof obj === 'object' && Array.isArray(obj.layers)) {
    obj.layers.forEach((l: unknown, i) => {
      const where = `layers[${i}]`;
      if (!l || typeof l !== 'object') fail(file, `${where}: expected { "layer": i, "counts": [...] }`);
      const entry = l as { layer?: unknown; counts?: unknown };
      add(entry.layer, where, () => counts(file, where, entry.counts, byLayer.get(entry.layer as number)!));
    });
  } else if (obj && typeof obj === 'object' && obj.moe && Array.isArray(obj.moe.layers)) {
    // metrics.json of an earlier run: tokens per expert summed over its devices
    obj.moe.layers.forEach((l: unknown, i) => {
      const where = `moe.layers[${i}]`;
      const entry = l as { layer?: unknown; counts?: unknown };
      add(entry.layer, where, () => counts(file, where, entry.counts, byLayer.get(entry.layer as number)!));
    });
  } else
    fail(
      file,
      'expected { "layers": [ { "layer": i, "counts": [tokens per expert] } ] } or a metrics.json with a "moe" section',
    );
  return out;
}

export function readRouting(file: string, layers: readonly LayerShape[]): RoutingCounts {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    fail(file, `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseRouting(text, file, layers);
}

/** Each expert's share of the routed tokens (uniform without counts, or when they sum to 0). */
export function shares(counts: readonly number[] | undefined, experts: number): number[] {
  const total = counts?.reduce((a, b) => a + b, 0) ?? 0;
  if (!counts || total <= 0) return Array.from({ length: experts }, () => 1 / experts);
  return counts.map((c) => c / total);
}

/** An expert placement chosen elsewhere (`fleetc tune`): layer → per expert index its devices and shares. */
export type GivenPlacement = Map<number, Map<number, { devices: string[]; share: number[] }>>;

/** Reads a placement file ({ "layers": [ { "layer", "experts": [ { "expert", "devices", "share" } ] } ] }). */
export function readPlacement(file: string, layers: readonly LayerShape[], devices: readonly string[]): GivenPlacement {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    fail(
      file,
      e instanceof SyntaxError
        ? `not valid JSON: ${e.message}`
        : `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
    );
  }
  const obj = json as { layers?: unknown };
  if (!obj || !Array.isArray(obj.layers))
    fail(file, 'expected { "layers": [ { "layer": i, "experts": [ { "expert", "devices", "share" } ] } ] }');
  const byLayer = new Map(layers.map((l) => [l.layer, l.experts]));
  const out: GivenPlacement = new Map();
  (obj.layers as unknown[]).forEach((l, i) => {
    const where = `layers[${i}]`;
    const entry = l as { layer?: unknown; experts?: unknown };
    const experts = typeof entry?.layer === 'number' ? byLayer.get(entry.layer) : undefined;
    if (experts === undefined)
      fail(file, `${where}: "layer" ${JSON.stringify(entry?.layer)} is not a MoE layer of the model`);
    if (!Array.isArray(entry.experts) || entry.experts.length !== experts)
      fail(file, `${where}: "experts" must list all ${experts} experts`);
    const m = new Map<number, { devices: string[]; share: number[] }>();
    (entry.experts as unknown[]).forEach((x, j) => {
      const w = `${where}.experts[${j}]`;
      const e = x as { expert?: unknown; devices?: unknown; share?: unknown };
      if (typeof e?.expert !== 'number' || e.expert < 0 || e.expert >= experts || m.has(e.expert))
        fail(file, `${w}: "expert" must be a distinct index below ${experts}`);
      if (!Array.isArray(e.devices) || !e.devices.length || e.devices.some((d) => !devices.includes(d as string)))
        fail(file, `${w}: "devices" must name devices of the fleet (${devices.join(', ')})`);
      const share = e.share as unknown;
      if (
        !Array.isArray(share) ||
        share.length !== e.devices.length ||
        share.some((v) => typeof v !== 'number' || v < 0) ||
        Math.abs((share as number[]).reduce((a, b) => a + b, 0) - 1) > 1e-6
      )
        fail(file, `${w}: "share" must give each device a fraction, summing to 1`);
      m.set(e.expert, { devices: e.devices as string[], share: share as number[] });
    });
    out.set(entry.layer as number, m);
  });
  return out;
}
