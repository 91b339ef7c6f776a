// `float`: marks the cheap ops that any device of a shared-memory group may run (docs/floating.md).
// They stay in the partitioner's placement for pricing and for runs where the group's devices
// are not in one process; `schedule` puts them in every candidate's program, `insert-transfers`
// shares their values inside the group instead of sending them on channels, and fleetrt runs
// each on whichever candidate has it ready first.
import { need, targetOf, type Pass } from '../pass.js';
import { selectFloating, type FloatingOp } from './select.js';

export type { FloatingOp } from './select.js';
export { floatCandidates, floatingGroups } from './select.js';
/** The pass's defaults, for tools that ask before compiling (inspect). */
const MAX_WORK_US = 2;
export const FLOAT_DEFAULTS = { maxWork: MAX_WORK_US * 1e-6, maxBytes: 4096 } as const;

/**
 * A value shared inside a group instead of copied on a channel (plan.json `floating.values`):
 * made by a floating op (`from` null: whichever device ran it) or by a placed op that a floating
 * op reads (`from` its device), delivered to device `to`.
 */
export interface FloatingValue {
  /** Index in plan.json `floating.values`; program.bin endpoints use channels.length + id. */
  id: number;
  value: string;
  from: string | null;
  to: string;
  bytes: number;
}

export interface FloatingResult {
  ops: Map<string, FloatingOp>;
  /** Filled by `insert-transfers`. */
  values: FloatingValue[];
}

declare module '../pass.js' {
  interface PassResults {
    /** float: the ops any device of their group may run, and (after insert-transfers) the values they share. */
    floating?: FloatingResult;
  }
}

export const floatPass: Pass = {
  name: 'float',
  summary: 'let cheap ops (shape arithmetic, small element-wise) run on whichever cpu of their host is ready',
  kind: 'analysis',
  options: { maxWorkUs: MAX_WORK_US, maxBytes: FLOAT_DEFAULTS.maxBytes, interior: false },
  needs: ['partition'],
  provides: 'floating',
  needsTarget: true,
  run(graph, ctx, options) {
    const { fleet, cost, home } = targetOf(ctx, 'float');
    const part = need(ctx, 'partition', 'float');
    const ops = selectFloating(
      {
        graph,
        fleet,
        cost,
        home: fleet.devices[home]!.id,
        placement: part.placement,
        dims: ctx.dims,
        fixed: new Set(ctx.results.experts?.pins.keys() ?? []),
      },
      {
        maxWork: Number(options.maxWorkUs) * 1e-6,
        maxBytes: Number(options.maxBytes),
        interior: options.interior === true || options.interior === 'true',
      },
    );
    ctx.results.floating = { ops, values: [] };
    const groups = new Set([...ops.values()].map((f) => f.devices.join('+')));
    return { summary: `${ops.size} floating ops${groups.size ? ` among ${[...groups].join(', ')}` : ''}` };
  },
};
