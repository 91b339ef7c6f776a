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
export { run, type RunOptions, type RunSummary } from './api/run.js';
export { hostInfo, measureHost, type HostInfo, type MeasureHostOptions } from './api/host.js';
export {
  exportOnnx,
  type ExportOptions,
  type ExportResult,
  type ExportedModel,
  type ExportedIO,
} from './api/export.js';
export { generate, type GenerateOptions, type GenerateResult } from './api/generate.js';
export { serve, type ServeOptions, type ServeHandle } from './serve/index.js';
export { runTests, type TestOptions, type TestReport, type CaseResult } from './api/test-runner.js';
export {
  buildReport,
  renderReportText,
  renderReportHtml,
  readReport,
  writeReport,
  type Report,
} from './report/index.js';
export { loadFleet, parseFleet, localFleet, type Fleet, type Device } from './fleet/index.js';
export { FleetcError, isFleetcError } from './diagnostics/index.js';
