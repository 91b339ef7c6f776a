import { extname } from 'node:path';
import { FleetcError } from '../diagnostics/index.js';
import type { IRGraph } from '../ir/graph.js';
import { loadOnnx } from './onnx/index.js';
import { loadStablehlo } from './stablehlo/index.js';

export { loadOnnx, type LoadOnnxOptions } from './onnx/index.js';

type Loader = (path: string) => IRGraph;

/** Model loaders by file extension (lower case, with the dot). */
const LOADERS: Record<string, Loader> = {
  '.onnx': (p) => loadOnnx(p),
  '.mlir': (p) => loadStablehlo(p),
};

/** Loads a model file into the IR, choosing the frontend by extension. */
export function loadModel(path: string): IRGraph {
  const ext = extname(path).toLowerCase();
  const loader = Object.prototype.hasOwnProperty.call(LOADERS, ext) ? LOADERS[ext] : undefined;
  if (!loader)
    throw new FleetcError(
      'E0101',
      `cannot tell the model format from the extension '${ext || '(none)'}' (known: ${Object.keys(LOADERS).join(', ')})`,
      { file: path },
    );
  return loader(path);
}
