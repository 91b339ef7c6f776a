import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { tune, type CalibrationTuneResult, type Comparison } from '../../api/tune.js';
import { bytes, seconds, si } from '../../util/format.js';
import { collect, jsonOption, positiveInt, type FleetcCommand } from '../command.js';

interface TuneFlags {
  metrics: string[];
  window?: string;
  out?: string;
  output?: string;
  json?: boolean;
}

const command: FleetcCommand = {
  name: 'tune',
  register(program, cli) {
    const cmd = program
      .command('tune')
      .description(
        "fit the cost model to runs' measured op and transfer times (a calibration for compile --calibration); " +
          "re-place MoE experts from a run's routing counts when the gain over the window pays for moving weights",
      )
      .argument('<build>', 'a `fleetc compile` output folder')
      .requiredOption(
        '--metrics <file>',
        'metrics.json of a run of this build, or of another build for the same fleet (fleetc run --metrics; repeatable)',
        collect,
        [],
      )
      .option('-o, --output <file>', 'where to write the calibration (default BUILD/calibration.json)')
      .option('--window <steps>', 'MoE: steps the routing counts stand for (default: the requests they cover)')
      .option('--out <file>', 'MoE: where to write the new placement (default BUILD/placement.json)');
    jsonOption(cmd);
    cmd.action(async (build: string, flags: TuneFlags, self: Command) => {
      const res = await tune(build, {
        metrics: flags.metrics,
        window: flags.window === undefined ? undefined : positiveInt('window', flags.window),
        out: flags.out,
        calibrationOut: flags.output,
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
      if (res.moe.length)
        lines.push(
          res.placementFile
            ? `placement written to ${res.placementFile}; realise it with: fleetc compile MODEL --placement ${res.placementFile} …`
            : 'no move: the current placement stays',
        );
      if (res.calibration) lines.push(...renderCalibration(res.calibration, c));
      cli.io.out(lines.join('\n') + '\n');
    });
  },
};

/** `+12%` (colour by size) for a prediction against a measurement. */
function err(predicted: number, measured: number, c: ChalkInstance): string {
  if (!(measured > 0) || !Number.isFinite(predicted)) return '   n/a';
  const e = predicted / measured - 1;
  const text = `${e >= 0 ? '+' : ''}${(e * 100).toFixed(0)}%`.padStart(6);
  return Math.abs(e) <= 0.15 ? c.green(text) : Math.abs(e) <= 0.5 ? c.yellow(text) : c.red(text);
}

function row(name: string, x: Comparison, c: ChalkInstance, extra = ''): string {
  return (
    `  ${name.padEnd(22)} ${seconds(x.measured).padStart(10)}   ${seconds(x.before).padStart(10)} ${err(x.before, x.measured, c)}` +
    `   ${seconds(x.after).padStart(10)} ${err(x.after, x.measured, c)}${extra}`
  );
}

function perSecond(perUnit: number, unit: string): string {
  return perUnit > 0 ? `${si(1 / perUnit, unit)}/s` : '∞';
}

function renderCalibration(r: CalibrationTuneResult, c: ChalkInstance): string[] {
  const lines: string[] = [c.bold(`calibration of fleet '${r.calibration.fleet.name}'`)];
  for (const run of r.runs) {
    lines.push(
      `${run.model} (${run.build}, ${run.passes} passes${run.runs.length > 1 ? `, the least disturbed of ${run.runs.length} runs` : ''}): predicted before tune (as compiled) and after (the same plan priced by the calibration)`,
      `  ${''.padEnd(22)} ${'measured'.padStart(10)}   ${'before'.padStart(17)}   ${'after'.padStart(17)}`,
    );
    for (const d of run.devices) lines.push(row(`${d.device} busy`, d, c));
    if (run.latency) lines.push(row('end-to-end latency', run.latency, c, '  (median request)'));
    for (const p of run.pairs)
      lines.push(
        row(
          `${p.between.join('↔')} message`,
          p,
          c,
          `  (${p.messages} messages${p.links.length ? ` over ${p.links.join(', ')}` : ''})`,
        ),
      );
  }
  lines.push('fitted: seconds per op = dispatch + FLOPs / throughput + bytes / bandwidth');
  const mark = (src: string): string => (src === 'measured' ? '' : ` (${src})`);
  for (const d of r.calibration.devices) {
    const line = (name: string, l: (typeof d)['all']): string =>
      `    ${name.padEnd(12)} dispatch ${seconds(l.dispatch)}${mark(l.source.dispatch)}, ${perSecond(l.perFlop, 'FLOP')}${mark(l.source.perFlop)}, ` +
      `${perSecond(l.perByte, 'B')}${mark(l.source.perByte)}  [${l.samples} ops]`;
    const msg =
      (d.messages
        ? `; per message sent ${seconds(d.messages.send)}${mark(d.messages.source.send)}, received ${seconds(d.messages.recv)}${mark(d.messages.source.recv)}`
        : '') +
      (d.readiness
        ? `; per op in a plan spanning devices +${seconds(d.readiness.perOp)}${mark(d.readiness.source)}`
        : '');
    lines.push(
      `  ${d.id}${d.measuredThreads !== undefined ? ` (${d.measuredThreads} thread${d.measuredThreads === 1 ? '' : 's'})` : ''}${msg}:`,
    );
    lines.push(line('all kinds', d.all));
    for (const [k, l] of Object.entries(d.kinds)) lines.push(line(k, l));
    const ops = Object.entries(d.ops ?? {});
    if (ops.length)
      lines.push(
        `    op lines off their kind's line (× median measured ratio): ${ops.map(([t, l]) => `${t} ×${l.scale.toFixed(2)} [${l.samples}]`).join(', ')}`,
      );
    const measured = Object.keys(d.measuredOps ?? {}).length;
    if (measured)
      lines.push(`    ${measured} ops priced by their own measured time where a plan runs them at the same sizes`);
  }
  const q = r.calibration.request;
  if (q)
    lines.push(
      `  per request outside ops: ${seconds(q.perOp)}${mark(q.source.perOp)} per op of the busiest device, ` +
        `${seconds(q.perDevice)}${mark(q.source.perDevice)} per further device  [${q.runs} runs]`,
    );
  for (const p of r.calibration.pairs)
    lines.push(
      `  ${p.between.join('↔')}: ${seconds(p.latency)} per message${mark(p.source.latency)}, ${perSecond(p.perByte, 'B')}${mark(p.source.perByte)}  [${p.samples} messages]`,
    );
  lines.push(
    r.file
      ? `calibration written to ${r.file}; use it with: fleetc compile MODEL --fleet … --calibration ${r.file}`
      : 'calibration not written',
  );
  return lines;
}

export default command;
