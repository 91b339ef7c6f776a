import type { SourceLoc } from '../ir/types.js';

/**
 * Stable diagnostic codes. Add new codes at the end of their block; never renumber.
 *   E01xx  model files (ONNX, MLIR): unreadable, malformed, unsupported
 *   E02xx  IR and shape inference
 *   E03xx  fleet files and placement constraints
 *   E04xx  compile budgets and plans
 *   E05xx  running plans and bundles
 *   E06xx  generation and serving
 *   E09xx  command line
 */
export const CODES = {
  E0101: 'model file cannot be read',
  E0102: 'model file is malformed',
  E0103: 'model uses something fleetc does not support',
  E0104: 'external data is missing or outside the model folder',
  E0105: 'graph structure is invalid (dangling value, cycle, duplicate definition)',
  E0201: 'shape or type inference failed',
  E0202: 'IR verification failed',
  E0203: 'operator is not supported',
  E0301: 'fleet file is invalid',
  E0302: 'placement is impossible',
  E0303: 'a pin names a device that cannot run the op',
  E0304: 'routing counts or an expert placement (--routing, --placement, run metrics) are invalid',
  E0305: 'a calibration, or the run metrics and build it is fitted from, are invalid',
  E0306: 'a calibration was measured on another fleet or other devices',
  E0401: 'plan misses a budget',
  E0501: 'plan or bundle is invalid',
  E0502: 'run input is invalid',
  E0503: 'runtime failure',
  E0504: 'a build cannot be exported as ONNX (an op without an ONNX form)',
  E0601: 'the model cannot be driven as a decoder (no KV state, or inputs the engine cannot feed)',
  E0602: 'a generation request is invalid',
  E0603: 'serving cannot go on (address in use, or the devices left cannot run the model)',
  E0901: 'bad command-line usage',
} as const;

export type DiagnosticCode = keyof typeof CODES;

/**
 * A user-facing error: one line naming the file, the place in it and what is wrong. Exit code 1
 * (the user's input is at fault); anything else that escapes is an internal error (exit 2).
 */
export class FleetcError extends Error {
  constructor(
    readonly code: DiagnosticCode,
    message: string,
    readonly loc?: Partial<SourceLoc>,
    readonly notes: string[] = [],
  ) {
    super(message);
    this.name = 'FleetcError';
  }

  /** `file:line:col: error[E0102]: message` or `file (node 'x' #3): error[…]: message`. */
  format(): string {
    return `${formatLoc(this.loc)}error[${this.code}]: ${this.message}`;
  }
}

export function formatLoc(loc?: Partial<SourceLoc>): string {
  if (!loc?.file) return '';
  let s = loc.file;
  if (loc.line !== undefined) s += `:${loc.line}${loc.col !== undefined ? `:${loc.col}` : ''}`;
  else if (loc.node !== undefined || loc.index !== undefined) {
    const parts = [loc.node ? `node '${loc.node}'` : '', loc.index !== undefined ? `#${loc.index}` : ''].filter(
      Boolean,
    );
    s += ` (${parts.join(' ')})`;
  }
  return `${s}: `;
}

export function isFleetcError(e: unknown): e is FleetcError {
  return e instanceof FleetcError;
}

/** Warnings and notes collected while compiling; printed by the CLI, returned by the API. */
export interface Diagnostic {
  severity: 'warning' | 'note';
  code?: DiagnosticCode;
  message: string;
  loc?: Partial<SourceLoc>;
}
