import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  evaluateCheck,
  splitCases,
  stablehloCasesFromText,
  type StablehloCheck,
  type TensorData,
} from '../../src/frontends/stablehlo/testcases.js';
import { computeSkips, SKIPS_FILE, type SkipsFile } from './skips.js';

const f32 = (...v: number[]): TensorData => ({
  dtype: 'float32',
  shape: [v.length],
  data: new Uint8Array(Float32Array.from(v).buffer),
});
const i64 = (...v: number[]): TensorData => ({
  dtype: 'int64',
  shape: [v.length],
  data: new Uint8Array(BigInt64Array.from(v.map(BigInt)).buffer),
});

const FILE = `// RUN: something
func.func @first() {
  %0 = stablehlo.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %1 = stablehlo.add %0, %0 : tensor<2xf32>
  check.expect_almost_eq_const %1, dense<[2.0, 4.0]> : tensor<2xf32> {tolerance = 0.01 : f64}
  func.return
}

// -----

func.func @second() {
  %0 = stablehlo.constant dense<[1, -2]> : tensor<2xi64>
  check.expect_eq_const %0, dense<[1, -2]> : tensor<2xi64>
  %1 = stablehlo.constant dense<[3, 4]> : tensor<2xi64>
  %2 = stablehlo.multiply %0, %1 : tensor<2xi64>
  check.expect_eq %2, %1 : tensor<2xi64>
  func.return
}

// -----

func.func @collective() {
  %0 = stablehlo.replica_id : tensor<ui32>
  func.return
}
`;

describe('StableHLO test cases', () => {
  it('splits on // ----- and keeps line numbers', () => {
    const chunks = splitCases(FILE);
    expect(chunks.map((c) => c.line)).toEqual([1, 10, 21]);
    const cases = stablehloCasesFromText(FILE, 't.mlir');
    expect(cases.map((c) => c.name)).toEqual(['t.mlir#first', 't.mlir#second', 't.mlir#collective']);
    expect(cases[1]!.loc).toMatchObject({ file: 't.mlir', line: 11 });
    expect(cases[1]!.checks[1]!.loc).toMatchObject({ line: 16, col: 3 });
  });

  it('turns check ops into graph outputs with expected values and tolerances', () => {
    const [a, b, c] = stablehloCasesFromText(FILE, 't.mlir');
    expect(a!.checks).toHaveLength(1);
    const ch = a!.checks[0]!;
    expect(ch).toMatchObject({ kind: 'almost_eq', rtol: 0.01, atol: 0.01 });
    expect(a!.graph!.outputs).toEqual([ch.output]);
    expect(Array.from(new Float32Array(ch.expected!.data.slice().buffer))).toEqual([2, 4]);
    // A check on a constant becomes an Identity output; a check against a constant operand has it as expected value.
    expect(b!.checks.map((x) => x.kind)).toEqual(['eq', 'eq']);
    expect(b!.graph!.outputs).toHaveLength(2);
    expect(b!.checks[1]!.expected?.dtype).toBe('int64');
    expect(c).toMatchObject({ skip: 'collectives' });
    expect(c!.unsupported).toMatch(/stablehlo.replica_id/);
  });

  it('JAX-style @check.* custom calls are checks too', () => {
    const text = readFileSync(
      new URL('../../../shared/conformance/stablehlo-jax/exp_float32_20_20.mlir', import.meta.url),
      'utf8',
    );
    const [c] = stablehloCasesFromText(text, 'exp.mlir');
    expect(c!.checks.length).toBeGreaterThan(0);
    expect(c!.checks[0]!.expected?.shape).toEqual([20, 20]);
    expect(c!.graph!.outputs).toContain(c!.checks[0]!.output);
  });

  it('evaluateCheck: eq is exact, almost_eq and close use the tolerances', () => {
    const eq: StablehloCheck = { output: 'y', kind: 'eq', expected: i64(1, -2), loc: { file: 'x' } };
    expect(evaluateCheck(eq, i64(1, -2))).toBeUndefined();
    expect(evaluateCheck(eq, i64(1, -3))).toMatch(/y\[1\] = -3, expected -2/);
    expect(evaluateCheck(eq, f32(1, -2))).toMatch(/element type/);
    const almost: StablehloCheck = {
      output: 'y',
      kind: 'almost_eq',
      expected: f32(1, 100),
      rtol: 1e-4,
      atol: 1e-4,
      loc: { file: 'x' },
    };
    expect(evaluateCheck(almost, f32(1.00005, 100.005))).toBeUndefined();
    expect(evaluateCheck(almost, f32(1.001, 100))).toMatch(/y\[0\]/);
    expect(evaluateCheck({ ...almost, expected: f32(NaN, Infinity) }, f32(NaN, Infinity))).toBeUndefined();
    expect(evaluateCheck({ ...almost, expected: f32(Infinity) }, f32(-Infinity))).toMatch(/expected Infinity/);
    const close: StablehloCheck = {
      output: 'y',
      kind: 'close',
      expected: f32(1),
      rtol: 0,
      atol: 0,
      maxUlp: 3,
      loc: { file: 'x' },
    };
    expect(evaluateCheck(close, f32(1 + 2 * 2 ** -23))).toBeUndefined();
    expect(evaluateCheck(close, f32(1 + 8 * 2 ** -23))).toMatch(/max 3 ulp/);
    expect(evaluateCheck({ ...eq, expected: undefined, expectedOutput: 'z' }, i64(5), i64(5))).toBeUndefined();
  });

  it('test/conformance/stablehlo-skips.json lists exactly the out-of-scope cases', () => {
    const file = JSON.parse(readFileSync(SKIPS_FILE, 'utf8')) as SkipsFile;
    expect(file).toEqual(computeSkips());
    const ids = file.categories.map((c) => c.id);
    for (const must of ['collectives', 'tokens', 'infeed-outfeed', 'send-recv', 'complex', 'quantized', 'fft'])
      expect(ids).toContain(must);
  });
});
