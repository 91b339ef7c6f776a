import type { Command } from 'commander';
import { generate, type GenerateOptions, type GenerateResult } from '../../api/generate.js';
import { FleetcError } from '../../diagnostics/index.js';
import { formatBytes } from '../../util/units.js';
import { adaptOptions, collect, jsonOption, positiveInt, slowdownFlag, type FleetcCommand } from '../command.js';

interface GenerateFlags {
  fleet?: string;
  promptIds: string[];
  prompt: string[];
  tokenizer?: string;
  maxNewTokens?: string;
  temperature?: string;
  topK?: string;
  topP?: string;
  seed?: string;
  stopId: string[];
  maxContext?: string;
  threads?: string;
  launcher: string;
  output?: string;
  metrics?: string;
  trace?: string;
  adapt?: boolean;
  slowdown: string[];
  json?: boolean;
}

function ids(flag: string, text: string): number[] {
  const parts = text.split(',').map((s) => s.trim());
  if (parts.some((p) => !/^\d+$/.test(p)))
    throw new FleetcError('E0901', `--${flag} '${text}': expected comma-separated token ids`);
  return parts.map(Number);
}

function number(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n)) throw new FleetcError('E0901', `--${flag} '${v}': expected a number`);
  return n;
}

function liveSummary(r: GenerateResult): string {
  const l = r.live;
  if (!l) return '';
  const moves = l.replacements
    .map(
      (m) => `  step ${m.step}: ${m.reason}${m.stallMs !== undefined ? `; stalled ${m.stallMs.toFixed(1)} ms` : ''}\n`,
    )
    .join('');
  return `live: ${l.replacements.length} re-placement${l.replacements.length === 1 ? '' : 's'} in ${l.steps} steps\n${moves}`;
}

function summary(r: GenerateResult): string {
  const t = r.telemetry;
  const tokens = r.sequences.reduce((a, s) => a + s.length, 0);
  return (
    `${r.sequences.length} sequence${r.sequences.length === 1 ? '' : 's'}, ${tokens} tokens; prefill ${t.prefillMs.toFixed(2)} ms, ` +
    `decode ${t.decodeStepP50Ms.toFixed(3)} ms/step p50 (${t.tokensPerSecond.toFixed(0)} tokens/s); KV per decode step: ` +
    `${formatBytes(t.kvBytesWrittenPerDecodeStep)} written, ${formatBytes(t.kvBytesMovedPerDecodeStep)} moved, ` +
    `occupancy ${(t.kvOccupancy * 100).toFixed(1)}%${t.preemptions ? `, ${t.preemptions} preemptions` : ''}\n`
  );
}

const command: FleetcCommand = {
  name: 'generate',
  register(program, cli) {
    const cmd = program
      .command('generate')
      .description(
        'generate tokens with a decoder on the engine: prefill, then decode with the KV cache kept where it lives',
      )
      .argument(
        '<model>',
        'a decoder model (.onnx) compiled here for the fleet, or a build folder compiled with --generate',
      )
      .option('--fleet <file>', 'fleet file (compiling a model); default: this machine as one cpu device')
      .option(
        '--prompt-ids <ids>',
        'a prompt as comma-separated token ids (repeatable: prompts run together)',
        collect,
        [],
      )
      .option('--prompt <text>', 'a text prompt (needs a tokenizer; repeatable)', collect, [])
      .option('--tokenizer <file>', 'tokenizer.json (default: one beside the model)')
      .option('--max-new-tokens <n>', 'tokens to generate per prompt', '16')
      .option('--temperature <t>', '0 (default) is greedy; > 0 samples')
      .option('--top-k <k>', 'sample among the k most likely tokens')
      .option('--top-p <p>', 'sample within the smallest set of tokens whose probability reaches p')
      .option('--seed <s>', 'seed for sampling (reproducible)')
      .option('--stop-id <id>', 'stop a sequence when it generates this id (repeatable)', collect, [])
      .option('--max-context <n>', 'tokens the KV pool holds in all (compiling a model)')
      .option('--threads <n>', 'intra-op threads per device')
      .option('--launcher <kind>', 'inproc (one process) or mpi (one rank per device under mpirun)', 'inproc')
      .option('-o, --output <dir>', 'keep the compiled build in this folder')
      .option('--metrics <file>', 'write the engine metrics (per device, per op, generation figures)')
      .option('--trace <file>', 'write a Chrome/Perfetto trace');
    adaptOptions(cmd);
    jsonOption(cmd);
    cmd.action(async (model: string, flags: GenerateFlags, self: Command) => {
      const stream = !flags.json && flags.promptIds.length + flags.prompt.length === 1;
      const spin = cli.spinner(self, `preparing ${model}`);
      let streamed = false;
      const res = await generate(model, {
        fleet: flags.fleet,
        promptIds: flags.promptIds.map((p) => ids('prompt-ids', p)),
        prompts: flags.prompt,
        tokenizer: flags.tokenizer,
        maxNewTokens: positiveInt('max-new-tokens', flags.maxNewTokens ?? '16'),
        temperature: number('temperature', flags.temperature),
        topK: number('top-k', flags.topK),
        topP: number('top-p', flags.topP),
        seed: number('seed', flags.seed),
        stopIds: flags.stopId.map((s) => ids('stop-id', s)[0]!),
        maxContext: flags.maxContext === undefined ? undefined : positiveInt('max-context', flags.maxContext),
        threads: flags.threads === undefined ? undefined : positiveInt('threads', flags.threads),
        launcher: flags.launcher as GenerateOptions['launcher'],
        buildDir: flags.output,
        metrics: flags.metrics,
        trace: flags.trace,
        adapt: flags.adapt,
        slowdown: flags.slowdown.map(slowdownFlag),
        env: cli.io.env,
        onToken: stream
          ? (_i, token) => {
              if (!streamed) spin.stop();
              streamed = true;
              if (!flags.prompt.length) cli.io.out(`${token} `);
            }
          : undefined,
      }).finally(() => spin.stop());
      if (flags.json) {
        cli.json({
          sequences: res.sequences,
          ...(res.texts ? { texts: res.texts } : {}),
          reasons: res.reasons,
          telemetry: res.telemetry,
          ...(res.live ? { live: res.live } : {}),
        });
        return;
      }
      if (stream && !res.texts) cli.io.out('\n');
      else
        res.sequences.forEach((s, i) =>
          cli.io.out(`${res.sequences.length > 1 ? `[${i}] ` : ''}${res.texts ? res.texts[i] : s.join(' ')}\n`),
        );
      cli.io.err(summary(res) + liveSummary(res));
    });
  },
};

export default command;
