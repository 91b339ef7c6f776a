import type { Command } from 'commander';
import { report } from '../../api/report.js';
import { jsonOption, type FleetcCommand } from '../command.js';

interface ReportFlags {
  json?: boolean;
  html?: string;
  metrics?: string;
}

const command: FleetcCommand = {
  name: 'report',
  register(program, cli) {
    const cmd = program
      .command('report')
      .description(
        'show the partition report of a compiled plan: devices, memory, links, critical path, placement reasons',
      )
      .argument('<dir>', 'a `fleetc compile` output folder')
      .option('--html <file>', 'also write the self-contained HTML page to this file')
      .option(
        '--metrics <file>',
        "a run's metrics file (fleetc run --metrics): predicted vs measured per device and link",
      );
    jsonOption(cmd);
    cmd.action(async (dir: string, flags: ReportFlags, self: Command) => {
      const view = await report(dir, { html: flags.html, metrics: flags.metrics });
      if (flags.json) cli.json(view.measured ? { ...view.report, measured: view.measured } : view.report);
      else cli.io.out(view.text(cli.colors(self)));
    });
  },
};

export default command;
