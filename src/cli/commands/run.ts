import type { Command } from 'commander';
import { parseInputs, run, type RunOptions, type RunSummary } from '../../api/run.js';
import { FleetcError } from '../../diagnostics/index.js';
import { collect, jsonOption, type FleetcCommand } from '../command.js';

interface RunFlags {
  input: string[];
  inputsDir?: string;
  randomInputs?: boolean;
  outputDir: string;
  trace?: string;
  metrics?: string;
  repeat?: string;
  warmup?: string;
  requests?: string;
  threads?: string;
  launcher: string;
  json?: boolean;
}

function int(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < 1)
    throw new FleetcError('E0901', `--${flag} '${v}': expected a positive integer`);
  return Number(v);
}

function count(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new FleetcError('E0901', `--${flag} '${v}': expected a non-negative integer`);
  return Number(v);
}

const kib = (b: number): string =>
  b >= 2 ** 30
    ? `${(b / 2 ** 30).toFixed(1)} GiB`
    : b >= 2 ** 20
      ? `${(b / 2 ** 20).toFixed(1)} MiB`
      : `${(b / 1024).toFixed(1)} KiB`;

function render(s: RunSummary): string {
  const lines: string[] = [];
  const emulated = s.devices.filter((d) => d.emulated).map((d) => d.name);
  lines.push(
    `ran ${s.plan} on ${s.devices.length} device${s.devices.length === 1 ? '' : 's'} (${s.launcher})` +
      (emulated.length ? `; emulated: ${emulated.join(', ')}` : ''),
  );
  for (const o of s.outputs) lines.push(`  ${o.name}: ${o.dtype}[${o.shape.join(', ')}] → ${o.file}`);
  for (const d of s.devices) {
    if (d.busyMsPerRequest === undefined) continue;
    const pred =
      d.predictedBusyMs === null || d.predictedBusyMs === undefined
        ? 'no prediction'
        : `predicted ${d.predictedBusyMs.toFixed(3)} ms`;
    const mem =
      d.peakBytes === undefined
        ? ''
        : `, peak ${kib(d.peakBytes)}${d.capacityBytes ? ` of ${kib(d.capacityBytes)}` : ''}`;
    lines.push(
      `  ${d.name}${d.emulated ? ' (emulated)' : ''}: busy ${d.busyMsPerRequest.toFixed(3)} ms/request (${pred})${mem}`,
    );
  }
  const l = s.latencyMs;
  lines.push(
    `latency: ${l.mean.toFixed(3)} ms mean` +
      (s.repeats > 1
        ? ` (min ${l.min.toFixed(3)}, p50 ${l.p50.toFixed(3)}, max ${l.max.toFixed(3)}; ${s.repeats * s.requests} requests)`
        : ''),
  );
  if (s.requests > 1 && s.throughputPerSec !== undefined)
    lines.push(`throughput: ${s.throughputPerSec.toFixed(1)} requests/s with ${s.requests} in flight`);
  if (s.trace) lines.push(`trace: ${s.trace}`);
  if (s.metrics) lines.push(`metrics: ${s.metrics}`);
  return lines.join('\n') + '\n';
}

const command: FleetcCommand = {
  name: 'run',
  register(program, cli) {
    const cmd = program
      .command('run')
      .description('run a compiled plan with the native runtime (fleetrt)')
      .argument('<plan>', 'plan.json written by fleetc compile, or its output folder')
      .option('--input <name=file>', 'an input as .npy or ONNX TensorProto .pb (repeatable)', collect, [])
      .option(
        '--inputs-dir <dir>',
        'folder with input_0.npy, input_1.npy … (or .pb) in graph-input order, or <input name>.npy as --output-dir writes outputs',
      )
      .option('--random-inputs', 'deterministic pseudo-random inputs of the planned shapes')
      .requiredOption('--output-dir <dir>', 'where outputs are written as <name>.npy')
      .option('--trace <file>', 'write a Chrome/Perfetto trace')
      .option('--metrics <file>', 'write measured per-op/per-device times and memory next to the predictions')
      .option('--repeat <n>', 'run the same inputs n times (latency per run in the metrics)')
      .option('--warmup <n>', 'run n times first and leave those runs out of the trace and metrics', '0')
      .option('--requests <n>', 'requests kept in flight through the devices; reports throughput')
      .option('--threads <n>', 'intra-op threads per device (default: from the plan)')
      .option('--launcher <kind>', 'inproc (one process) or mpi (one rank per device under mpirun)', 'inproc');
    jsonOption(cmd);
    cmd.action(async (plan: string, flags: RunFlags, self: Command) => {
      const spin = cli.spinner(self, `running ${plan}`);
      const summary = await run(plan, {
        inputs: parseInputs(flags.input),
        inputsDir: flags.inputsDir,
        randomInputs: !!flags.randomInputs,
        outputDir: flags.outputDir,
        trace: flags.trace,
        metrics: flags.metrics,
        repeat: int('repeat', flags.repeat),
        warmup: count('warmup', flags.warmup),
        requests: int('requests', flags.requests),
        threads: int('threads', flags.threads),
        launcher: flags.launcher as RunOptions['launcher'],
        env: cli.io.env,
      }).finally(() => spin.stop());
      if (flags.json) cli.json(summary);
      else cli.io.out(render(summary));
    });
  },
};

export default command;
