import type { IRGraph } from '../src/ir/graph.js';
import { assertVerified } from '../src/ir/verify.js';
import { FleetcError } from '../src/diagnostics/index.js';
import type { PassContext, PassResult, PassResults } from './pass.js';
import { parsePipeline, type PipelineStep } from './pipeline.js';
import { PASSES, PIPELINES } from './registry.js';

export interface PassRecord {
  pass: string;
  ms: number;
  changed: boolean;
  summary?: string;
}

/**
 * Resolves a pipeline name (`default`, `generate`, `O0` …) or text into its steps, checking every
 * pass, every option, and that each pass comes after the passes whose results it reads.
 */
export function resolvePipeline(text: string): PipelineStep[] {
  const steps = parsePipeline(PIPELINES[text] ?? text);
  const provided = new Set<keyof PassResults>();
  for (const step of steps) {
    const pass = PASSES[step.name];
    if (!pass)
      throw new FleetcError('E0901', `unknown pass '${step.name}' (known: ${Object.keys(PASSES).sort().join(', ')})`);
    for (const key of Object.keys(step.options))
      if (!(key in pass.options)) throw new FleetcError('E0901', `pass '${step.name}' has no option '${key}'`);
    for (const slot of pass.needs ?? [])
      if (!provided.has(slot)) {
        const by = Object.values(PASSES)
          .filter((p) => p.provides === slot)
          .map((p) => `'${p.name}'`)
          .join(' or ');
        throw new FleetcError('E0901', `pass '${step.name}' needs ${by} earlier in the pipeline`);
      }
    if (pass.provides) provided.add(pass.provides);
  }
  return steps;
}

/** Runs the steps in order, verifying the IR after each when ctx.verify is set. */
export function runPipeline(graph: IRGraph, steps: PipelineStep[], ctx: PassContext): PassRecord[] {
  const records: PassRecord[] = [];
  for (const step of steps) {
    const pass = PASSES[step.name]!;
    if (pass.needsTarget && !ctx.target)
      throw new FleetcError('E0901', `pass '${step.name}' places ops on a fleet: run it with fleetc compile`);
    const t0 = performance.now();
    const res: PassResult = pass.run(graph, ctx, { ...pass.options, ...step.options }) ?? {};
    records.push({ pass: step.name, ms: performance.now() - t0, changed: !!res.changed, summary: res.summary });
    if (ctx.verify) assertVerified(graph, step.name);
  }
  return records;
}
