import type { Command } from 'commander';
import type { ChalkInstance } from 'chalk';
import { readSkips, runTests, type CaseResult, type TestReport } from '../../api/test-runner.js';
import { FleetcError } from '../../diagnostics/index.js';
import { jsonOption, positiveInt, type FleetcCommand } from '../command.js';

interface TestFlags {
  rtol?: string;
  atol?: string;
  skips?: string;
  keep?: string;
  threads: string;
  requests: string;
  fleet?: string;
  quiet?: boolean;
  json?: boolean;
}

function num(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0) throw new FleetcError('E0901', `--${flag} '${v}': expected a non-negative number`);
  return x;
}

const sci = (x: number | null | undefined): string =>
  x === null || x === undefined ? '-' : x === 0 ? '0' : x.toExponential(2);

export function caseLine(r: CaseResult, c: ChalkInstance): string {
  switch (r.status) {
    case 'pass':
      return (
        `${c.green('PASS')}  ${r.name}` + (r.worst && r.worst.abs ? c.dim(`  (worst abs ${sci(r.worst.abs)})`) : '')
      );
    case 'fail':
      return (
        `${c.red('FAIL')}  ${r.name}: ${r.message ?? ''}` +
        (r.worst && r.worst.abs
          ? `  (worst abs ${sci(r.worst.abs)}, rel ${sci(r.worst.rel)} at '${r.worst.output}')`
          : '')
      );
    case 'error':
      return `${c.red('ERROR')} ${r.name} [${r.phase}]: ${r.message ?? ''}`;
    case 'skip':
      return `${c.yellow('SKIP')}  ${r.name}: ${r.message ?? ''}`;
  }
}

export function summaryLines(rep: TestReport): string[] {
  const n = rep.counts;
  const total = n.pass + n.fail + n.error + n.skip;
  const lines = [
    `${n.pass} passed, ${n.fail} failed, ${n.error} errors, ${n.skip} skipped of ${total} (${(rep.ms / 1000).toFixed(1)} s)`,
  ];
  for (const [d, x] of Object.entries(rep.domains).sort())
    lines.push(
      `  ${d}: ${x.passed}/${x.total} passed (${((100 * x.passed) / Math.max(1, x.total)).toFixed(1)}%)${x.skipped ? `, ${x.skipped} skipped` : ''}`,
    );
  return lines;
}

const command: FleetcCommand = {
  name: 'test',
  register(program, cli) {
    const cmd = program
      .command('test')
      .description('compile and run conformance-style tests (ONNX test folders, StableHLO .mlir test files)')
      .argument('<paths...>', 'ONNX test folders (model.onnx + test_data_set_N), folders of them, or .mlir files')
      .option('--rtol <x>', 'relative tolerance', '0.001')
      .option('--atol <x>', 'absolute tolerance', '0.00001')
      .option('--skips <file>', 'JSON object of test name → reason: tests to skip')
      .option('--keep <dir>', 'keep the compiled plans in this folder')
      .option('--threads <n>', 'intra-op threads for the runtime', '1')
      .option('--fleet <file>', 'compile every case for this fleet (multi-device plans; default: this machine)')
      .option('--requests <n>', 'requests in flight per case (>1: the readiness-driven multi-device engine)', '1')
      .option('-q, --quiet', 'print failures and the summary only');
    jsonOption(cmd);
    cmd.action(async (paths: string[], flags: TestFlags, self: Command) => {
      const c = cli.colors(self);
      const threads = positiveInt('threads', flags.threads);
      const requests = positiveInt('requests', flags.requests);
      const report = await runTests(paths, {
        requests,
        fleet: flags.fleet,
        rtol: num('rtol', flags.rtol),
        atol: num('atol', flags.atol),
        skips: flags.skips ? readSkips(flags.skips) : undefined,
        workDir: flags.keep,
        keep: !!flags.keep,
        threads,
        env: cli.io.env,
        onResult: flags.json
          ? undefined
          : (r) => {
              if (!flags.quiet || r.status === 'fail' || r.status === 'error') cli.io.out(caseLine(r, c) + '\n');
            },
      });
      if (flags.json) cli.json(report);
      else cli.io.out(summaryLines(report).join('\n') + '\n');
      if (report.runtimeProblem && !flags.json) cli.io.out(`${c.red('RUNTIME')} ${report.runtimeProblem}\n`);
      if (report.counts.fail + report.counts.error > 0 || report.runtimeProblem) cli.exitCode = 1;
    });
  },
};

export default command;
