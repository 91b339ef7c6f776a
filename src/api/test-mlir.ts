/**
 * The `.mlir` hook of `fleetc test`: a StableHLO test file becomes one case per public function
 * (src/frontends/stablehlo splits `// -----` chunks and finds the `check.*` expectations). Each
 * expected constant is written as a TensorProto for fleetrt's batch mode to compare with.
 */
import { join } from 'node:path';
import { loadStablehloCases, type StablehloCase, type StablehloCheck } from '../frontends/stablehlo/index.js';
import { dtypeCode } from '../ir/dtype.js';
import { FleetcError } from '../diagnostics/index.js';
import type { BatchJob } from '../../runtime/batch.js';
import { CaseError, writeTensorProto, type CaseSource, type PreparedCase } from './test-case.js';

/** StableHLO's default ULP budget for expect_close (mirrors the frontend's checker). */
const DEFAULT_MAX_ULP = 4;

function expectation(c: StablehloCheck, outputs: string[], file: string): BatchJob['expected'][number] {
  const tol = c.kind === 'eq' ? { rtol: 0, atol: 0 } : { rtol: c.rtol ?? 0, atol: c.atol ?? 0 };
  const ulp = c.kind === 'close' ? { ulp: c.maxUlp ?? DEFAULT_MAX_ULP } : {};
  if (c.expectedOutput !== undefined) {
    const k = outputs.indexOf(c.expectedOutput);
    if (k < 0)
      throw new FleetcError('E0102', `check compares with '${c.expectedOutput}', which is not a case output`, c.loc);
    return { output: k, ...tol, ...ulp };
  }
  return { file, ...tol, ...ulp };
}

function prepare(tc: StablehloCase, dir: string): PreparedCase {
  if (!tc.graph) {
    const why = tc.unsupported ?? 'the case has no graph';
    // The frontend's text is often a whole diagnostic line already (with the exact place).
    if (/error\[E\d+\]: /.test(why)) throw new CaseError(why);
    throw new FleetcError('E0103', why, tc.loc);
  }
  const outputs = tc.graph.outputs;
  const expected = outputs.map((name, i) => {
    const c = tc.checks.find((x) => x.output === name);
    if (!c) return null;
    const file = join(dir, `expected_${i}.pb`);
    if (c.expected) writeTensorProto(file, dtypeCode(c.expected.dtype), c.expected.shape, c.expected.data);
    return expectation(c, outputs, file);
  });
  return { graph: tc.graph, dataSets: [{ id: 'checks', inputs: [], expected }] };
}

/** One case source per function of the file; out-of-scope cases carry their skip reason. */
export function mlirCases(path: string, display: string): CaseSource[] {
  const suite = display.split('/').at(-2) ?? '';
  let cases: StablehloCase[];
  try {
    cases = loadStablehloCases(path, display);
  } catch (e) {
    // A file that does not parse is one failing case, not the end of the whole run.
    const name = display.split('/').at(-1) ?? display;
    return [
      {
        name,
        suite,
        domain: 'stablehlo',
        prepare: () => {
          throw e;
        },
      },
    ];
  }
  return cases.map((tc) => ({
    name: tc.name,
    suite,
    domain: 'stablehlo',
    skip: tc.skip !== undefined ? (tc.unsupported ?? tc.skip) : undefined,
    prepare: (dir: string) => prepare(tc, dir),
  }));
}
