import { describe, expect, it } from 'vitest';
import {
  add,
  ceilDiv,
  dimEq,
  dimToString,
  evaluate,
  floorDiv,
  max,
  min,
  mod,
  mul,
  parseDim,
  sub,
  substitute,
  sym,
  symbolsOf,
} from '../../src/ir/sym.js';

const batch = sym('batch');
const seq = sym('seq');
const past = sym('past_seq');

describe('symbolic dimensions', () => {
  it('canonicalises sums so equal things print equal', () => {
    expect(dimToString(add(past, seq))).toBe('past_seq + seq');
    expect(dimEq(add(past, seq), add(seq, past))).toBe(true);
    expect(dimEq(sub(add(seq, 3), 3), seq)).toBe(true);
    expect(sub(seq, seq)).toBe(0);
  });

  it('multiplies polynomials and folds constants', () => {
    expect(dimToString(mul(add(batch, 1), seq))).toBe('batch*seq + seq');
    expect(mul(3, 4)).toBe(12);
    expect(dimToString(mul(mul(2, batch), mul(seq, 3)))).toBe('6*batch*seq');
  });

  it('divides exactly when it can and keeps floor otherwise', () => {
    expect(dimToString(floorDiv(mul(4, batch), 2))).toBe('2*batch');
    expect(floorDiv(mul(mul(batch, seq), 6), mul(batch, seq))).toBe(6);
    expect(dimToString(floorDiv(sub(seq, 1), 2))).toBe('floor((seq - 1) / 2)');
    expect(floorDiv(7, 2)).toBe(3);
    expect(ceilDiv(7, 2)).toBe(4);
    expect(evaluate(ceilDiv(mul(2, seq), 3), { seq: 4 })).toBe(3);
    expect(mod(mul(4, batch), 2)).toBe(0);
  });

  it('orders max/min arguments and resolves constant differences', () => {
    expect(dimEq(max(seq, add(seq, 2)), add(seq, 2))).toBe(true);
    expect(dimEq(min(seq, add(seq, 2)), seq)).toBe(true);
    expect(dimToString(max(seq, batch))).toBe(dimToString(max(batch, seq)));
  });

  it('prints expressions that parse back to the same expression', () => {
    const exprs = [
      add(floorDiv(sub(seq, 1), 2), 1),
      ceilDiv(mul(2, seq), 3),
      max(batch, add(seq, past)),
      mul(floorDiv(mul(2, seq), 3), batch),
      mod(add(seq, 1), 4),
      sub(0, mul(2, batch)),
    ];
    for (const e of exprs) expect(dimToString(parseDim(dimToString(e)))).toBe(dimToString(e));
  });

  it('evaluates, substitutes and lists symbols', () => {
    const e = add(mul(batch, seq), floorDiv(past, 2));
    expect(evaluate(e, { batch: 2, seq: 3, past_seq: 5 })).toBe(8);
    expect(evaluate(e, { batch: 2 })).toBeUndefined();
    expect([...symbolsOf(e)].sort()).toEqual(['batch', 'past_seq', 'seq']);
    expect(dimToString(substitute(e, new Map([['past_seq', 10]])))).toBe('batch*seq + 5');
    expect(
      substitute(
        e,
        new Map([
          ['batch', 1],
          ['seq', 2],
          ['past_seq', 4],
        ]),
      ),
    ).toBe(4);
  });

  it('rejects text that is not an expression', () => {
    expect(() => parseDim('batch +')).toThrow(/cannot parse/);
    expect(() => parseDim('a $ b')).toThrow(/cannot parse/);
    expect(dimToString(sym('batch size'))).toBe('batch_size');
  });
});
