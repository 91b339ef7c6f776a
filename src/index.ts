// The library API: everything the CLI does is one of these calls.
export { inspect, inspectGraph, type InspectOptions, type InspectReport } from './api/inspect.js';
export {
  compile,
  compileGraph,
  DEFAULT_COMPILE_PIPELINE,
  type CompileOptions,
  type CompileResult,
} from './api/compile.js';
export { validatePlan, PLAN_SCHEMA_VERSION, type PlanJSON } from './api/plan.js';
