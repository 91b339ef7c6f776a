import { mul, type Dim } from '../../src/ir/sym.js';
import { TRANSCENDENTAL as T } from './flops-units.js';
import type { OpView } from './opview.js';

/**
 * FLOPs of the StableHLO ops that stay `stablehlo.*` in the IR (the rest become ONNX ops and
 * are priced by flops.ts). Same conventions: 1 per arithmetic op per element, TRANSCENDENTAL for
 * exp/log/trig, 0 for data movement. Ops with bodies (while, if, case, map, select_and_scatter)
 * and dynamic dot_general/convolution stay unpriced (null): their cost depends on data.
 */
const ARITHMETIC = new Set([
  'abs',
  'negate',
  'sign',
  'not',
  'popcnt',
  'count_leading_zeros',
  'floor',
  'ceil',
  'round_nearest_afz',
  'round_nearest_even',
  'is_finite',
  'reduce_precision',
  'add',
  'subtract',
  'multiply',
  'divide',
  'remainder',
  'maximum',
  'minimum',
  'and',
  'or',
  'xor',
  'shift_left',
  'shift_right_logical',
  'shift_right_arithmetic',
  'compare',
  'select',
  'clamp',
]);
// Read at call time: flops.ts imports this module, so its constants are not ready at load.
const TRANSCENDENTALS = new Set([
  'sqrt',
  'rsqrt',
  'cbrt',
  'exponential',
  'exponential_minus_one',
  'log',
  'log_plus_one',
  'logistic',
  'sine',
  'cosine',
  'tan',
  'tanh',
  'atan',
  'atan2',
  'power',
]);

const MOVEMENT = new Set([
  'iota',
  'dynamic_iota',
  'reverse',
  'pad',
  'dynamic_slice',
  'dynamic_update_slice',
  'gather',
  'dynamic_gather',
  'scatter',
  'bitcast_convert',
  'get_dimension_size',
  'broadcast_in_dim',
  'dynamic_broadcast_in_dim',
  'dynamic_reshape',
  'convert',
  'slice',
  'concatenate',
  'transpose',
  'reshape',
]);

export function stablehloFlops(v: OpView): Dim | null {
  const t = v.op.opType.replace(/^stablehlo\./, '');
  if (MOVEMENT.has(t)) return 0;
  const w = ARITHMETIC.has(t) ? 1 : TRANSCENDENTALS.has(t) ? T : undefined;
  if (w !== undefined) {
    const n = v.outNumel(0);
    return n === null ? null : mul(n, w);
  }
  // reduce: one body application per input element folded in; sort: n·log2(n) comparisons.
  if (t === 'reduce') return v.inNumel(0);
  if (t === 'reduce_window') {
    const n = v.outNumel(0);
    const win = v.ints('window_dimensions');
    return n === null || !win
      ? null
      : mul(
          n,
          win.reduce((a, b) => a * b, 1),
        );
  }
  if (t === 'sort') {
    const n = v.inNumel(0);
    return typeof n === 'number' ? Math.round(n * Math.max(1, Math.log2(Math.max(2, n)))) : null;
  }
  return null;
}
