import { describe, expect, it } from 'vitest';
import { bfloat16ToNumber, halfToNumber, numberToBfloat16, numberToHalf } from '../../src/ir/dtype.js';

describe('half and bfloat16 conversions', () => {
  it('round-trip every non-NaN bit pattern', () => {
    const wrong: string[] = [];
    for (let bits = 0; bits < 0x10000; bits++) {
      const halfNaN = (bits & 0x7c00) === 0x7c00 && bits & 0x3ff;
      if (!halfNaN && numberToHalf(halfToNumber(bits)) !== bits) wrong.push(`half ${bits.toString(16)}`);
      const bf16NaN = (bits & 0x7f80) === 0x7f80 && bits & 0x7f;
      if (!bf16NaN && numberToBfloat16(bfloat16ToNumber(bits)) !== bits) wrong.push(`bf16 ${bits.toString(16)}`);
    }
    expect(wrong).toEqual([]);
  });

  it('round to nearest even, into subnormals and up to infinity', () => {
    const cases: [number, number][] = [
      [1, 0x3c00],
      [1 + 2 ** -11, 0x3c00], // halfway: down to the even mantissa
      [1 + 3 * 2 ** -11, 0x3c02], // halfway: up to the even mantissa
      [65504, 0x7bff],
      [65519, 0x7bff],
      [65520, 0x7c00], // halfway past the largest half: infinity
      [2 ** -14, 0x0400],
      [2 ** -24, 0x0001],
      [2 ** -25, 0x0000], // halfway to the smallest subnormal: the even one, zero
      [3 * 2 ** -26, 0x0001],
      [-0, 0x8000],
      [-Infinity, 0xfc00],
    ];
    for (const [v, bits] of cases) expect(numberToHalf(v), String(v)).toBe(bits);
    expect(numberToHalf(NaN) & 0x7e00).toBe(0x7e00);
    expect(numberToBfloat16(1 + 2 ** -8)).toBe(0x3f80);
    expect(numberToBfloat16(1 + 3 * 2 ** -8)).toBe(0x3f82);
    expect(Number.isNaN(bfloat16ToNumber(numberToBfloat16(NaN)))).toBe(true);
  });
});
