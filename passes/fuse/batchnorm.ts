import type { IRGraph } from '../../src/ir/graph.js';
import type { Pass } from '../pass.js';
import { addFloatWeight, outerReferenced, dropIfUnused, floatWeight, soleConsumer } from './util.js';

/**
 * Folds an inference BatchNormalization that is the only reader of a Conv's output into the
 * Conv's weights and bias: with s = scale / sqrt(var + eps), W'[m] = W[m]·s[m] and
 * B'[m] = (B[m] − mean[m])·s[m] + bias[m]. Needs all of W, B, scale, bias, mean, var as float32
 * weights; the Conv then writes the BatchNormalization's output. Returns the number folded.
 */
export function foldBatchNorm(graph: IRGraph): number {
  let folded = 0;
  const outer = outerReferenced(graph);
  for (const id of graph.topoOps()) {
    if (!graph.hasOp(id)) continue;
    const conv = graph.op(id);
    if (conv.opType !== 'Conv' || conv.domain !== '' || graph.subgraphs(id).length) continue;
    const [y] = graph.opOutputs(id);
    if (y === undefined || graph.opOutputs(id).length !== 1) continue;
    const use = soleConsumer(graph, y, outer);
    if (!use || use.slot !== 0) continue;
    const bn = graph.op(use.op);
    if (bn.opType !== 'BatchNormalization' || bn.domain !== '') continue;
    const training = bn.attrs.training_mode;
    const spatial = bn.attrs.spatial;
    if (training && training.type === 'int' && training.value !== 0) continue;
    if (spatial && spatial.type === 'int' && spatial.value !== 1) continue;
    const bnOuts = graph.opOutputs(use.op);
    const out = bnOuts[0];
    if (out === undefined || bnOuts.slice(1).some((v) => v !== undefined && graph.consumers(v).length)) continue;
    if (bnOuts.slice(1).some((v) => v !== undefined && graph.outputs.includes(v))) continue;
    const ins = graph.opInputs(id);
    const [xName, wName, bName] = ins;
    const w = floatWeight(graph, wName);
    const wShape = wName !== undefined ? graph.value(wName).shape : null;
    if (!w || !wShape || typeof wShape[0] !== 'number' || xName === undefined) continue;
    const M = wShape[0];
    const bnIns = graph.opInputs(use.op);
    const params = [1, 2, 3, 4].map((i) => floatWeight(graph, bnIns[i]));
    const b = bName !== undefined ? floatWeight(graph, bName) : new Float32Array(M);
    if (!b || b.length !== M || params.some((p) => !p || p.length !== M) || w.length % M !== 0) continue;
    const [scale, shift, mean, variance] = params as [Float32Array, Float32Array, Float32Array, Float32Array];
    const epsAttr = bn.attrs.epsilon;
    const eps = epsAttr && epsAttr.type === 'float' ? epsAttr.value : 1e-5;
    const per = w.length / M;
    const w2 = new Float32Array(w.length);
    const b2 = new Float32Array(M);
    for (let m = 0; m < M; m++) {
      const s = scale[m]! / Math.sqrt(variance[m]! + Math.fround(eps));
      for (let k = 0; k < per; k++) w2[m * per + k] = w[m * per + k]! * s;
      b2[m] = (b[m]! - mean[m]!) * s + shift[m]!;
    }
    const base = conv.name.replace(/[^A-Za-z0-9_./-]/g, '_');
    const wNew = addFloatWeight(graph, `${base}.folded_W`, w2, wShape as number[]);
    const bNew = addFloatWeight(graph, `${base}.folded_B`, b2, [M]);
    graph.removeOp(use.op);
    graph.removeOp(id);
    graph.addOp(
      { opType: 'Conv', domain: '', opset: conv.opset, attrs: conv.attrs, loc: conv.loc, name: conv.name },
      [xName, wNew, bNew],
      [out],
    );
    for (const v of [y, wName, bName, ...bnIns.slice(1), ...bnOuts.slice(1)]) dropIfUnused(graph, v, outer);
    folded++;
  }
  return folded;
}

export const foldBatchNormPass: Pass = {
  name: 'fold-batchnorm',
  summary: 'fold inference BatchNormalization into the preceding Conv weights',
  kind: 'transform',
  options: {},
  run(graph) {
    const n = foldBatchNorm(graph);
    return { changed: n > 0, summary: `${n} BatchNormalization folded into Conv` };
  },
};
