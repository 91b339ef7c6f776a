export { serve, type ServeOptions, type ServeHandle, type CloseResult } from './serve.js';
export type { Supervisor, CompletionParams, FinishReason, ServeFigures } from './supervisor.js';
