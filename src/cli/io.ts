import { Chalk, type ChalkInstance } from 'chalk';
import ora from 'ora';

/** Where the CLI writes, and what it knows about the terminal; tests pass their own. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  stdoutIsTTY: boolean;
  stderrIsTTY: boolean;
  env: Record<string, string | undefined>;
  /** The real stderr stream, for the spinner (absent in tests). */
  stderrStream?: NodeJS.WritableStream;
}

export function processIO(): CliIO {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    stdoutIsTTY: !!process.stdout.isTTY,
    stderrIsTTY: !!process.stderr.isTTY,
    env: process.env,
    stderrStream: process.stderr,
  };
}

/** Colour only on a terminal, never with NO_COLOR set (any value) or --no-color. */
export function colors(io: CliIO, flag: boolean, stream: 'out' | 'err' = 'out'): ChalkInstance {
  const tty = stream === 'out' ? io.stdoutIsTTY : io.stderrIsTTY;
  const on = flag && tty && io.env.NO_COLOR === undefined;
  return new Chalk({ level: on ? 1 : 0 });
}

export interface Spinner {
  update(text: string): void;
  stop(): void;
}

/** An ora spinner on stderr when stderr is a terminal; otherwise nothing is drawn. */
export function spinner(io: CliIO, text: string, color: boolean): Spinner {
  if (!io.stderrIsTTY || !io.stderrStream) return { update() {}, stop() {} };
  const s = ora({ text, stream: io.stderrStream, color: color ? 'cyan' : undefined }).start();
  return {
    update(t) {
      s.text = t;
    },
    stop() {
      s.stop();
    },
  };
}
