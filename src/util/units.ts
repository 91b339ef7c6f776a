/**
 * Quantities in fleet files and flags: a plain number (bytes, bytes/s, seconds, FLOP/s) or a string with a
 * unit: `80GiB`, `900MB`, `3.35TB/s`, `64GB/s`, `25Gbit/s`, `5us`, `2ms`, `989TFLOPS`, `1.2e12`.
 */
const PREFIX: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };
const BIN: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40 };

export type Quantity = 'bytes' | 'bandwidth' | 'time' | 'flops';

export class UnitError extends Error {}

export function parseQuantity(raw: unknown, kind: Quantity): number {
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw) || raw < 0) throw new UnitError(`${raw} is not a non-negative number`);
    return raw;
  }
  if (typeof raw !== 'string')
    throw new UnitError(`expected a number or a string with a unit, got ${JSON.stringify(raw)}`);
  const text = raw.trim();
  const m = /^([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([A-Za-z/]*)$/.exec(text);
  if (!m) throw new UnitError(`cannot read '${raw}' as a ${kind}`);
  const value = Number(m[1]);
  const unit = m[2]!;
  const scale = unitScale(unit, kind);
  if (scale === undefined) throw new UnitError(`unknown unit '${unit}' for a ${kind} in '${raw}' (${EXAMPLES[kind]})`);
  return value * scale;
}

const EXAMPLES: Record<Quantity, string> = {
  bytes: 'e.g. 80GiB, 900MB, 512KiB',
  bandwidth: 'e.g. 3.35TB/s, 64GB/s, 100Gbit/s',
  time: 'e.g. 5us, 2ms, 1s, 300ns',
  flops: 'e.g. 989TFLOPS, 67TFLOP/s, 2.5e12',
};

function unitScale(unit: string, kind: Quantity): number | undefined {
  if (unit === '') return 1;
  switch (kind) {
    case 'bytes':
      return prefixed(unit, 'B');
    case 'bandwidth': {
      const bytes = /^(.*)B\/s$/.exec(unit);
      if (bytes) return prefixOf(bytes[1]!);
      const bits = /^(.*)(bit|b)\/s$/.exec(unit) ?? /^(.*)bps$/.exec(unit);
      if (bits) {
        const p = prefixOf(bits[1]!);
        return p === undefined ? undefined : p / 8;
      }
      return undefined;
    }
    case 'time':
      return { s: 1, ms: 1e-3, us: 1e-6, µs: 1e-6, ns: 1e-9 }[unit];
    case 'flops': {
      const f = /^(.*?)(FLOPS|FLOP\/s|OPS|OP\/s)$/.exec(unit);
      return f ? prefixOf(f[1]!) : undefined;
    }
  }
}

function prefixOf(p: string): number | undefined {
  return BIN[p] ?? PREFIX[p];
}

function prefixed(unit: string, base: string): number | undefined {
  if (!unit.endsWith(base)) return undefined;
  return prefixOf(unit.slice(0, -base.length));
}

/** Human form: 80 GiB, 3.35 TB/s, 5 µs, 989 TFLOP/s. */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${i === 0 ? n : n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)} ${units[i]}`;
}

export function formatRate(n: number, unit: string): string {
  const units = ['', 'k', 'M', 'G', 'T', 'P'];
  let i = 0;
  while (n >= 1000 && i < units.length - 1) {
    n /= 1000;
    i++;
  }
  return `${n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2)} ${units[i]}${unit}`;
}

export function formatTime(s: number): string {
  if (s >= 1) return `${s.toFixed(2)} s`;
  if (s >= 1e-3) return `${(s * 1e3).toFixed(2)} ms`;
  if (s >= 1e-6) return `${(s * 1e6).toFixed(1)} µs`;
  return `${(s * 1e9).toFixed(0)} ns`;
}
