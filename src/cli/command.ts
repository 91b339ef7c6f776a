import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { FleetcError } from '../diagnostics/index.js';
import { colors, spinner, type CliIO, type Spinner } from './io.js';

/**
 * What a command module gets: where to write, colours, a spinner, and shared option helpers.
 * A command is one file in src/cli/commands/ exporting a FleetcCommand, plus one line in
 * src/cli/commands/index.ts.
 */
export interface Cli {
  io: CliIO;
  /** Colours for stdout, honouring --no-color, NO_COLOR and whether stdout is a terminal. */
  colors(cmd: Command): ChalkInstance;
  spinner(cmd: Command, text: string): Spinner;
  /** Prints a value as JSON (2-space indent, newline). */
  json(value: unknown): void;
  /** Exit code for the run (0 unless a command sets it, e.g. a failed test). */
  exitCode: number;
}

export interface FleetcCommand {
  name: string;
  register(program: Command, cli: Cli): void;
}

export function makeCli(io: CliIO): Cli {
  const colorFlag = (cmd: Command): boolean => cmd.optsWithGlobals().color !== false;
  return {
    io,
    colors: (cmd) => colors(io, colorFlag(cmd)),
    spinner: (cmd, text) => spinner(io, text, colorFlag(cmd)),
    json: (value) => io.out(JSON.stringify(value, null, 2) + '\n'),
    exitCode: 0,
  };
}

/** Commander option parser for a repeatable option: collects every value in order. */
export const collect = (value: string, prev: string[]): string[] => [...prev, value];

/** `--dim name=value`, repeatable. */
export function dimOption(cmd: Command): Command {
  return cmd.option('--dim <name=value>', 'bind a shape symbol to a value (repeatable)', collect, []);
}

export function jsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print the result as JSON');
}

/** Parses `--dim` values into a map; bad ones are user errors. */
export function parseDims(list: readonly string[] | undefined): Map<string, number> {
  const dims = new Map<string, number>();
  for (const item of list ?? []) {
    const m = /^\s*([A-Za-z_][A-Za-z0-9_.:]*)\s*=\s*(\d+)\s*$/.exec(item);
    if (!m) throw new FleetcError('E0901', `--dim '${item}': expected name=value with a non-negative integer value`);
    if (dims.has(m[1]!)) throw new FleetcError('E0901', `--dim '${m[1]}' is given twice`);
    dims.set(m[1]!, Number(m[2]));
  }
  return dims;
}

/** A positive integer option value (as Number reads it); anything else is a user error. */
export function positiveInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new FleetcError('E0901', `--${flag} '${v}': expected a positive integer`);
  return n;
}

/** `--slowdown DEVICE=FACTOR[@STEP]`, checked here so that a typo is a usage error, not an engine failure. */
/** `--adapt` and `--slowdown`, the live re-placement options that generate and serve share. */
export function adaptOptions(cmd: Command): Command {
  return cmd
    .option(
      '--adapt',
      'live re-placement: move the model to a plan for the fleet as it runs when a device slows down (docs/runtime.md)',
    )
    .option(
      '--slowdown <device=factor[@step]>',
      'test knob: make a device FACTOR times slower (from step STEP on; repeatable)',
      collect,
      [],
    );
}

export function slowdownFlag(v: string): string {
  if (!/^[^=\s]+=\d+(\.\d+)?(@\d+)?$/.test(v) || !(Number(v.split('=')[1]!.split('@')[0]) >= 1))
    throw new FleetcError('E0901', `--slowdown '${v}': expected DEVICE=FACTOR[@STEP] with FACTOR ≥ 1`);
  return v;
}
