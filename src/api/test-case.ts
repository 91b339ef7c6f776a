// What a test case is, for every kind of test source (ONNX test folders in test-runner.ts,
// StableHLO test files in test-mlir.ts): its graph, its data sets and how it fails.
import { writeFileSync } from 'node:fs';
import type { BatchJob } from '../../runtime/batch.js';
import type { IRGraph } from '../ir/graph.js';

/** One runnable case: how to get its graph and its data sets. */
export interface PreparedCase {
  graph: IRGraph;
  dataSets: { id: string; inputs: string[]; expected: BatchJob['expected'] }[];
  rtol?: number;
  atol?: number;
}

export interface CaseSource {
  name: string;
  suite: string;
  domain: string;
  /** Loads the model and lists its data sets; `dir` is a scratch folder for files it must write. */
  prepare(dir: string): PreparedCase | Promise<PreparedCase>;
  /** Set when the source already knows the case cannot run (e.g. an out-of-scope StableHLO case). */
  skip?: string;
}

/** A case that cannot run, with a message already formatted as a diagnostic line. */
export class CaseError extends Error {}

/** Writes expected tensors (raw bytes) as ONNX TensorProto files, which fleetrt reads for any dtype. */
export function writeTensorProto(path: string, dtypeCode: number, shape: number[], raw: Uint8Array): void {
  const parts: number[] = [];
  const varint = (v: number): void => {
    let x = BigInt(v);
    if (x < 0n) x += 1n << 64n;
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x > 0n) b |= 0x80;
      parts.push(b);
    } while (x > 0n);
  };
  for (const d of shape) {
    parts.push(0x08);
    varint(d);
  }
  parts.push(0x10);
  varint(dtypeCode);
  parts.push(0x4a);
  varint(raw.length);
  writeFileSync(path, Buffer.concat([Buffer.from(parts), Buffer.from(raw)]));
}
