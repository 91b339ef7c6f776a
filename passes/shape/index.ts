import type { Pass } from '../pass.js';
import { foldGraph } from './fold.js';
import { ShapeInference, type ShapeResults } from './infer.js';

export { ShapeInference, type ShapeResults } from './infer.js';
export { supportedOps, SHAPE_FNS } from './table.js';
export { evaluatedOps } from './eval/index.js';
export type { Known, VType } from './types.js';

declare module '../pass.js' {
  interface PassResults {
    /** infer-shapes, fold: what shape inference knows of every value. */
    shapes?: ShapeResults;
  }
}

export const inferShapesPass: Pass = {
  name: 'infer-shapes',
  summary: 'assign element types and symbolic shapes to every value; fold shape arithmetic symbolically',
  kind: 'transform',
  provides: 'shapes',
  options: { limit: 65536 },
  run(graph, ctx, options) {
    const inf = new ShapeInference(graph, ctx.diagnostics, { limit: Number(options.limit) });
    inf.run();
    ctx.results.shapes = inf.results;
    let typed = 0;
    let total = 0;
    graph.g.forEachNode((_k, a) => {
      if (a.kind !== 'value') return;
      total++;
      if (a.dtype && a.shape) typed++;
    });
    const unsupported = [...inf.results.unsupported.keys()].sort();
    return {
      changed: true,
      summary: `typed ${typed}/${total} values${unsupported.length ? `; no shape function for ${unsupported.join(', ')}` : ''}`,
    };
  },
};

export const foldPass: Pass = {
  name: 'fold',
  summary: 'replace ops with constant results (constant inputs, static shape arithmetic) by weights',
  kind: 'transform',
  provides: 'shapes',
  options: { 'max-elements': 65536 },
  run(graph, ctx, options) {
    const max = Number(options['max-elements']);
    const inf = new ShapeInference(graph, [], { limit: max, floatLimit: max });
    inf.run();
    const stats = foldGraph(graph, inf.results.knowns.get(graph) ?? new Map(), max);
    // Later passes see the knowns of the folded graph.
    const after = new ShapeInference(graph, [], { limit: max, floatLimit: max });
    after.run();
    ctx.results.shapes = after.results as ShapeResults;
    return { changed: stats.folded > 0, summary: `folded ${stats.folded} ops, removed ${stats.removed} dead ops` };
  },
};

/** The passes of this folder, for the registry. */
export const SHAPE_PASSES: Record<string, Pass> = { 'infer-shapes': inferShapesPass, fold: foldPass };
