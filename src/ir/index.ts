export * from './dtype.js';
export * from './sym.js';
export * from './types.js';
export { IRGraph, type AttrValue, type NodeAttrs, type OpAttrs, type OpSpec, type Use } from './graph.js';
export { verifyGraph, assertVerified, VerifyError, type VerifyProblem } from './verify.js';
export { graphToJSON, graphFromJSON, type GraphJSON } from './json.js';
export { printGraph } from './print.js';
export { readWeightBytes } from './weights.js';
