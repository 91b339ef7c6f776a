// A steady stream of generation requests on one engine, for the live re-placement test and bench:
// `concurrency` requests in flight at all times (a new one as soon as one ends), prompts cycling
// through a fixed list, optionally a live controller beside the engine and the slowdown knob
// turned at a given step. Returns every step's signal with the time it arrived, the tokens of
// every request, and what the controller did.
import { Controller, type ControllerOptions, type ControllerStats } from '../../src/api/controller.js';
import { EngineProcess, type ReplannedEvent, type StepEvent } from '../../runtime/engine.js';

/** The prompts of the live request stream (test/live and `npm run bench -- live`): lengths 1 to 20. */
export const LIVE_PROMPTS = [
  [17, 300, 5],
  [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13],
  [999, 4, 77, 8, 123, 61],
  [42],
  [5, 300, 12, 9, 77, 31, 400, 2, 18, 650, 7, 3, 90, 11, 254, 800, 6, 1, 2, 35],
  [88, 88, 88, 88],
];

export interface StreamOptions {
  plan: string;
  prompts: number[][];
  maxTokens: number;
  concurrency: number;
  /** Stop after this many steps (counted from the first step of the stream). */
  steps: number;
  /** Slow a device down at a step of the stream: `{ device, factor, step }`. */
  slowdown?: { device: string; factor: number; step: number };
  /** Slowdown from the start (the knob on the command line). */
  slowdownAtStart?: string[];
  /** Run a live controller with these options. */
  controller?: Omit<ControllerOptions, 'log'>;
  /**
   * Then go on until the controller is idle (nothing compiling, no replan under way) after the
   * slowdown, and this many steps more (`settledAt` says where they start).
   */
  settle?: number;
  /** Wait for the controller's contingency plans before the stream starts (default true). */
  waitPrepared?: boolean;
  threads?: number;
  log?: (line: string) => void;
}

export interface StreamStep extends StepEvent {
  /** performance.now() when the event arrived. */
  at: number;
  /** Tokens reported during the step. */
  generated: number;
}

export interface StreamResult {
  steps: StreamStep[];
  /** Generated ids per request, and the prompt index each request used. */
  tokens: Map<string, number[]>;
  promptOf: Map<string, number>;
  finished: Set<string>;
  replanned: ReplannedEvent[];
  errors: string[];
  /** The step of the stream the slowdown was turned at. */
  slowedAt?: number;
  /** With `settle`: the step of the stream from which the controller was idle. */
  settledAt?: number;
  controller?: ControllerStats;
}

export async function runStream(o: StreamOptions): Promise<StreamResult> {
  const tokens = new Map<string, number[]>();
  const promptOf = new Map<string, number>();
  const finished = new Set<string>();
  const steps: StreamStep[] = [];
  const replanned: ReplannedEvent[] = [];
  const errors: string[] = [];
  let n = 0;
  let generated = 0;
  let first = -1;
  let slowedAt: number | undefined;
  let settledAt: number | undefined;
  let streaming = false;
  let done!: () => void;
  const end = new Promise<void>((r) => (done = r));
  let controller: Controller | undefined;
  const submit = (): void => {
    const id = `r${n}`;
    const p = n++ % o.prompts.length;
    tokens.set(id, []);
    promptOf.set(id, p);
    engine.submit({ id, prompt: o.prompts[p]!, maxTokens: o.maxTokens });
  };
  const engine: EngineProcess = new EngineProcess(
    o.plan,
    (e) => {
      controller?.onEvent(e);
      if (e.event === 'token') {
        tokens.get(e.id)?.push(e.token);
        generated++;
      } else if (e.event === 'done') {
        finished.add(e.id);
        if (streaming) submit();
      } else if (e.event === 'error') errors.push(e.message);
      else if (e.event === 'replanned') replanned.push(e);
      else if (e.event === 'step' && streaming) {
        if (first < 0) first = e.step;
        steps.push({ ...e, at: performance.now(), generated });
        generated = 0;
        const k = e.step - first;
        if (o.slowdown && k === o.slowdown.step) {
          engine.slowdown(o.slowdown.device, o.slowdown.factor);
          slowedAt = k;
        }
        if (o.settle !== undefined && settledAt === undefined && k + 1 >= o.steps && controller?.idle) settledAt = k;
        if (
          k + 1 >= o.steps &&
          (o.settle === undefined || (settledAt !== undefined && k + 1 >= settledAt + o.settle))
        ) {
          streaming = false;
          done();
        }
      }
    },
    { signals: true, threads: o.threads, slowdown: o.slowdownAtStart },
  );
  await engine.ready;
  if (o.controller) controller = new Controller(engine, o.plan, { ...o.controller, log: o.log });
  if (controller && o.waitPrepared !== false) await controller.prepared;
  streaming = true;
  for (let i = 0; i < o.concurrency; i++) submit();
  await end;
  const stats = controller?.stats();
  await controller?.close();
  engine.kill();
  await engine.whenExited();
  return { steps, tokens, promptOf, finished, replanned, errors, slowedAt, settledAt, controller: stats };
}

/** Tokens per second over steps [from, to) of a stream: tokens reported ÷ the time between the steps' arrivals. */
export function throughput(steps: StreamStep[], from: number, to: number): number {
  const w = steps.slice(Math.max(1, from), Math.min(to, steps.length));
  if (w.length < 2) return 0;
  const tokens = w.reduce((a, s) => a + s.generated, 0);
  return tokens / ((w.at(-1)!.at - steps[Math.max(1, from) - 1]!.at) / 1e3);
}
