import type { Command } from 'commander';
import { FleetcError } from '../../diagnostics/index.js';
import { serve, type ServeOptions } from '../../serve/index.js';
import { adaptOptions, positiveInt, slowdownFlag, type FleetcCommand } from '../command.js';

interface ServeFlags {
  fleet?: string;
  launcher: string;
  host: string;
  port: string;
  maxBatchTokens?: string;
  kvPages?: string;
  maxContext?: string;
  tokenizer?: string;
  model?: string;
  name?: string;
  threads?: string;
  prefixCache: boolean;
  drainTimeout: string;
  output?: string;
  adapt?: boolean;
  slowdown: string[];
}

const optionalInt = (flag: string, v: string | undefined): number | undefined =>
  v === undefined ? undefined : positiveInt(flag, v);

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new FleetcError('E0901', `--port '${v}': expected 0..65535`);
  return n;
}

function seconds(flag: string, v: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0)
    throw new FleetcError('E0901', `--${flag} '${v}': expected seconds (≥ 0)`);
  return n;
}

/** Resolves on the first SIGINT or SIGTERM; `again` runs on a later one until `done` is called. */
function untilSignal(again: () => void): { signal: Promise<NodeJS.Signals>; done: () => void } {
  let on: (sig: NodeJS.Signals) => void = () => {};
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    let seen = false;
    on = (sig) => {
      if (seen) return again();
      seen = true;
      resolve(sig);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
  return {
    signal,
    done: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

const command: FleetcCommand = {
  name: 'serve',
  register(program, cli) {
    adaptOptions(
      program
        .command('serve')
        .description(
          'serve a decoder over HTTP (OpenAI-style /v1/completions, /health, /metrics) with continuous batching on the fleet; a lost device is re-planned around',
        )
        .argument(
          '<model>',
          'a decoder model (.onnx) compiled here for the fleet, or a build folder compiled with --generate',
        )
        .option(
          '--fleet <file>',
          'fleet file (compiling a model; for a build, the fleet it was compiled for, to re-plan)',
        )
        .option('--launcher <kind>', 'inproc (one process) or mpi (one rank per device under mpirun)', 'inproc')
        .option('--host <addr>', 'address to listen on', '127.0.0.1')
        .option('--port <n>', 'port to listen on (0: any free port)', '8000')
        .option('--max-batch-tokens <n>', 'tokens one engine step computes at most (prefill chunks and decodes)')
        .option('--kv-pages <n>', 'KV pages per device (default: the plan’s pool)')
        .option('--max-context <n>', 'tokens the KV pool holds in all (compiling a model)')
        .option('--tokenizer <file>', 'tokenizer.json for text prompts (default: one beside the model)')
        .option('--model <file>', 'the model a build was compiled from (lets the server re-plan after a device loss)')
        .option('--name <name>', 'the model name clients use (default: the model’s file or folder name)')
        .option('--threads <n>', 'intra-op threads per device')
        .option('--no-prefix-cache', 'do not share prompt pages between requests with the same prefix')
        .option('--drain-timeout <s>', 'on Ctrl-C, seconds to let running requests finish', '10')
        .option('-o, --output <dir>', 'keep the compiled plans in this folder'),
    ).action(async (model: string, flags: ServeFlags, self: Command) => {
      const drainMs = seconds('drain-timeout', flags.drainTimeout) * 1000;
      const spin = cli.spinner(self, `compiling ${model} and starting the engine`);
      const log = (line: string): void => cli.io.err(`fleetc serve: ${line}\n`);
      const handle = await serve(model, {
        fleet: flags.fleet,
        launcher: flags.launcher as ServeOptions['launcher'],
        host: flags.host,
        port: port(flags.port),
        maxBatchTokens: optionalInt('max-batch-tokens', flags.maxBatchTokens),
        kvPages: optionalInt('kv-pages', flags.kvPages),
        maxContext: optionalInt('max-context', flags.maxContext),
        tokenizer: flags.tokenizer,
        source: flags.model,
        modelName: flags.name,
        threads: optionalInt('threads', flags.threads),
        prefixCache: flags.prefixCache,
        workDir: flags.output,
        env: cli.io.env,
        adapt: flags.adapt,
        slowdown: flags.slowdown.map(slowdownFlag),
        log,
      }).finally(() => spin.stop());
      const s = handle.supervisor;
      log(
        `serving '${handle.modelName}' at ${handle.url} on ${s.deviceNames.join(', ')} (${flags.launcher}); ` +
          `POST /v1/completions, GET /health, GET /metrics; Ctrl-C to stop`,
      );
      const signals = untilSignal(() => {
        log('stopping now');
        void handle.close(0);
      });
      const sig = await signals.signal;
      log(`${sig}: ${s.inFlight ? `draining ${s.inFlight} request(s) (up to ${drainMs / 1000} s)` : 'stopping'}`);
      const r = await handle.close(drainMs).finally(signals.done);
      log(r.unfinished ? `stopped; ${r.unfinished} request(s) did not finish in time` : 'stopped');
    });
  },
};

export default command;
