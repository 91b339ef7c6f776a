/**
 * `fleetc generate`: autoregressive decoding on the engine. Takes a model (compiled here for the
 * fleet with its KV cache as paged state) or a build compiled with `generate`, checks the prompts
 * and sampling values, runs every prompt as one request of one engine (they share its steps), and
 * returns the generated ids (and text, with a tokenizer) and the engine's generation figures.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { EngineProcess, type EngineEvent, type GenerationStats } from '../../runtime/engine.js';
import type { LauncherKind } from '../../runtime/launch.js';
import { FleetcError } from '../diagnostics/index.js';
import { localFleet } from '../fleet/load.js';
import type { Fleet } from '../fleet/types.js';
import { compile } from './compile.js';
import { Controller, type ControllerOptions, type ControllerStats } from './controller.js';
import { isBuildDir, type PlanJSON } from './plan.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

export interface GenerateOptions {
  /** Fleet for compiling a model (ignored for a build). */
  fleet?: string | Fleet;
  /** Token-id prompts; or text prompts with a tokenizer. All run together. */
  promptIds?: number[][];
  prompts?: string[];
  /** tokenizer.json; default: one beside the model or in the build folder. */
  tokenizer?: string;
  maxNewTokens?: number;
  /** 0 (default) is greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  stopIds?: number[];
  /** Tokens the KV pool holds (compiling a model). */
  maxContext?: number;
  threads?: number;
  /** inproc (default) or mpi: one rank per device under mpirun. */
  launcher?: LauncherKind;
  /** Where to write the build when compiling a model (default: a temporary folder). */
  buildDir?: string;
  metrics?: string;
  trace?: string;
  /** Each token as it is generated (prompt index, token id). */
  onToken?: (prompt: number, token: number) => void;
  /**
   * Live re-placement (docs/runtime.md): a controller watches the engine's steps and moves the
   * model to a plan for the fleet as it runs when a device slows down. Needs a model (it compiles
   * new plans of it), not a build. `true`, or the controller's options.
   */
  adapt?: boolean | Partial<Omit<ControllerOptions, 'model' | 'fleet'>>;
  /** Test knob: `DEVICE=FACTOR[@STEP]` makes a device FACTOR times slower (from step STEP on). */
  slowdown?: string[];
  /** One line per live decision. */
  log?: (line: string) => void;
  env?: Record<string, string | undefined>;
}

export interface GenerateTelemetry extends GenerationStats {
  /** p50 of decode steps (ms). */
  decodeStepP50Ms: number;
}

export interface GenerateResult {
  plan: string;
  /** Generated ids per prompt, prompt excluded. */
  sequences: number[][];
  /** Why each one ended: length, stop. */
  reasons: string[];
  texts?: string[];
  telemetry: GenerateTelemetry;
  /** With `adapt`: what the live controller measured and did. */
  live?: ControllerStats;
}

function readPlan(file: string): PlanJSON {
  return JSON.parse(readFileSync(file, 'utf8')) as PlanJSON;
}

function checkSampling(o: GenerateOptions): void {
  const bad = (m: string): never => {
    throw new FleetcError('E0602', m);
  };
  if (o.maxNewTokens !== undefined && !(Number.isInteger(o.maxNewTokens) && o.maxNewTokens >= 1))
    bad(`--max-new-tokens must be a positive integer, not ${o.maxNewTokens}`);
  if (o.temperature !== undefined && !(o.temperature >= 0 && Number.isFinite(o.temperature)))
    bad(`--temperature must be ≥ 0, not ${o.temperature}`);
  if (o.topP !== undefined && !(o.topP > 0 && o.topP <= 1)) bad(`--top-p must be in (0, 1], not ${o.topP}`);
  if (o.topK !== undefined && !(Number.isInteger(o.topK) && o.topK >= 0))
    bad(`--top-k must be a non-negative integer, not ${o.topK}`);
  if (o.seed !== undefined && !(Number.isInteger(o.seed) && o.seed >= 0))
    bad(`--seed must be a non-negative integer, not ${o.seed}`);
}

/** The prompts as ids, checked against the vocabulary and the pool. */
function promptIds(o: GenerateOptions, plan: PlanJSON, tok: TextTokenizer | undefined): number[][] {
  const gen = plan.generation!;
  let ids = o.promptIds ?? [];
  if (o.prompts?.length) {
    if (!tok)
      throw new FleetcError(
        'E0602',
        'a text prompt needs a tokenizer: put tokenizer.json beside the model or give --tokenizer FILE',
      );
    ids = [...ids, ...o.prompts.map((p) => tok.encode(p))];
  }
  if (ids.length === 0)
    throw new FleetcError('E0602', 'no prompt: give --prompt-ids 1,2,3 (repeatable) or --prompt TEXT');
  const maxNew = o.maxNewTokens ?? 16;
  ids.forEach((p, i) => {
    if (p.length === 0) throw new FleetcError('E0602', `prompt ${i} is empty`);
    p.forEach((id, k) => {
      if (!Number.isInteger(id) || id < 0 || id >= gen.vocab)
        throw new FleetcError(
          'E0602',
          `prompt ${i}: id ${id} (position ${k}) is outside the vocabulary 0..${gen.vocab - 1}`,
        );
    });
    if (gen.staticCapacity !== undefined && p.length + maxNew > gen.staticCapacity)
      throw new FleetcError(
        'E0602',
        `prompt ${i}: ${p.length} tokens + ${maxNew} new = ${p.length + maxNew} tokens do not fit the static cache of ${gen.staticCapacity} (the model's masks address no later position)`,
      );
    if (gen.maxPositions !== undefined && p.length + maxNew > gen.maxPositions)
      throw new FleetcError(
        'E0602',
        `prompt ${i}: ${p.length} tokens + ${maxNew} new exceed the model's ${gen.maxPositions} positions`,
      );
    if (p.length + maxNew > gen.capacityTokens)
      throw new FleetcError(
        'E0602',
        `prompt ${i}: ${p.length} tokens + ${maxNew} new exceed the KV capacity of ${gen.capacityTokens} tokens (compile with a larger --max-context)`,
      );
  });
  return ids;
}

function findTokenizer(o: GenerateOptions, model: string): string | undefined {
  if (o.tokenizer) {
    if (!existsSync(o.tokenizer))
      throw new FleetcError('E0101', 'cannot read the tokenizer: no such file', { file: o.tokenizer });
    return o.tokenizer;
  }
  const here = isBuildDir(model) ? model : dirname(model);
  const candidate = join(here, 'tokenizer.json');
  return existsSync(candidate) ? candidate : undefined;
}

export async function generate(model: string, o: GenerateOptions = {}): Promise<GenerateResult> {
  checkSampling(o);
  let planPath: string;
  let temp: string | undefined;
  if (o.adapt && isBuildDir(model))
    throw new FleetcError(
      'E0601',
      'live re-placement (--adapt) needs the model, not a build: it compiles new plans of it',
      {
        file: model,
      },
    );
  if (isBuildDir(model)) {
    // A build was compiled for its fleet and KV pool: these would be silently ignored.
    const compileOnly = [o.fleet !== undefined && '--fleet', o.maxContext !== undefined && '--max-context'].filter(
      (x): x is string => typeof x === 'string',
    );
    if (compileOnly.length)
      throw new FleetcError(
        'E0601',
        `${compileOnly.join(' and ')} ${compileOnly.length > 1 ? 'apply' : 'applies'} when compiling a model; this build is already compiled (give the model, or recompile it with fleetc compile --generate)`,
        { file: model },
      );
    planPath = resolve(model, 'plan.json');
  } else {
    const out = o.buildDir ?? (temp = mkdtempSync(join(tmpdir(), 'fleetc-generate-')));
    const res = await compile(model, out, {
      fleet: o.fleet,
      generate: o.maxContext !== undefined ? { maxContext: o.maxContext } : true,
      report: false,
      force: !!temp,
    });
    planPath = res.planPath;
  }
  try {
    const plan = readPlan(planPath);
    if (!plan.generation)
      throw new FleetcError(
        'E0601',
        'the build was not compiled for generation (fleetc compile --generate, or give the model)',
        {
          file: planPath,
        },
      );
    const tokFile = findTokenizer(o, model);
    const tok = tokFile ? loadTokenizer(tokFile) : undefined;
    const prompts = promptIds(o, plan, tok);
    const sequences: number[][] = prompts.map(() => []);
    const reasons: string[] = prompts.map(() => '');
    let failure: Error | undefined;
    let controller: Controller | undefined;
    let finished = 0;
    let allDone!: () => void;
    const done = new Promise<void>((r) => (allDone = r));
    const onEvent = (e: EngineEvent): void => {
      controller?.onEvent(e);
      if (e.event === 'token') {
        const i = Number(e.id);
        sequences[i]!.push(e.token);
        o.onToken?.(i, e.token);
      } else if (e.event === 'done') {
        reasons[Number(e.id)] = e.reason;
        if (++finished === prompts.length) allDone();
      } else if (e.event === 'error') {
        failure ??= new FleetcError('E0602', e.message);
        if (e.id !== null) allDone();
      }
    };
    const engine = new EngineProcess(planPath, onEvent, {
      threads: o.threads,
      metrics: o.metrics,
      trace: o.trace,
      env: o.env,
      signals: !!o.adapt,
      slowdown: o.slowdown,
    });
    await engine.ready;
    if (o.adapt)
      controller = new Controller(engine, planPath, {
        ...(typeof o.adapt === 'object' ? o.adapt : {}),
        model,
        fleet: o.fleet ?? localFleet(),
        workDir: (typeof o.adapt === 'object' ? o.adapt.workDir : undefined) ?? join(dirname(planPath), 'live'),
        log: o.log,
      });
    prompts.forEach((p, i) =>
      engine.submit({
        id: String(i),
        prompt: p,
        maxTokens: o.maxNewTokens ?? 16,
        temperature: o.temperature ?? 0,
        topK: o.topK ?? 0,
        topP: o.topP ?? 1,
        seed: o.seed ?? 0,
        stop: o.stopIds ?? [],
      }),
    );
    // A controller may still move the model between steps: the engine's input stays open until
    // every request has ended (or one failed, or the engine did).
    if (controller) await Promise.race([done, engine.whenExited()]);
    const stats = await engine.close().finally(() => controller?.close());
    if (failure) throw failure;
    if (!stats) throw new Error('the engine reported no figures');
    return {
      plan: planPath,
      sequences,
      reasons,
      ...(tok ? { texts: sequences.map((s) => tok.decode(s)) } : {}),
      telemetry: { ...stats, decodeStepP50Ms: stats.decodeStepMs.p50 },
      ...(controller ? { live: controller.stats() } : {}),
    };
  } finally {
    if (temp) rmSync(temp, { recursive: true, force: true });
  }
}
