import type { Command } from 'commander';
import { hostInfo, measureHost, type HostInfo } from '../../api/host.js';
import { FleetcError } from '../../diagnostics/index.js';
import { bytes, seconds, si } from '../../util/format.js';
import { jsonOption, positiveInt, type FleetcCommand } from '../command.js';

interface HostFlags {
  measure?: boolean;
  quick?: boolean;
  threadsMax?: string;
  json?: boolean;
}

const command: FleetcCommand = {
  name: 'host',
  register(program, cli) {
    const cmd = program
      .command('host')
      .description(
        "show this machine's figures for the cpu class (GEMM FLOP/s and memory bandwidth by threads, per-op and " +
          'per-message overheads, memory) and where they come from; --measure measures them with fleetrt and caches them',
      )
      .option('--measure', 'measure this machine now (fleetrt --measure-host, a few seconds) and cache the profile')
      .option('--quick', 'with --measure: small sizes, under a second (rougher figures)')
      .option('--threads-max <n>', 'with --measure: measure 1..N threads (default: every core)');
    jsonOption(cmd);
    cmd.action(async (flags: HostFlags, self: Command) => {
      const threadsMax = flags.threadsMax === undefined ? undefined : positiveInt('threads-max', flags.threadsMax);
      if (!flags.measure && (flags.quick || threadsMax !== undefined))
        throw new FleetcError('E0901', '--quick and --threads-max go with --measure');
      const info = flags.measure
        ? await measureHost({ quick: !!flags.quick, ...(threadsMax !== undefined ? { threadsMax } : {}) })
        : hostInfo();
      if (flags.json) {
        cli.json({
          source: info.source,
          path: info.path,
          provenance: info.provenance,
          ...(info.refused ? { refused: info.refused } : {}),
          ...(info.written ? { written: info.written } : {}),
          profile: info.profile,
          nominal: info.nominal,
        });
        return;
      }
      cli.io.out(renderHost(info, cli.colors(self).bold).join('\n') + '\n');
    });
  },
};

const from: Record<HostInfo['source'], string> = {
  env: 'FLEETC_HOST_PROFILE',
  cache: 'the cache',
  nominal: 'nominal figures (nothing measured)',
};

function renderHost(info: HostInfo, bold: (s: string) => string): string[] {
  const p = info.profile;
  const n = info.nominal;
  const perThread = (pts: { threads: number; v: number }[], unit: string): string =>
    pts.map((x) => `${x.threads}: ${si(x.v, unit)}/s`).join(', ');
  const lines = [
    `${bold('host')}       ${p.host.name}: ${p.host.cpuModel}, ${p.host.cores} cores, ${bytes(p.host.memory)} memory`,
    `${bold('figures')}    ${info.provenance}`,
    `${bold('from')}       ${from[info.source]}${info.source === 'nominal' ? '' : `: ${info.path}`}`,
  ];
  if (info.refused) lines.push(`           ${info.path} not used: ${info.refused}`);
  if (info.written) lines.push(`${bold('written')}    ${info.written}`);
  lines.push(
    `${bold('GEMM')}       float32 by threads  ${perThread(
      p.gemm.map((g) => ({ threads: g.threads, v: g.flops })),
      'FLOP',
    )}${p.measured ? `   (nominal ${si(n.gemm[0]!.flops, 'FLOP')}/s per thread)` : ''}`,
    `${bold('bandwidth')}  by threads  ${perThread(
      p.bandwidth.map((b) => ({ threads: b.threads, v: b.bytesPerSecond })),
      'B',
    )}${p.measured ? `   (nominal ${si(n.bandwidth[0]!.bytesPerSecond, 'B')}/s per thread)` : ''}`,
    `${bold('dispatch')}   ${seconds(p.dispatch)} per op${p.measured ? `   (nominal ${seconds(n.dispatch)})` : ''}`,
    `${bold('message')}    ${seconds(p.message)} per message between two devices of this process${p.measured ? `   (nominal ${seconds(n.message)})` : ''}`,
  );
  if (!p.measured) lines.push('measure them with: fleetc host --measure');
  return lines;
}

export default command;
