import type { FleetcCommand } from '../command.js';

/** Every command, in help order. Adding a command: one file in this folder and one line here. */
export const COMMANDS: FleetcCommand[] = [
  (await import('./inspect.js')).default,
  (await import('./compile.js')).default,
  (await import('./run.js')).default,
  (await import('./generate.js')).default,
  (await import('./serve.js')).default,
  (await import('./test.js')).default,
  (await import('./report.js')).default,
  (await import('./tune.js')).default,
  (await import('./export.js')).default,
  (await import('./host.js')).default,
];
