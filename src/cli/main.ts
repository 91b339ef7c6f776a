import { Command, CommanderError } from 'commander';
import { FleetcError, isFleetcError } from '../diagnostics/index.js';
import { packageVersion } from '../version.js';
import { makeCli, type Cli } from './command.js';
import { COMMANDS } from './commands/index.js';
import { processIO, type CliIO } from './io.js';

/** Commander settings every command shares: errors come back to main() instead of exiting. */
function configure(cmd: Command, io: CliIO): Command {
  return cmd
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: () => {} })
    .showSuggestionAfterError(true);
}

export function buildProgram(cli: Cli): Command {
  const program = configure(new Command('fleetc'), cli.io)
    .description('Compile AI models (ONNX, StableHLO) for heterogeneous fleets and run them')
    .version(packageVersion(), '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help')
    .option('--no-color', 'no colours in the output (also: NO_COLOR set, or not a terminal)');
  program.helpCommand('help [command]', 'show help for a command');
  for (const c of COMMANDS) c.register(program, cli);
  for (const sub of program.commands) configure(sub, cli.io).helpOption('-h, --help', 'show help');
  return program;
}

/** One line for a commander usage error: `error[E0901]: unknown option '--x' (Did you mean --y?)`. */
function usageLine(err: CommanderError): string {
  const msg = err.message
    .replace(/^error:\s*/, '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean)
    .join(' ');
  return new FleetcError('E0901', msg).format();
}

/** Runs the CLI on `argv` (without node and script). Returns the exit code: 0 ok, 1 user error, 2 internal error. */
export async function main(argv: string[], io: CliIO = processIO()): Promise<number> {
  const cli = makeCli(io);
  try {
    const program = buildProgram(cli);
    if (argv.length === 0) {
      io.out(program.helpInformation());
      return 0;
    }
    await program.parseAsync(argv, { from: 'user' });
    return cli.exitCode;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.exitCode === 0) return 0; // --help, --version
      io.err(usageLine(err) + '\n');
      return 1;
    }
    if (isFleetcError(err)) {
      io.err(err.format() + '\n');
      return 1;
    }
    const e = err instanceof Error ? err : new Error(String(err));
    io.err(`fleetc: internal error: ${e.message.split('\n')[0]} (re-run with FLEETC_DEBUG=1 for the stack trace)\n`);
    if (io.env.FLEETC_DEBUG) io.err(`${e.stack ?? e.message}\n`);
    return 2;
  }
}
