import type { Command } from 'commander';
import { exportOnnx } from '../../api/export.js';
import { formatBytes } from '../../util/units.js';
import { jsonOption, type FleetcCommand } from '../command.js';

interface ExportFlags {
  onnx: string;
  force?: boolean;
  allowCustomOps?: boolean;
  json?: boolean;
}

const command: FleetcCommand = {
  name: 'export',
  register(program, cli) {
    const cmd = program
      .command('export')
      .description('write each device partition of a compiled plan as an ONNX model (onnxruntime, Netron)')
      .argument('<build>', 'a `fleetc compile` output folder (or its plan.json)')
      .requiredOption('--onnx <dir>', 'folder for the ONNX models: <device>.onnx, steps/ when needed, export.json')
      .option('--force', 'write into a non-empty folder that is not a previous export')
      .option(
        '--allow-custom-ops',
        'write ops without an ONNX form (fleetc state ops, stablehlo.*) as custom nodes: viewable, not runnable',
      );
    jsonOption(cmd);
    cmd.action(async (build: string, flags: ExportFlags, self: Command) => {
      const res = await exportOnnx(build, flags.onnx, { force: !!flags.force, allowCustomOps: !!flags.allowCustomOps });
      if (flags.json) {
        cli.json(res);
        return;
      }
      const c = cli.colors(self);
      const count = (list: { kind: string }[], kind: string): number => list.filter((x) => x.kind === kind).length;
      const lines = [
        `${c.bold('exported')} ${res.devices.length} partition(s) of ${res.model} (fleet ${res.fleet}) to ${res.outDir}`,
      ];
      for (const m of res.devices)
        lines.push(
          `  ${m.file}: ${m.ops} ops, ${formatBytes(m.bytes)}; in: ${count(m.inputs, 'model')} model, ${count(m.inputs, 'channel')} channel; out: ${count(m.outputs, 'model')} model, ${count(m.outputs, 'channel')} channel`,
        );
      const order = res.run.map((m) => m.file);
      const shown = order.length > 6 ? [...order.slice(0, 5), `… ${order.length - 5} more (export.json)`] : order;
      if (res.steps)
        lines.push(
          `  the plan goes back and forth between devices: run ${order.length} steps in order: ${shown.join(' → ')}`,
        );
      else lines.push(`  run order: ${shown.join(' → ')}`);
      const rw = res.rewritten;
      const parts = [
        ...Object.entries(rw.unfused).map(([k, n]) => `${n} ${k} unfused`),
        ...(rw.decomposed ? [`${rw.decomposed} LayerNormalization decomposed`] : []),
        ...Object.entries(rw.adapted).map(([k, n]) => `${n} ${k} rewritten`),
      ];
      const opsets = Object.entries(res.opsets)
        .map(([d, v]) => `${d || 'ai.onnx'} ${v}`)
        .join(', ');
      lines.push(`  opsets: ${opsets}${parts.length ? `; for ONNX: ${parts.join(', ')}` : ''}`);
      const custom = Object.entries(res.customOps);
      if (custom.length)
        lines.push(
          `  ${c.yellow('custom ops')} (Netron only, onnxruntime cannot run them): ${custom.map(([k, n]) => `${n} ${k}`).join(', ')}`,
        );
      lines.push(`  index: ${res.index}`);
      cli.io.out(lines.join('\n') + '\n');
    });
  },
};

export default command;
