import type { Command } from 'commander';
import { readReport, renderReportHtml, renderReportText } from '../../report/index.js';
import { writeFileSync } from 'node:fs';
import { readMetrics, renderMeasured } from '../../report/measured.js';
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
      const report = readReport(dir);
      if (flags.html) writeFileSync(flags.html, await renderReportHtml(report));
      const metrics = flags.metrics ? readMetrics(flags.metrics) : undefined;
      if (flags.json) cli.json(metrics ? { ...report, measured: metrics } : report);
      else {
        cli.io.out(renderReportText(report, cli.colors(self)));
        if (metrics) cli.io.out('\n' + renderMeasured(metrics));
      }
    });
  },
};

export default command;
