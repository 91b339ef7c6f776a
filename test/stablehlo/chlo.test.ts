import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileGraph } from '../../src/api/compile.js';
import { mlirCases } from '../../src/api/test-mlir.js';
import { FleetcError } from '../../src/diagnostics/index.js';
import { CHLO_OPS } from '../../src/frontends/stablehlo/chlo.js';
import { functionToIR } from '../../src/frontends/stablehlo/convert.js';
import { parseMLIR } from '../../src/frontends/stablehlo/parser.js';
import { BatchProcess, type BatchJob } from '../../runtime/batch.js';
import { findFleetrt } from '../../runtime/fleetrt.js';
import { HAVE_FLEETRT, tmp } from '../compile/helpers.js';
import { REPO } from '../paths.js';

/** The op mnemonics of stablehlo/dialect/ChloOps.td (openxla/stablehlo, 2026-08). */
const CHLO_DIALECT = [
  '_asin_acos_kernel',
  'acos',
  'acosh',
  'asin',
  'asinh',
  'atan',
  'atanh',
  'bessel_i1e',
  'broadcast_add',
  'broadcast_and',
  'broadcast_atan2',
  'broadcast_compare',
  'broadcast_complex',
  'broadcast_divide',
  'broadcast_maximum',
  'broadcast_minimum',
  'broadcast_multiply',
  'broadcast_next_after',
  'broadcast_or',
  'broadcast_polygamma',
  'broadcast_power',
  'broadcast_remainder',
  'broadcast_select',
  'broadcast_shift_left',
  'broadcast_shift_right_arithmetic',
  'broadcast_shift_right_logical',
  'broadcast_subtract',
  'broadcast_xor',
  'broadcast_zeta',
  'conj',
  'constant',
  'constant_like',
  'cosh',
  'digamma',
  'erf',
  'erf_inv',
  'erfc',
  'is_inf',
  'is_neg_inf',
  'is_pos_inf',
  'lgamma',
  'mulhi',
  'next_after',
  'polygamma',
  'ragged_dot',
  'scan',
  'sinh',
  'square',
  'tan',
  'top_k',
  'zeta',
];

const FIXTURES = join(REPO, 'fixtures', 'stablehlo', 'chlo');

/** The rows of the CHLO table in docs/frontend-stablehlo.md: op → [how, into, element types]. */
function docRows(): Map<string, string[]> {
  const text = readFileSync(join(REPO, 'docs', 'frontend-stablehlo.md'), 'utf8');
  const section = text.slice(text.indexOf('## CHLO'));
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n').slice(1)) {
    if (line.startsWith('## ')) break;
    const m = /^\|\s*`chlo\.([a-z_0-9]+)`\s*\|(.*)\|\s*$/.exec(line);
    if (m)
      rows.set(
        m[1]!,
        m[2]!.split('|').map((c) => c.trim().replace(/`/g, '')),
      );
  }
  return rows;
}

/** The chlo kernels registered in native/src/kernels. */
function chloKernels(): Set<string> {
  const dir = join(REPO, 'native', 'src', 'kernels');
  const out = new Set<string>();
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.cpp')))
    for (const m of readFileSync(join(dir, f), 'utf8').matchAll(/FLEETRT_REGISTER_KERNEL\("chlo",\s*"([a-z_0-9]+)"/g))
      out.add(m[1]!);
  return out;
}

describe('the CHLO coverage table', () => {
  it('covers the whole dialect, and nothing else', () => {
    expect(Object.keys(CHLO_OPS).sort()).toEqual([...CHLO_DIALECT].sort());
  });

  it('is the table docs/frontend-stablehlo.md lists', () => {
    const rows = docRows();
    expect([...rows.keys()].sort()).toEqual(Object.keys(CHLO_OPS).sort());
    for (const [op, info] of Object.entries(CHLO_OPS))
      expect(rows.get(op), op).toEqual([info.how, info.into, info.dtypes]);
  });

  it('kernel ops are exactly the chlo kernels; lowered ops have a lowering', () => {
    const kernels = Object.entries(CHLO_OPS)
      .filter(([, i]) => i.how === 'kernel')
      .map(([op]) => op);
    expect(kernels.sort()).toEqual([...chloKernels()].sort());
    for (const [op, info] of Object.entries(CHLO_OPS))
      if (info.how === 'onnx' || info.how === 'stablehlo')
        expect(info.rule !== undefined || op === 'constant', op).toBe(true);
  });

  it('every op that is not refused has a test program in fixtures/stablehlo/chlo', () => {
    const have = new Set(readdirSync(FIXTURES).map((f) => f.replace(/\.mlir$/, '')));
    const used = new Set<string>();
    for (const f of readdirSync(FIXTURES))
      for (const m of readFileSync(join(FIXTURES, f), 'utf8').matchAll(/"?chlo\.([a-z_0-9]+)"?[ (]/g)) used.add(m[1]!);
    for (const [op, info] of Object.entries(CHLO_OPS)) {
      if (info.how === 'refused') continue;
      expect(used.has(op) || have.has(op), `chlo.${op} has no test program`).toBe(true);
    }
  });

  it('complex-only ops, unknown chlo ops and wrong element types are compile-time errors', () => {
    const error = (body: string): string => {
      const text = `func.func @main(%a: tensor<2xf32>, %i: tensor<2xi32>) -> tensor<2xf32> {\n${body}\n  return %a : tensor<2xf32>\n}\n`;
      try {
        functionToIR(parseMLIR(text, 'bad.mlir'), parseMLIR(text, 'bad.mlir').funcs[0]!);
      } catch (e) {
        if (e instanceof FleetcError) return e.format();
        throw e;
      }
      return '';
    };
    expect(
      error('  %c = chlo.broadcast_complex %a, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xcomplex<f32>>'),
    ).toMatch(/bad\.mlir:2:\d+: error\[E0103\]: .*complex/);
    expect(error('  %c = chlo.frobnicate %a : tensor<2xf32> -> tensor<2xf32>')).toMatch(
      /bad\.mlir:2:\d+: error\[E0103\]: unsupported op 'chlo\.frobnicate'/,
    );
    expect(error('  %c = chlo.lgamma %i : tensor<2xi32> -> tensor<2xi32>')).toMatch(
      /bad\.mlir:2:\d+: error\[E0102\]: 'chlo\.lgamma' takes float operands, got tensor<2xi32>/,
    );
    expect(error('  %c = chlo.acosh %i : tensor<2xi32> -> tensor<2xi32>')).toMatch(/E0102.*takes float operands/);
    expect(error('  %c = chlo.broadcast_add %a, %i : (tensor<2xf32>, tensor<2xi32>) -> tensor<2xf32>')).toMatch(
      /E0102/,
    );
  });
});

/**
 * The test programs of fixtures/stablehlo/chlo (fixtures/gen/chlo_cases.py, references from
 * scipy/numpy) run with each check's ULP budget alone: `fleetc test` also accepts the JAX test
 * data's 1e-4 tolerance, this does not.
 */
describe.skipIf(!HAVE_FLEETRT)('CHLO test programs at their ULP budgets', () => {
  it('every case passes with tolerance 0', { timeout: 240_000 }, async () => {
    const work = tmp('fleetc-chlo-');
    const batch = new BatchProcess({ fleetrt: findFleetrt(), threads: 1 });
    const failures: string[] = [];
    let ran = 0;
    try {
      const jobs: Promise<void>[] = [];
      for (const f of readdirSync(FIXTURES).sort()) {
        for (const src of mlirCases(join(FIXTURES, f), f)) {
          const dir = join(work, src.name.replace(/[^\w.-]/g, '_'));
          mkdirSync(dir, { recursive: true });
          const prepared = await src.prepare(dir);
          const expected = prepared.dataSets[0]!.expected.map((e) =>
            e && typeof e === 'object' ? { ...e, rtol: 0, atol: 0 } : e,
          );
          const { planPath } = await compileGraph(prepared.graph, join(dir, 'build'), { force: true, report: false });
          const job: BatchJob = { id: src.name, plan: planPath, inputs: [], expected, rtol: 0, atol: 0 };
          ran++;
          jobs.push(
            batch.submit(job).then((r) => {
              if (r.status !== 'pass') failures.push(`${src.name}: ${r.status} ${r.message ?? ''}`);
            }),
          );
        }
      }
      await Promise.all(jobs);
    } finally {
      await batch.close();
    }
    expect(failures).toEqual([]);
    expect(ran).toBeGreaterThanOrEqual(90);
  });
});
