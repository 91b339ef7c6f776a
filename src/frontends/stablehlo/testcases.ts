import { FleetcError } from '../../diagnostics/index.js';
import { bfloat16ToNumber, halfToNumber, numberToHalf, type DType } from '../../ir/dtype.js';
import type { IRGraph } from '../../ir/graph.js';
import type { SourceLoc } from '../../ir/types.js';
import { verifyGraph } from '../../ir/verify.js';
import type { MOp, MModule } from './ast.js';
import { functionToIR, isCheckOp, type Emitter } from './convert.js';
import { opName, type Scope } from './lowering.js';
import { DenseError, denseBytes, encodeDense } from './dense.js';
import { readMLIR } from './read.js';
import { decodeMinifloat, isMinifloat } from './minifloat.js';
import { parseMLIR } from './parser.js';
import { referencedFunctions, SKIP_CATEGORIES, skipCategoryOf } from './scope.js';

/** A tensor's raw little-endian bytes (4-bit types packed two per byte, low nibble first). */
export interface TensorData {
  dtype: DType;
  shape: number[];
  data: Uint8Array;
}

/**
 * One expectation of a test case. `output` is a graph output; the value it must match is either
 * a constant (`expected`) or another graph output (`expectedOutput`, for `check.expect_eq %a, %b`
 * where %b is computed). Tolerances (see evaluateCheck):
 *   eq:        bit-exact (floats: equal, or both NaN)
 *   almost_eq: |got - want| <= atol + rtol * |want|  (check's `tolerance`, default 1e-4, as both)
 *   close:     ULP distance <= maxUlp, or the almost_eq rule with rtol/atol
 */
export interface StablehloCheck {
  output: string;
  kind: 'eq' | 'almost_eq' | 'close';
  expected?: TensorData;
  expectedOutput?: string;
  rtol?: number;
  atol?: number;
  maxUlp?: number;
  /** The check op's place in the file. */
  loc: SourceLoc;
}

export interface StablehloCase {
  /** `file.mlir#func` (with a counter where a file repeats a name). */
  name: string;
  loc: SourceLoc;
  graph?: IRGraph;
  checks: StablehloCheck[];
  /** Why this case cannot be compiled; set together with `skip` when the case is out of scope. */
  unsupported?: string;
  /** The out-of-scope category (test/conformance/stablehlo-skips.json) when there is one. */
  skip?: string;
}

const DEFAULT_TOLERANCE = 1e-4;
const DEFAULT_MAX_ULP = 4;

/**
 * Splits a StableHLO test file on `// -----` and turns each public function into a case: a graph
 * whose outputs are the values its `check.*` ops (or `stablehlo.custom_call @check.*`) look at,
 * plus the expected values. A case the frontend cannot take comes back with `unsupported`; a
 * malformed file is an error (FleetcError) as for any model.
 */
export function loadStablehloCases(path: string, display = path): StablehloCase[] {
  return stablehloCasesFromText(readMLIR(path), display);
}

export function stablehloCasesFromText(text: string, file: string): StablehloCase[] {
  const out: StablehloCase[] = [];
  const names = new Map<string, number>();
  const base = file.slice(file.lastIndexOf('/') + 1);
  for (const chunk of splitCases(text)) {
    if (!/\S/.test(chunk.text.replace(/\/\/.*$/gm, ''))) continue;
    const mod = parseMLIR('\n'.repeat(chunk.line - 1) + chunk.text, file);
    const refs = referencedFunctions(mod);
    const skip = skipCategoryOf(mod);
    for (const fn of mod.funcs) {
      if (fn.visibility !== 'public' || !fn.body || refs.has(fn.name)) continue;
      const n = names.get(fn.name) ?? 0;
      names.set(fn.name, n + 1);
      const name = `${base}#${fn.name}${n ? `.${n + 1}` : ''}`;
      const loc = { file, line: fn.pos.line, col: fn.pos.col };
      if (skip) out.push({ name, loc, checks: [], unsupported: `${skip.what}: ${skip.reason}`, skip: skip.id });
      else out.push(buildCase(mod, fn.name, name, loc));
    }
  }
  return out;
}

/** Chunks between `// -----` lines, each with the line it starts on. */
export function splitCases(text: string): { text: string; line: number }[] {
  const lines = text.split('\n');
  const chunks: { text: string; line: number }[] = [];
  let start = 0;
  for (let i = 0; i <= lines.length; i++) {
    if (i === lines.length || /^\/\/ -----\s*$/.test(lines[i]!)) {
      chunks.push({ text: lines.slice(start, i).join('\n'), line: start + 1 });
      start = i + 1;
    }
  }
  return chunks;
}

function buildCase(mod: MModule, fnName: string, name: string, loc: SourceLoc): StablehloCase {
  const checks: PendingCheck[] = [];
  let graph: IRGraph;
  try {
    const fn = mod.funcs.find((f) => f.name === fnName)!;
    graph = functionToIR(mod, fn, { hook: (op, cx, scope) => collectCheck(op, cx, scope, checks) });
  } catch (e) {
    if (e instanceof FleetcError && e.code === 'E0103') return { name, loc, checks: [], unsupported: e.format() };
    throw e;
  }
  const finals = checks.map((c) => finishCheck(graph, c));
  const problems = verifyGraph(graph);
  if (problems.length) throw new Error(`internal: test case ${name} built an invalid graph: ${problems[0]!.message}`);
  if (!finals.length) {
    const cat = SKIP_CATEGORIES.find((c) => c.id === 'no-checks')!;
    return { name, loc, checks: [], unsupported: cat.reason, skip: cat.id };
  }
  return { name, loc, graph, checks: finals };
}

interface PendingCheck {
  kind: StablehloCheck['kind'];
  value: string;
  expectedValue?: string;
  expected?: TensorData;
  tolerance?: number;
  maxUlp?: number;
  loc: SourceLoc;
}

function numAttr(op: MOp, name: string): number | undefined {
  const a = op.attrs[name];
  return a?.k === 'float' || a?.k === 'int' ? a.v : undefined;
}

/** The op hook: records a check op instead of lowering it. */
function collectCheck(op: MOp, cx: Emitter, scope: Scope, out: PendingCheck[]): boolean {
  if (!isCheckOp(op)) return false;
  const target = op.name === 'stablehlo.custom_call' ? (op.attrs['call_target_name'] as { v: string }).v : op.name;
  const short = target.slice('check.'.length);
  const loc = cx.loc(op.pos, op.userLoc);
  const operands = op.operands.map((k, i) => cx.use(scope, k, op.operandPos[i]!));
  cx.checkOperandTypes(op, operands);
  const kind: StablehloCheck['kind'] | undefined = short.startsWith('expect_eq')
    ? 'eq'
    : short.startsWith('expect_almost_eq')
      ? 'almost_eq'
      : short.startsWith('expect_close')
        ? 'close'
        : undefined;
  if (!kind) throw cx.err(op.pos, `unsupported check '${target}'`, 'E0103');
  const c: PendingCheck = { kind, value: operands[0]!, loc };
  const tol = numAttr(op, 'tolerance');
  if (tol !== undefined) c.tolerance = tol;
  const ulp = numAttr(op, 'max_ulp_difference');
  if (ulp !== undefined) c.maxUlp = ulp;
  if (short.endsWith('_const')) {
    const v = op.attrs['value'];
    if (v?.k !== 'dense') throw cx.err(op.pos, `'${target}' needs a dense<…> constant`);
    try {
      const d = encodeDense(v);
      c.expected = { dtype: d.dtype, shape: d.shape, data: denseBytes(d) };
    } catch (e) {
      if (e instanceof DenseError) throw cx.err(v.pos, e.message, e.unsupported ? 'E0103' : 'E0102');
      throw e;
    }
  } else {
    if (operands.length !== 2) throw cx.err(op.pos, `'${target}' compares two values, got ${operands.length}`);
    const exp = cx.constBytes(operands[1]!);
    if (exp && exp.shape.every((d) => typeof d === 'number'))
      c.expected = { dtype: exp.dtype, shape: exp.shape as number[], data: exp.bytes };
    else c.expectedValue = operands[1]!;
  }
  if (!op.operands[0]) throw cx.err(op.pos, `'${target}' has no operand`);
  out.push(c);
  return true;
}

/** Makes the checked value a graph output (through an Identity when it is an input or weight). */
function asOutput(graph: IRGraph, v: string): string {
  if (graph.outputs.includes(v)) return v;
  const val = graph.value(v);
  if (val.role === 'intermediate') {
    graph.updateValue(v, { role: 'output' });
    graph.outputs = [...graph.outputs, v];
    return v;
  }
  const name = graph.freshValueName(`${v}_out`);
  graph.addValue({ name, dtype: val.dtype, shape: val.shape, role: 'output' });
  graph.addOp(
    { opType: 'Identity', opset: 18, loc: { file: graph.meta.file }, name: opName('Identity', [name]) },
    [v],
    [name],
  );
  graph.outputs = [...graph.outputs, name];
  return name;
}

function finishCheck(graph: IRGraph, c: PendingCheck): StablehloCheck {
  const check: StablehloCheck = { output: asOutput(graph, c.value), kind: c.kind, loc: c.loc };
  if (c.expected) check.expected = c.expected;
  if (c.expectedValue) check.expectedOutput = asOutput(graph, c.expectedValue);
  if (c.kind === 'almost_eq' || c.kind === 'close') {
    const tol = c.tolerance ?? DEFAULT_TOLERANCE;
    check.rtol = tol;
    check.atol = tol;
  }
  if (c.kind === 'close') check.maxUlp = c.maxUlp ?? DEFAULT_MAX_ULP;
  return check;
}

// -- evaluation ---------------------------------------------------------------------------------

/** Elements of a tensor as numbers (floats) or bigints (integers, bool). */
function elements(t: TensorData): (number | bigint)[] {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const dv = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const out: (number | bigint)[] = [];
  for (let i = 0; i < n; i++) {
    switch (t.dtype) {
      case 'float32':
        out.push(dv.getFloat32(i * 4, true));
        break;
      case 'float64':
        out.push(dv.getFloat64(i * 8, true));
        break;
      case 'float16':
        out.push(halfToNumber(dv.getUint16(i * 2, true)));
        break;
      case 'bfloat16':
        out.push(bfloat16ToNumber(dv.getUint16(i * 2, true)));
        break;
      case 'bool':
        out.push(BigInt(dv.getUint8(i) ? 1 : 0));
        break;
      case 'int8':
        out.push(BigInt(dv.getInt8(i)));
        break;
      case 'uint8':
        out.push(BigInt(dv.getUint8(i)));
        break;
      case 'int16':
        out.push(BigInt(dv.getInt16(i * 2, true)));
        break;
      case 'uint16':
        out.push(BigInt(dv.getUint16(i * 2, true)));
        break;
      case 'int32':
        out.push(BigInt(dv.getInt32(i * 4, true)));
        break;
      case 'uint32':
        out.push(BigInt(dv.getUint32(i * 4, true)));
        break;
      case 'int64':
        out.push(dv.getBigInt64(i * 8, true));
        break;
      case 'uint64':
        out.push(dv.getBigUint64(i * 8, true));
        break;
      case 'int4':
      case 'uint4': {
        const nib = (t.data[i >> 1]! >> ((i & 1) * 4)) & 15;
        out.push(BigInt(t.dtype === 'int4' && nib >= 8 ? nib - 16 : nib));
        break;
      }
      case 'int2':
      case 'uint2': {
        const v = (t.data[i >> 2]! >> ((i & 3) * 2)) & 3;
        out.push(BigInt(t.dtype === 'int2' && v >= 2 ? v - 4 : v));
        break;
      }
      default:
        if (!isMinifloat(t.dtype)) throw new Error(`cannot compare ${t.dtype} tensors`);
        out.push(
          decodeMinifloat(t.dtype, t.dtype === 'float4e2m1' ? (t.data[i >> 1]! >> ((i & 1) * 4)) & 15 : t.data[i]!),
        );
    }
  }
  return out;
}

/** Ordered integer key of a float's bits, for ULP distances. */
function ulpKey(v: number, dtype: DType): bigint {
  if (dtype === 'float64') {
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, v);
    const b = dv.getBigUint64(0);
    return b & (1n << 63n) ? -(b & ((1n << 63n) - 1n)) : b;
  }
  const dv = new DataView(new ArrayBuffer(4));
  dv.setFloat32(0, v);
  let b = dv.getUint32(0);
  if (dtype === 'float16' || dtype === 'bfloat16') {
    // Distances in the narrow type: drop the bits the type does not have.
    b = dtype === 'bfloat16' ? b >>> 16 : numberToHalf(v);
    return BigInt(b & 0x8000 ? -(b & 0x7fff) : b & 0x7fff);
  }
  return BigInt(b & 0x80000000 ? -(b & 0x7fffffff) : b);
}

/**
 * Compares a computed tensor with a check's expectation; `other` is the value of
 * `expectedOutput` when the check has one. Returns undefined when the check holds, else why not.
 */
export function evaluateCheck(check: StablehloCheck, got: TensorData, other?: TensorData): string | undefined {
  const want = check.expected ?? other;
  if (!want) return `no expected value for ${check.output}`;
  if (got.dtype !== want.dtype) return `${check.output}: element type ${got.dtype}, expected ${want.dtype}`;
  if (got.shape.join('x') !== want.shape.join('x'))
    return `${check.output}: shape [${got.shape.join(', ')}], expected [${want.shape.join(', ')}]`;
  const a = elements(got);
  const b = elements(want);
  for (let i = 0; i < b.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (typeof x === 'bigint' || typeof y === 'bigint') {
      if (x !== y) return `${check.output}[${i}] = ${x}, expected ${y}`;
      continue;
    }
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (check.kind === 'eq') {
      if (!(x === y && Object.is(x, 0) === Object.is(y, 0))) return `${check.output}[${i}] = ${x}, expected ${y}`;
      continue;
    }
    if (x === y) continue;
    if (!Number.isFinite(x) || !Number.isFinite(y)) return `${check.output}[${i}] = ${x}, expected ${y}`;
    const tolOk = Math.abs(x - y) <= (check.atol ?? 0) + (check.rtol ?? 0) * Math.abs(y);
    if (tolOk) continue;
    if (check.kind === 'close' && Number.isFinite(x) && Number.isFinite(y)) {
      const d = ulpKey(x, got.dtype) - ulpKey(y, got.dtype);
      if ((d < 0n ? -d : d) <= BigInt(check.maxUlp ?? DEFAULT_MAX_ULP)) continue;
    }
    return `${check.output}[${i}] = ${x}, expected ${y} (${check.kind}, rtol ${check.rtol}, atol ${check.atol}${check.maxUlp !== undefined ? `, max ${check.maxUlp} ulp` : ''})`;
  }
  return undefined;
}
