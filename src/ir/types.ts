import type { DType } from './dtype.js';
import type { Shape } from './sym.js';

export type ValueRole = 'input' | 'output' | 'weight' | 'state' | 'intermediate' | 'outer';

/** Where an op or value came from in the user's model. */
export interface SourceLoc {
  file: string;
  /** ONNX: node name and index in its graph; MLIR: line and column. */
  node?: string;
  index?: number;
  line?: number;
  col?: number;
}

/**
 * Bytes of a weight, without holding them: raw little-endian element data in a file
 * (`file`), small data held by the IR itself (`inline`, e.g. typed proto fields or folded
 * constants), or values nobody knows yet (`elided`, StableHLO `dense_resource<__elided__>`).
 */
export type WeightRef =
  | { kind: 'file'; path: string; offset: number; length: number }
  | { kind: 'inline'; data: Uint8Array }
  | { kind: 'elided' };

export interface ValueAttrs {
  kind: 'value';
  name: string;
  dtype: DType | null;
  /** null: rank unknown. */
  shape: Shape | null;
  role: ValueRole;
  weight?: WeightRef;
  /** Sequence/optional/map values (ONNX non-tensor types): the element type. */
  container?: 'sequence' | 'optional' | 'map';
  placement?: string;
  doc?: string;
}

/** A constant tensor held in an attribute (ONNX Constant value, ConstantOfShape value, …). */
export interface TensorConst {
  dtype: DType;
  shape: number[];
  ref: WeightRef;
}

/** Edge value→op: input slot; edge op→value: output slot. */
export interface EdgeAttrs {
  slot: number;
}

export interface GraphAttrs {
  name: string;
  /** Ordered graph inputs and outputs (value names). */
  inputs: string[];
  outputs: string[];
  /** Model-level facts, kept on the top-level graph. */
  meta: ModelMeta;
}

export interface ModelMeta {
  format: 'onnx' | 'stablehlo' | 'ir';
  file: string;
  producer?: string;
  producerVersion?: string;
  irVersion?: number;
  opsets: Record<string, number>;
  doc?: string;
}
