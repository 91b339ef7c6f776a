import type { IRGraph } from '../../ir/graph.js';
import { verifyGraph } from '../../ir/verify.js';
import { moduleToIR } from './convert.js';
import { parseMLIR } from './parser.js';
import { readMLIR } from './read.js';

export { parseMLIR } from './parser.js';
export { readMLIR } from './read.js';
export { moduleToIR, functionToIR } from './convert.js';
export { loadStablehloCases, evaluateCheck, type StablehloCase, type StablehloCheck } from './testcases.js';

export interface LoadStablehloOptions {
  /** Entry function; default `main`, else the first public function. */
  entry?: string;
}

/**
 * Loads a StableHLO module (pretty or generic MLIR text) into the IR: the entry function's
 * arguments are graph inputs, its results the outputs, private functions are inlined. See
 * docs/frontend-stablehlo.md.
 */
export function loadStablehlo(path: string, options: LoadStablehloOptions = {}): IRGraph {
  return stablehloFromText(readMLIR(path), path, options);
}

export function stablehloFromText(text: string, file: string, options: LoadStablehloOptions = {}): IRGraph {
  const mod = parseMLIR(text, file);
  const graph = moduleToIR(mod, options.entry ? { entry: options.entry } : {});
  const problems = verifyGraph(graph);
  if (problems.length)
    throw new Error(`internal: the StableHLO frontend built an invalid graph: ${problems[0]!.message}`);
  return graph;
}
