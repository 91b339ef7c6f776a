import type { Command } from 'commander';
import { inspect } from '../../api/inspect.js';
import { FleetcError } from '../../diagnostics/index.js';
import { dimOption, jsonOption, parseDims, positiveInt, type FleetcCommand } from '../command.js';
import { renderInspect } from '../render/inspect.js';

interface InspectFlags {
  dim: string[];
  ops?: boolean;
  ir?: boolean;
  json?: boolean;
  deviceClass: string;
  cores?: string;
  fleet?: string;
  device?: string;
}

const command: FleetcCommand = {
  name: 'inspect',
  register(program, cli) {
    const cmd = program
      .command('inspect')
      .description('summarise a model: ops, parameters, FLOPs, bytes, KV-cache state, roofline')
      .argument('<model>', 'model file (.onnx, .mlir, or fleetc IR .json)')
      .option('--ops', 'per-op FLOPs, bytes, arithmetic intensity, roofline class and critical path')
      .option('--ir', 'print the IR (after shape inference) as text; with --json, as the "ir" field')
      .option('--device-class <class>', 'roofline to classify ops against: cpu, gpu (H100 SXM) or ipu (GC200)', 'cpu')
      .option('--cores <n>', "CPU cores for the cpu class (default: this machine's)")
      .option('--fleet <file>', 'classify ops against every device of a fleet file (YAML/JSON) instead of a class')
      .option('--device <id>', 'with --fleet: the device for times and the critical path (default: the first)');
    dimOption(cmd);
    jsonOption(cmd);
    cmd.action(async (model: string, flags: InspectFlags, self: Command) => {
      const dims = parseDims(flags.dim);
      if (flags.device !== undefined && flags.fleet === undefined)
        throw new FleetcError('E0901', '--device needs --fleet');
      const cores = flags.cores === undefined ? undefined : positiveInt('cores', flags.cores);
      const spin = cli.spinner(self, `inspecting ${model}`);
      const report = await inspect(model, {
        dims,
        device: flags.deviceClass,
        cores,
        fleet: flags.fleet,
        fleetDevice: flags.device,
        ops: !!flags.ops,
        ir: !!flags.ir,
      }).finally(() => spin.stop());
      // Warnings go to stderr (stdout stays the report), at most 20 of them.
      for (const w of report.warnings.slice(0, 20)) cli.io.err(`${w}\n`);
      if (report.warnings.length > 20)
        cli.io.err(`… and ${report.warnings.length - 20} more warnings (all in --json "warnings")\n`);
      if (flags.json) cli.json(report);
      else if (flags.ir) cli.io.out(report.ir!);
      else cli.io.out(renderInspect(report, cli.colors(self)).join('\n') + '\n');
    });
  },
};

export default command;
