/**
 * A long-lived `fleetrt --batch` process fed one JSON job per line, as the test runner needs it:
 * jobs are written while earlier ones run; a crash or a hang costs only the job that caused it
 * (it is reported, and the jobs after it go to a fresh process).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface BatchJob {
  id: string;
  plan: string;
  inputs: string[];
  expected: (string | null | { file?: string; output?: number; rtol?: number; atol?: number; ulp?: number })[];
  rtol?: number;
  atol?: number;
  outputDir?: string;
  /** >1: run on the multi-device engine with that many requests in flight */
  requests?: number;
}

export interface BatchResult {
  id: string;
  status: 'pass' | 'fail' | 'error' | 'crash' | 'timeout';
  message?: string;
  worst?: { output: string; abs: number | null; rel: number | null };
  ms?: number;
}

interface Pending {
  job: BatchJob;
  resolve: (r: BatchResult) => void;
}

export interface BatchOptions {
  fleetrt: string;
  threads?: number;
  /** A job running longer than this is killed and reported as a timeout. */
  timeoutMs?: number;
  /** Extra environment for the fleetrt process (on top of this process's). */
  env?: Record<string, string | undefined>;
}

export class BatchProcess {
  private child: ChildProcessWithoutNullStreams | null = null;
  private queue: Pending[] = [];
  private buf = '';
  private stderr = '';
  private headSince = 0;
  private timer: NodeJS.Timeout | null = null;
  /** Processes started so far (1 + restarts after crashes and timeouts). */
  starts = 0;

  constructor(private readonly o: BatchOptions) {}

  submit(job: BatchJob): Promise<BatchResult> {
    return new Promise((resolve) => {
      const p = { job, resolve };
      this.queue.push(p);
      if (this.queue.length === 1) this.headSince = Date.now();
      this.ensure().stdin.write(JSON.stringify(job) + '\n');
    });
  }

  /**
   * Ends the process once every submitted job has its result. Resolves with a problem when the
   * process did not end cleanly after its last job (e.g. LeakSanitizer's report at exit).
   */
  async close(): Promise<string | undefined> {
    while (this.queue.length) await new Promise((r) => setTimeout(r, 20));
    this.stopTimer();
    const c = this.child;
    this.child = null;
    if (!c) return undefined;
    const done = new Promise<[number | null, NodeJS.Signals | null]>((r) =>
      c.once('close', (code, signal) => r([code, signal])),
    );
    c.stdin.end();
    const [code, signal] = await done;
    if (code === 0) return undefined;
    const lines = this.stderr.trim().split('\n');
    const last = lines.find((l) => l.startsWith('SUMMARY: ')) ?? lines.at(-1);
    return `fleetrt ${signal ? `was killed by ${signal}` : `exited with status ${code}`} after the last case${last ? `: ${last}` : ''}`;
  }

  private ensure(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const args = ['--batch', '-'];
    if (this.o.threads) args.push('--threads', String(this.o.threads));
    const c = spawn(this.o.fleetrt, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...this.o.env } });
    this.starts++;
    this.child = c;
    this.buf = '';
    this.stderr = '';
    c.stdout.setEncoding('utf8').on('data', (d: string) => this.onData(d));
    c.stderr.setEncoding('utf8').on('data', (d: string) => void (this.stderr = (this.stderr + d).slice(-4000)));
    c.stdin.on('error', () => {});
    c.on('close', (code, signal) => this.onExit(c, code, signal));
    if (this.o.timeoutMs && !this.timer)
      this.timer = setInterval(() => this.checkTimeout(), Math.min(1000, this.o.timeoutMs));
    return c;
  }

  private onData(d: string): void {
    this.buf += d;
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      if (!line.trim()) continue;
      let r: BatchResult;
      try {
        r = JSON.parse(line) as BatchResult;
      } catch {
        continue; // a kernel printed something; not a result
      }
      const head = this.queue[0];
      if (!head) continue;
      if (r.id !== head.job.id)
        r = { id: head.job.id, status: 'error', message: `fleetrt answered for '${r.id}' out of order` };
      this.queue.shift();
      this.headSince = Date.now();
      head.resolve(r);
    }
  }

  private onExit(c: ChildProcessWithoutNullStreams, code: number | null, signal: NodeJS.Signals | null): void {
    if (this.child !== c) return;
    this.child = null;
    const head = this.queue.shift();
    if (!head) return;
    const why = this.killedForTimeout
      ? `timed out after ${Math.round(this.o.timeoutMs! / 1000)} s`
      : `fleetrt ${signal ? `was killed by ${signal}` : `exited with status ${code}`}`;
    const lines = this.stderr.trim().split('\n');
    const last = lines.find((l) => l.startsWith('SUMMARY: ')) ?? lines.at(-1);
    head.resolve({
      id: head.job.id,
      status: this.killedForTimeout ? 'timeout' : 'crash',
      message: why + (last ? `: ${last}` : ''),
    });
    this.killedForTimeout = false;
    // The rest go to a fresh process.
    const rest = this.queue;
    this.queue = [];
    for (const p of rest) void this.submit(p.job).then(p.resolve);
  }

  private killedForTimeout = false;

  private checkTimeout(): void {
    if (!this.child || !this.queue.length || !this.o.timeoutMs) return;
    if (Date.now() - this.headSince > this.o.timeoutMs) {
      this.killedForTimeout = true;
      this.child.kill('SIGKILL');
    }
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
