import { FleetcError } from '../src/diagnostics/index.js';
import type { PassOptions, PassOptionValue } from './pass.js';

/** One step of a textual pipeline: `name` or `name{key=value,key=value}`. */
export interface PipelineStep {
  name: string;
  options: PassOptions;
}

function parseValue(raw: string): PassOptionValue {
  if (raw === 'true') return true;
  if (raw === 'false') return false;
  if (/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(raw)) return Number(raw);
  return raw;
}

/** Parses `infer-shapes,fold,partition{objective=latency,stages=2}`. */
export function parsePipeline(text: string): PipelineStep[] {
  const steps: PipelineStep[] = [];
  const re = /\s*([A-Za-z][A-Za-z0-9_-]*)\s*(?:\{([^{}]*)\})?\s*(,|$)/y;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m || m[0] === '')
      throw new FleetcError('E0901', `cannot parse pass pipeline at column ${pos + 1}: '${text.slice(pos)}'`);
    const options: PassOptions = {};
    if (m[2] !== undefined && m[2].trim() !== '') {
      for (const kv of m[2].split(',')) {
        const eq = kv.indexOf('=');
        if (eq < 1) throw new FleetcError('E0901', `pass option '${kv.trim()}' of '${m[1]}' is not key=value`);
        options[kv.slice(0, eq).trim()] = parseValue(kv.slice(eq + 1).trim());
      }
    }
    steps.push({ name: m[1]!, options });
    pos = re.lastIndex;
    if (m[3] === '') break;
  }
  return steps;
}

/** Prints a pipeline so that parsePipeline(printPipeline(p)) equals p. */
export function printPipeline(steps: readonly PipelineStep[]): string {
  return steps
    .map((s) => {
      const opts = Object.entries(s.options);
      return opts.length ? `${s.name}{${opts.map(([k, v]) => `${k}=${v}`).join(',')}}` : s.name;
    })
    .join(',');
}
