/**
 * The live controller's compiler (src/api/controller.ts), as a child process: it compiles the
 * candidate plans (the model for the fleet with some devices' figures scaled) away from the
 * process that drives the engine, so that a compile of a few seconds never holds up the events
 * of a running engine. One JSON request per line on stdin, one JSON answer per line on stdout,
 * in order; the modules are loaded once for every compile.
 *
 *   → {"id":1,"model":"m.onnx","out":"/dir","fleet":{…Fleet, Infinity as "Infinity"},"objective":"latency","generate":{…}}
 *   ← {"id":1,"ok":true,"planPath":"/dir/plan.json","ms":1234}   or   {"id":1,"ok":false,"message":"…"}
 */
import { createInterface } from 'node:readline';
import type { Fleet } from '../fleet/types.js';
import { compile } from './compile.js';
import type { GenerateOptions } from './state-plan.js';

export interface CompileRequest {
  id: number;
  model: string;
  out: string;
  /** Serialised by `fleetToJSON` (infinite figures survive). */
  fleet: string;
  objective: 'latency' | 'throughput';
  generate: GenerateOptions;
}

export type CompileAnswer =
  { id: number; ok: true; planPath: string; ms: number } | { id: number; ok: false; message: string };

/** A Fleet as JSON text; infinite bandwidths and capacities become the string "Infinity". */
export function fleetToJSON(f: Fleet): string {
  return JSON.stringify(f, (_k, v: unknown) => (v === Infinity ? 'Infinity' : v === -Infinity ? '-Infinity' : v));
}

export function fleetFromJSON(s: string): Fleet {
  return JSON.parse(s, (_k, v: unknown) => (v === 'Infinity' ? Infinity : v === '-Infinity' ? -Infinity : v)) as Fleet;
}

async function answer(r: CompileRequest): Promise<CompileAnswer> {
  try {
    const res = await compile(r.model, r.out, {
      fleet: fleetFromJSON(r.fleet),
      objective: r.objective,
      generate: r.generate,
      report: false,
      force: true,
    });
    return { id: r.id, ok: true, planPath: res.planPath, ms: res.ms };
  } catch (e) {
    return { id: r.id, ok: false, message: (e as Error).message };
  }
}

function main(): void {
  let chain = Promise.resolve();
  createInterface({ input: process.stdin }).on('line', (line) => {
    if (!line.trim()) return;
    let req: CompileRequest;
    try {
      req = JSON.parse(line) as CompileRequest;
    } catch {
      return;
    }
    chain = chain.then(async () => {
      process.stdout.write(JSON.stringify(await answer(req)) + '\n');
    });
  });
  process.stdin.on('end', () => void chain.then(() => process.exit(0)));
}

if (process.argv[1] && /plan-worker\.[jt]s$/.test(process.argv[1])) main();
