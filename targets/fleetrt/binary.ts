/** A growable little-endian byte buffer for program.bin. */
export class ByteWriter {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  u8(v: number): this {
    this.ensure(1);
    this.view.setUint8(this.length, v);
    this.length += 1;
    return this;
  }
  u16(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new Error(`u16 out of range: ${v}`);
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new Error(`u32 out of range: ${v}`);
    this.ensure(4);
    this.view.setUint32(this.length, v, true);
    this.length += 4;
    return this;
  }
  i32(v: number): this {
    this.ensure(4);
    this.view.setInt32(this.length, v, true);
    this.length += 4;
    return this;
  }
  /** Integers beyond int64 (ONNX's INT64_MAX read as a double) saturate. */
  i64(v: number | bigint): this {
    this.ensure(8);
    let b = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
    const MAX = (1n << 63n) - 1n;
    const MIN = -(1n << 63n);
    if (b > MAX) b = MAX;
    if (b < MIN) b = MIN;
    this.view.setBigInt64(this.length, b, true);
    this.length += 8;
    return this;
  }
  u64(v: number): this {
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`u64 out of range: ${v}`);
    this.ensure(8);
    this.view.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
    return this;
  }
  f64(v: number): this {
    this.ensure(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  /** Overwrites a u64 at `at` (for offsets known only later). */
  patchU64(at: number, v: number): void {
    this.view.setBigUint64(at, BigInt(v), true);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** A four-character section tag as the u32 whose little-endian bytes spell it. */
export function tag(s: string): number {
  if (s.length !== 4) throw new Error(`tag '${s}' must have 4 characters`);
  return (s.charCodeAt(0) | (s.charCodeAt(1) << 8) | (s.charCodeAt(2) << 16) | (s.charCodeAt(3) << 24)) >>> 0;
}
