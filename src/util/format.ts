/** Human-readable numbers for the text reports. */

const PREFIX = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** 1234567 → `1.23 M`; keeps three significant digits. */
export function si(n: number, unit = ''): string {
  if (!Number.isFinite(n)) return String(n);
  let i = 0;
  let x = Math.abs(n);
  while (x >= 1000 && i < PREFIX.length - 1) {
    x /= 1000;
    i++;
  }
  const digits = x >= 100 || i === 0 ? 0 : x >= 10 ? 1 : 2;
  const s = `${n < 0 ? '-' : ''}${x.toFixed(i === 0 && Number.isInteger(x) ? 0 : digits)}`;
  return unit || PREFIX[i] ? `${s} ${PREFIX[i]}${unit}` : s;
}

export function bytes(n: number): string {
  return si(n, 'B');
}

export function seconds(t: number): string {
  if (t === 0) return '0 s';
  if (t < 1e-6) return `${(t * 1e9).toFixed(1)} ns`;
  if (t < 1e-3) return `${(t * 1e6).toFixed(1)} µs`;
  if (t < 1) return `${(t * 1e3).toFixed(2)} ms`;
  return `${t.toFixed(2)} s`;
}

/** Left-aligned text columns, right-aligned numeric ones (`align` 'r'), two spaces apart. */
export function table(header: string[], rows: string[][], align: ('l' | 'r')[]): string[] {
  const width = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (align[i] === 'r' ? c.padStart(width[i]!) : c.padEnd(width[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
