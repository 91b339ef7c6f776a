import type { Command } from 'commander';
import { tune } from '../../api/tune.js';
import { bytes, seconds } from '../../util/format.js';
import { jsonOption, positiveInt, type FleetcCommand } from '../command.js';

interface TuneFlags {
  metrics: string;
  window?: string;
  out?: string;
  json?: boolean;
}

const command: FleetcCommand = {
  name: 'tune',
  register(program, cli) {
    const cmd = program
      .command('tune')
      .description(
        "re-place MoE experts from a run's routing counts when the gain over the window pays for moving weights",
      )
      .argument('<build>', 'a `fleetc compile` output folder')
      .requiredOption('--metrics <file>', 'metrics.json of a run of this build (fleetc run --metrics)')
      .option('--window <steps>', 'steps the routing counts stand for (default: the requests they cover)')
      .option('--out <file>', 'where to write the new placement (default BUILD/placement.json)');
    jsonOption(cmd);
    cmd.action(async (build: string, flags: TuneFlags, self: Command) => {
      const res = await tune(build, {
        metrics: flags.metrics,
        window: flags.window === undefined ? undefined : positiveInt('window', flags.window),
        out: flags.out,
      });
      if (flags.json) {
        cli.json(res);
        return;
      }
      const c = cli.colors(self);
      const lines: string[] = [];
      for (const l of res.moe) {
        lines.push(
          `${c.bold(`MoE layer ${l.layer}`)} ${l.name}: ${l.decision === 'move' ? c.bold('re-place') : 'keep'} — ${l.reason}`,
          `  window ${l.window} steps, ${l.tokensPerStep.toFixed(0)} routed tokens per step`,
          `  imbalance ${l.imbalanceBefore.toFixed(3)} → ${l.imbalanceAfter.toFixed(3)}, slowest device ${seconds(l.slowestBefore)} → ${seconds(l.slowestAfter)}`,
        );
        if (l.decision === 'move') {
          lines.push(
            `  move ${bytes(l.migrationBytes)} of expert weights (${seconds(l.migrationSeconds)}); pays back after ${l.paybackSteps.toFixed(1)} steps`,
          );
          for (const m of l.moves.slice(0, 16))
            lines.push(
              `    expert ${m.expert}: ${m.from.join(' + ')} → ${m.to.map((d, k) => `${d}${m.to.length > 1 ? ` ${(m.share[k]! * 100).toFixed(0)}%` : ''}`).join(' + ')}`,
            );
          if (l.moves.length > 16) lines.push(`    … ${l.moves.length - 16} more in --json`);
        }
      }
      lines.push(
        res.placementFile
          ? `placement written to ${res.placementFile}; realise it with: fleetc compile MODEL --placement ${res.placementFile} …`
          : 'no move: the current placement stays',
      );
      cli.io.out(lines.join('\n') + '\n');
    });
  },
};

export default command;
