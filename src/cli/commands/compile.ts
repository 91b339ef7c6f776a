import type { Command } from 'commander';
import { BACKEND_PIPELINE, compile, DEFAULT_COMPILE_PIPELINE } from '../../api/compile.js';
import { formatBytes, formatTime } from '../../util/units.js';
import { FleetcError } from '../../diagnostics/index.js';
import { collect, dimOption, jsonOption, parseDims, positiveInt, type FleetcCommand } from '../command.js';

function nonNegativeInt(flag: string, v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0)
    throw new FleetcError('E0901', `--${flag} '${v}': expected a non-negative integer`);
  return n;
}

interface CompileFlags {
  dim: string[];
  pin: string[];
  fleet?: string;
  objective?: string;
  float?: boolean;
  maxLatency?: string;
  maxMemory?: string;
  passes?: string;
  routing?: string;
  expertSlots?: string;
  placement?: string;
  calibration?: string;
  output: string;
  force?: boolean;
  verify?: boolean;
  generate?: boolean;
  maxContext?: string;
  json?: boolean;
  measureHost?: boolean;
}

const command: FleetcCommand = {
  name: 'compile',
  register(program, cli) {
    const cmd = program
      .command('compile')
      .description('compile a model for a fleet: plan.json + one bundle per device, runnable with fleetrt')
      .argument('<model>', 'model file (.onnx, .mlir, or fleetc IR .json)')
      .requiredOption('-o, --output <dir>', 'output folder (plan.json, bundles/<device>/)')
      .option(
        '--fleet <file>',
        "fleet file (YAML or JSON), or 'local' (the default): this machine's cpu and its CUDA GPUs (nvidia-smi)",
      )
      .option('--pin <regex=device>', 'place ops whose name or type matches on a device (repeatable)', collect, [])
      .option('--objective <what>', 'partition for latency or throughput (default latency)')
      .option('--float', 'let cheap ops run on whichever cpu of their host is ready (docs/floating.md)')
      .option('--max-latency <time>', 'fail (exit 1) if the predicted latency is larger, e.g. 5ms')
      .option('--max-memory <bytes>', 'fail (exit 1) if a device needs more memory, e.g. 2GiB')
      .option(
        '--passes <pipeline>',
        `a named pipeline (default, generate, O0) or pipeline text; text without the back end gets ${BACKEND_PIPELINE} appended (default: ${DEFAULT_COMPILE_PIPELINE})`,
      )
      .option('--routing <file>', 'MoE: expected tokens per expert (routing JSON, or metrics.json of an earlier run)')
      .option('--expert-slots <n>', 'MoE: extra expert instances per layer for replicas of hot experts', '0')
      .option('--placement <file>', 'MoE: place experts as this file says (written by fleetc tune)')
      .option('--calibration <file>', 'price devices and links by what fleetc tune measured on this fleet')
      .option(
        '--measure-host',
        'measure this machine for the cpu class before compiling (fleetrt --measure-host; cached, see fleetc host)',
      )
      .option('--no-measure-host', 'never measure this machine (nominal cpu figures when none are cached)')
      .option('--force', 'write into a non-empty folder that is not a previous build')
      .option('--verify', 'verify the IR after every pass')
      .option(
        '--generate',
        'compile a decoder for generation: its KV cache as paged state (fleetc generate BUILD runs it)',
      )
      .option(
        '--max-context <n>',
        'with --generate: tokens the KV pool holds in all (default: what memory allows, at most 32768)',
      );
    dimOption(cmd);
    jsonOption(cmd);
    cmd.action(async (model: string, flags: CompileFlags, self: Command) => {
      const spin = cli.spinner(self, `compiling ${model}`);
      const res = await compile(model, flags.output, {
        fleet: flags.fleet,
        dims: parseDims(flags.dim),
        pins: flags.pin,
        objective: flags.objective as 'latency' | 'throughput' | undefined,
        float: flags.float === true,
        maxLatency: flags.maxLatency,
        maxMemory: flags.maxMemory,
        passes: flags.passes,
        routing: flags.routing,
        placement: flags.placement,
        calibration: flags.calibration,
        measureHost: flags.measureHost === undefined ? 'if-missing' : flags.measureHost ? 'always' : 'never',
        expertSlots: nonNegativeInt('expert-slots', flags.expertSlots ?? '0'),
        force: !!flags.force,
        verify: !!flags.verify,
        generate: flags.generate
          ? { ...(flags.maxContext !== undefined ? { maxContext: positiveInt('max-context', flags.maxContext) } : {}) }
          : undefined,
      }).finally(() => spin.stop());
      for (const d of res.diagnostics) cli.io.err(`${d.severity}${d.code ? `[${d.code}]` : ''}: ${d.message}\n`);
      if (flags.json) {
        cli.json({
          outDir: res.outDir,
          plan: res.planPath,
          ms: Math.round(res.ms),
          devices: res.plan.devices,
          predicted: res.plan.predicted,
          channels: res.plan.channels.length,
        });
        return;
      }
      const c = cli.colors(self);
      const p = res.plan;
      const lines = [`${c.bold('plan')} ${res.planPath}  (${p.pipeline.text})`];
      for (const d of p.devices)
        lines.push(
          `  ${d.name} [${d.class}${d.emulated ? ', emulated' : ''}]: ${d.ops} ops, weights ${formatBytes(d.memory.weights)}, arena ${formatBytes(d.memory.arena)} (unshared ${formatBytes(d.memory.arenaUnshared)}), ${d.bundle.dir}`,
        );
      if (p.channels.length) lines.push(`  ${p.channels.length} channels`);
      if (p.experts?.length) {
        const replicated = p.experts.filter((e) => e.devices.length > 1).length;
        const used = new Set(p.experts.flatMap((e) => e.devices));
        lines.push(
          `  experts: ${p.experts.length} on ${used.size} device(s) (${[...used].join(', ')})${replicated ? `, ${replicated} replicated` : ''}; see report.txt`,
        );
      }
      if (p.generation) {
        const g = p.generation;
        const paged = p.state.filter((s) => s.mode === 'paged').length;
        lines.push(
          `  state: ${p.state.length} KV caches (${paged} paged, ${p.state.length - paged} gathered) on ${[...new Set(p.state.map((s) => s.owner))].join(', ')}; ` +
            `${g.capacityTokens} tokens in pages of ${g.pageSize}; ${g.batching} batching${g.batchingReason ? ` (${g.batchingReason})` : ''}`,
        );
      } else if (p.state.length) {
        const shown = p.state.slice(0, 3).map((s) => `${s.input} -> ${s.output} on ${s.owner}`);
        lines.push(`  state: ${p.state.length} KV-cache pairs (${shown.join(', ')}${p.state.length > 3 ? ', …' : ''})`);
      }
      lines.push(
        `  predicted: latency ${formatTime(p.predicted.latency)}${p.predicted.defaultedSymbols ? ` (symbols at 1: ${p.predicted.defaultedSymbols.join(', ')})` : ''}`,
      );
      cli.io.out(lines.join('\n') + '\n');
    });
  },
};

export default command;
