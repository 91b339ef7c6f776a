import { readFileSync } from 'node:fs';
import { FleetcError } from '../diagnostics/index.js';
import type { IRGraph } from '../ir/graph.js';
import { graphFromJSON, type GraphJSON } from '../ir/json.js';
import { verifyGraph } from '../ir/verify.js';
import { loadModel } from '../frontends/index.js';

/** Reads fleetc's own IR JSON (`graphToJSON`), e.g. a graph dumped by a pass or written by hand. */
export function loadIRJSON(path: string): IRGraph {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new FleetcError('E0101', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, {
      file: path,
    });
  }
  let json: GraphJSON;
  try {
    json = JSON.parse(text) as GraphJSON;
  } catch (e) {
    throw new FleetcError('E0102', `not valid JSON: ${(e as Error).message}`, { file: path });
  }
  if (!json || typeof json !== 'object' || !Array.isArray(json.ops) || !Array.isArray(json.values))
    throw new FleetcError('E0102', 'not a fleetc IR JSON file (expects "values" and "ops" arrays)', { file: path });
  let graph: IRGraph;
  try {
    graph = graphFromJSON(json);
  } catch (e) {
    throw new FleetcError('E0105', (e as Error).message, { file: path });
  }
  const problems = verifyGraph(graph);
  if (problems.length) throw new FleetcError('E0105', problems[0]!.message, { file: path });
  if (!graph.meta.file) graph.meta.file = path;
  return graph;
}

/** Loads a model file into the IR: `.json` is IR JSON; everything else goes to the frontends. */
export async function loadGraph(path: string): Promise<IRGraph> {
  if (path.toLowerCase().endsWith('.json')) return loadIRJSON(path);
  return loadModel(path);
}
