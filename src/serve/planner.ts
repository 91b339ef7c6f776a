/**
 * Where the served plan comes from, and how it is made again on the devices that remain after
 * one is lost: the same model through the compiler, with the same generation options (pool size,
 * page size, step budget), for the fleet minus the lost devices.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compile } from '../api/compile.js';
import { isBuildDir, type PlanJSON } from '../api/plan.js';
import type { GenerateOptions } from '../api/state-plan.js';
import { FleetcError } from '../diagnostics/index.js';
import { loadFleet, localFleet } from '../fleet/load.js';
import type { Fleet } from '../fleet/types.js';

export function readPlan(file: string): PlanJSON {
  return JSON.parse(readFileSync(file, 'utf8')) as PlanJSON;
}

/** The fleet without the given devices, their links and the pins that name them. */
export function fleetWithout(fleet: Fleet, lost: ReadonlySet<string>): Fleet {
  const devices = fleet.devices.filter((d) => !lost.has(d.id));
  const hosts = fleet.hosts.filter((h) => devices.some((d) => d.host === h));
  return {
    ...fleet,
    name: `${fleet.name} without ${[...lost].join(', ')}`,
    hosts,
    devices,
    links: fleet.links.filter((l) => !l.between.some((end) => lost.has(end))),
    pins: fleet.pins.filter((p) => !lost.has(p.device)),
  };
}

export interface PlannerOptions {
  fleet?: string | Fleet;
  /** Generation options for compiling the model (ignored for a build, whose plan has them). */
  generate?: GenerateOptions;
  /** The model a build was compiled from: lets a build be re-planned after a device loss. */
  source?: string;
  /** Folder for the plans this makes. */
  workDir: string;
}

export interface MadePlan {
  planPath: string;
  plan: PlanJSON;
  /** Compile time (ms); 0 for a build used as it is. */
  ms: number;
}

export class Planner {
  private readonly model: string | undefined;
  private readonly fleet: Fleet | undefined;
  private generateOptions: GenerateOptions | undefined;
  private count = 0;
  /** Why re-planning is impossible (a build served without its model or fleet), or undefined. */
  readonly cannotReplan: string | undefined;

  constructor(
    private readonly target: string,
    private readonly o: PlannerOptions,
  ) {
    const build = isBuildDir(target);
    this.fleet =
      o.fleet === undefined
        ? build
          ? undefined
          : localFleet()
        : typeof o.fleet === 'string'
          ? loadFleet(o.fleet)
          : o.fleet;
    if (!build) {
      this.model = target;
      this.generateOptions = o.generate ?? {};
      return;
    }
    const plan = readPlan(join(target, 'plan.json'));
    if (o.source) {
      if (!existsSync(o.source))
        throw new FleetcError('E0101', 'cannot read the model: no such file', { file: o.source });
      const sha = plan.model.sha256;
      if (sha && createHash('sha256').update(readFileSync(o.source)).digest('hex') !== sha)
        throw new FleetcError('E0601', `the build at ${target} was not compiled from this model (sha256 differs)`, {
          file: o.source,
        });
      this.model = o.source;
    }
    if (this.fleet && this.fleet.name !== plan.fleet.name)
      throw new FleetcError(
        'E0301',
        `the build at ${target} was compiled for fleet '${plan.fleet.name}', not '${this.fleet.name}'`,
        { file: this.fleet.file || undefined },
      );
    this.cannotReplan = !this.model
      ? 'the build was served without its model (give --model FILE to let the server re-plan)'
      : !this.fleet
        ? 'the build was served without its fleet file (give --fleet FILE to let the server re-plan)'
        : undefined;
  }

  /** The plan to serve first: the build's, or the model compiled for the whole fleet. */
  async initial(): Promise<MadePlan> {
    if (isBuildDir(this.target)) {
      const planPath = resolve(this.target, 'plan.json');
      const plan = readPlan(planPath);
      if (!plan.generation)
        throw new FleetcError(
          'E0601',
          'the build was not compiled for generation (fleetc compile --generate, or give the model)',
          { file: planPath },
        );
      this.keepGeneration(plan);
      return { planPath, plan, ms: 0 };
    }
    const made = await this.make(this.fleet!);
    this.keepGeneration(made.plan);
    return made;
  }

  /** What a live controller re-plans from: the model and the fleet left (undefined when the server cannot re-plan). */
  liveSource(lost: ReadonlySet<string>): { model: string; fleet: Fleet } | undefined {
    if (this.cannotReplan || !this.model || !this.fleet) return undefined;
    return { model: this.model, fleet: lost.size ? fleetWithout(this.fleet, lost) : this.fleet };
  }

  /** The folder plans are made in. */
  get workDir(): string {
    return this.o.workDir;
  }

  /** The model compiled again for the fleet without `lost`. Throws (with the compiler's reason) when it cannot be placed. */
  async without(lost: ReadonlySet<string>): Promise<MadePlan> {
    if (this.cannotReplan) throw new FleetcError('E0603', `cannot re-plan: ${this.cannotReplan}`);
    const fleet = fleetWithout(this.fleet!, lost);
    if (fleet.devices.length === 0) throw new FleetcError('E0603', 'no device of the fleet is left');
    try {
      return await this.make(fleet);
    } catch (e) {
      // The devices left may hold the model with a smaller KV pool: serve with what fits.
      const pool = this.generateOptions?.maxContext;
      if (pool === undefined || !(e instanceof FleetcError) || !/--max-context/.test(e.message)) throw e;
      return this.make(fleet, { ...this.generateOptions, maxContext: undefined });
    }
  }

  /** Re-plans keep the served plan's pool, pages and step budget, so every request in flight still fits. */
  private keepGeneration(plan: PlanJSON): void {
    const g = plan.generation;
    if (g)
      this.generateOptions = { maxContext: g.capacityTokens, pageSize: g.pageSize, maxStepTokens: g.maxStepTokens };
  }

  private async make(fleet: Fleet, generate = this.generateOptions): Promise<MadePlan> {
    if (!this.model) throw new FleetcError('E0603', 'cannot re-plan: no model');
    const out = join(this.o.workDir, `plan-${this.count++}`);
    const t0 = performance.now();
    const res = await compile(this.model, out, {
      fleet,
      generate: generate ?? true,
      report: false,
      force: true,
    });
    return { planPath: res.planPath, plan: res.plan, ms: performance.now() - t0 };
  }
}
