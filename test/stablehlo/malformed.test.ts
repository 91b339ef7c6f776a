import { describe, expect, it } from 'vitest';
import { ShapeInference } from '../../passes/shape/infer.js';
import { FleetcError, type Diagnostic } from '../../src/diagnostics/index.js';
import { stablehloFromText } from '../../src/frontends/stablehlo/index.js';
import { cli } from '../cli/helpers.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HEAD = 'func.func @main(%a: tensor<2xf32>) -> tensor<2xf32> {\n';

/** The one-line error a malformed program gives. */
function errorOf(text: string, file = 'bad.mlir'): string {
  try {
    stablehloFromText(text, file);
  } catch (e) {
    if (e instanceof FleetcError) return e.format();
    throw e;
  }
  throw new Error('no error');
}

describe('malformed StableHLO gives one precise error with file:line:col', () => {
  it('truncated text', () => {
    expect(errorOf(HEAD + '  %0 = stablehlo.add %a, %a : tensor<2xf32>\n')).toBe(
      "bad.mlir:3:1: error[E0102]: expected '}' to close the region, found end of file",
    );
    expect(errorOf(HEAD + '  %0 = stablehlo.add %a, %a : tensor<2x')).toBe(
      'bad.mlir:2:40: error[E0102]: expected a type, found end of file',
    );
    expect(errorOf('module @m attributes {x = "abc')).toBe('bad.mlir:1:27: error[E0102]: unterminated string');
  });

  it('unknown op', () => {
    expect(errorOf(HEAD + '  %0 = stablehlo.frobnicate %a, %a : tensor<2xf32>\n  return %0 : tensor<2xf32>\n}\n')).toBe(
      "bad.mlir:2:8: error[E0102]: unknown op 'stablehlo.frobnicate'",
    );
    expect(errorOf(HEAD + '  %0 = foo.bar %a : tensor<2xf32>\n  return %0 : tensor<2xf32>\n}\n')).toBe(
      "bad.mlir:2:8: error[E0103]: unknown op 'foo.bar'",
    );
  });

  it('type mismatch between a value and the type an op declares for it', () => {
    expect(errorOf(HEAD + '  %0 = stablehlo.add %a, %a : tensor<3xf32>\n  return %0 : tensor<3xf32>\n}\n')).toBe(
      "bad.mlir:2:22: error[E0102]: type mismatch: operand 0 of 'stablehlo.add' is declared tensor<3xf32> but %a is float32[2]",
    );
    expect(errorOf(HEAD + '  return %a : tensor<4xf32>\n}\n')).toBe(
      "bad.mlir:2:10: error[E0102]: type mismatch: operand 0 of 'func.return' is declared tensor<4xf32> but %a is float32[2]",
    );
  });

  it('undefined value', () => {
    expect(errorOf(HEAD + '  %0 = stablehlo.add %a, %b : tensor<2xf32>\n  return %0 : tensor<2xf32>\n}\n')).toBe(
      'bad.mlir:2:26: error[E0105]: use of undefined value %b',
    );
  });

  it('bad constants, operand counts and unsupported types', () => {
    expect(
      errorOf(
        HEAD + '  %0 = stablehlo.constant dense<[1.0, 2.0, 3.0]> : tensor<2xf32>\n  return %0 : tensor<2xf32>\n}\n',
      ),
    ).toBe('bad.mlir:2:27: error[E0102]: dense literal has 3 elements but its type tensor<2xf32> holds 2');
    expect(
      errorOf(
        HEAD +
          '  %0 = "stablehlo.add"(%a) : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>\n  return %0 : tensor<2xf32>\n}\n',
      ),
    ).toBe("bad.mlir:2:8: error[E0102]: 'stablehlo.add' has 1 operands but its type lists 2");
    expect(
      errorOf(
        'func.func @main(%a: tensor<2xcomplex<f32>>) -> tensor<2xcomplex<f32>> {\n  return %a : tensor<2xcomplex<f32>>\n}\n',
      ),
    ).toBe("bad.mlir:1:17: error[E0103]: argument 0 has unsupported complex element type 'complex<f32>'");
  });

  it('a result type that disagrees with shape inference is a diagnostic at the op', () => {
    const g = stablehloFromText(
      HEAD +
        '  %0 = stablehlo.add %a, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<3xf32>\n  return %0 : tensor<3xf32>\n}\n',
      'r.mlir',
    );
    const diags: Diagnostic[] = [];
    new ShapeInference(g, diags).run();
    const d = diags.find((x) => /declares/.test(x.message));
    expect(d?.message).toMatch(/inferred float32\[2\] but the model declares float32\[3\]/);
    expect(d?.loc).toMatchObject({ file: 'r.mlir', line: 2, col: 8 });
  });

  it('the CLI prints the error line and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fleetc-shlo-'));
    const p = join(dir, 'bad.mlir');
    writeFileSync(p, HEAD + '  %0 = stablehlo.add %a, %b : tensor<2xf32>\n  return %0 : tensor<2xf32>\n}\n');
    const r = await cli(['inspect', p]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${p}:2:26: error[E0105]: use of undefined value %b`);
  });
});
