import type { Command } from 'commander';
import { readReport, renderReportHtml, renderReportText } from '../../report/index.js';
import { writeFileSync } from 'node:fs';
import { jsonOption, type FleetcCommand } from '../command.js';

interface ReportFlags {
  json?: boolean;
  html?: string;
}

const command: FleetcCommand = {
  name: 'report',
  register(program, cli) {
    const cmd = program
      .command('report')
      .description('show the partition report of a compiled plan: devices, memory, links, critical path, placement reasons')
      .argument('<dir>', 'a `fleetc compile` output folder')
      .option('--html <file>', 'also write the self-contained HTML page to this file');
    jsonOption(cmd);
    cmd.action(async (dir: string, flags: ReportFlags, self: Command) => {
      const report = readReport(dir);
      if (flags.html) writeFileSync(flags.html, await renderReportHtml(report));
      if (flags.json) cli.json(report);
      else cli.io.out(renderReportText(report, cli.colors(self)));
    });
  },
};

export default command;
