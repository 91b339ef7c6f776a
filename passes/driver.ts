import type { IRGraph } from '../src/ir/graph.js';
import { assertVerified } from '../src/ir/verify.js';
import { FleetcError } from '../src/diagnostics/index.js';
import type { PassContext, PassResult } from './pass.js';
import { parsePipeline, type PipelineStep } from './pipeline.js';
import { PASSES, PIPELINES } from './registry.js';

export interface PassRecord {
  pass: string;
  ms: number;
  changed: boolean;
  summary?: string;
}

/** Resolves a pipeline name (`default`, `O0` …) or text into its steps, checking every pass and option. */
export function resolvePipeline(text: string): PipelineStep[] {
  const steps = parsePipeline(PIPELINES[text] ?? text);
  for (const step of steps) {
    const pass = PASSES[step.name];
    if (!pass)
      throw new FleetcError('E0901', `unknown pass '${step.name}' (known: ${Object.keys(PASSES).sort().join(', ')})`);
    for (const key of Object.keys(step.options))
      if (!(key in pass.options)) throw new FleetcError('E0901', `pass '${step.name}' has no option '${key}'`);
  }
  return steps;
}

/** Runs the steps in order, verifying the IR after each when ctx.verify is set. */
export function runPipeline(graph: IRGraph, steps: PipelineStep[], ctx: PassContext): PassRecord[] {
  const records: PassRecord[] = [];
  for (const step of steps) {
    const pass = PASSES[step.name]!;
    const t0 = performance.now();
    const res: PassResult = pass.run(graph, ctx, { ...pass.options, ...step.options }) ?? {};
    records.push({ pass: step.name, ms: performance.now() - t0, changed: !!res.changed, summary: res.summary });
    if (ctx.verify) assertVerified(graph, step.name);
  }
  return records;
}
