// A calibration: the cost model's parameters fitted to measured runs of one fleet (`fleetc tune
// -o calibration.json`), read back by `fleetc compile --calibration`. Per device a fitted line per
// kind of work (targets/fit.ts) and the time its messages cost it, per pair of devices the time
// of a message, per request what it costs outside any op. It describes the devices it was
// measured on, so a fleet with other devices refuses it (E0306).
import { readFileSync } from 'node:fs';
import AjvModule from 'ajv';
import { FleetcError } from '../diagnostics/index.js';
import { deviceFit } from '../../targets/fit.js';
import type { DeviceFit } from '../../targets/index.js';
import schema from './calibration.schema.json' with { type: 'json' };
import {
  CALIBRATION_FORMAT,
  CALIBRATION_VERSION,
  type Calibration,
  type CalibratedPair,
  type FleetIdentity,
} from './calibration-format.js';
import type { Fleet } from './types.js';

export * from './calibration-format.js';

const Ajv = AjvModule.default ?? AjvModule;
const validate = new Ajv({ allErrors: false, strict: false }).compile(schema);

/** Reads and validates a calibration file; one E0305 line naming the file and the problem otherwise. */
export function readCalibration(file: string): Calibration {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new FleetcError(
      'E0305',
      `cannot read the calibration: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      { file },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new FleetcError('E0305', `not valid JSON: ${(e as Error).message}`, { file });
  }
  const head = json as { format?: unknown; version?: unknown } | null;
  if (head?.format !== CALIBRATION_FORMAT)
    throw new FleetcError('E0305', `not a fleetc calibration (format is not '${CALIBRATION_FORMAT}')`, { file });
  if (head.version !== CALIBRATION_VERSION)
    throw new FleetcError(
      'E0305',
      `calibration version ${JSON.stringify(head.version)}: this fleetc reads version ${CALIBRATION_VERSION} (run fleetc tune again)`,
      { file },
    );
  if (!validate(json)) {
    const err = validate.errors![0]!;
    const extra = err.params && 'additionalProperty' in err.params ? ` '${String(err.params.additionalProperty)}'` : '';
    throw new FleetcError('E0305', `${err.instancePath || '/'}: ${err.message ?? 'is invalid'}${extra}`, { file });
  }
  const cal = json as unknown as Calibration;
  const ids = new Set(cal.fleet.devices.map((d) => d.id));
  for (const d of cal.devices)
    if (!ids.has(d.id)) throw new FleetcError('E0305', `devices: '${d.id}' is not a device of its fleet`, { file });
  for (const p of cal.pairs)
    for (const id of p.between)
      if (!ids.has(id)) throw new FleetcError('E0305', `pairs: '${id}' is not a device of its fleet`, { file });
  return cal;
}

/** The identity of a fleet as a calibration records it. */
export function fleetIdentity(fleet: Fleet): FleetIdentity {
  return {
    name: fleet.name,
    devices: fleet.devices.map((d) => ({
      id: d.id,
      class: d.class,
      host: d.host,
      backend: d.backend,
      ...(d.cudaDevice !== undefined ? { ordinal: d.cudaDevice } : {}),
      threads: d.threads,
    })),
    links: fleet.links.map((l) => ({ id: l.id, between: [l.between[0], l.between[1]] })),
  };
}

/** Why a calibration measured on `was` does not describe `is`, or null when it does. */
export function identityMismatch(was: FleetIdentity, is: FleetIdentity): string | null {
  if (was.name !== is.name) return `it was measured on fleet '${was.name}', not '${is.name}'`;
  const before = new Map(was.devices.map((d) => [d.id, d]));
  const now = new Map(is.devices.map((d) => [d.id, d]));
  for (const d of is.devices)
    if (!before.has(d.id)) return `device '${d.id}' was not in the measured fleet (${[...before.keys()].join(', ')})`;
  for (const d of was.devices) if (!now.has(d.id)) return `measured device '${d.id}' is not in this fleet`;
  for (const d of is.devices) {
    const b = before.get(d.id)!;
    for (const key of ['class', 'host', 'backend', 'ordinal', 'threads'] as const)
      if (b[key] !== d[key])
        return `device '${d.id}': ${key} ${String(d[key] ?? 'unset')} here, ${String(b[key] ?? 'unset')} when measured`;
  }
  const linkKey = (l: FleetIdentity['links'][number]): string => `${l.id}:${[...l.between].sort().join('|')}`;
  const links = new Set(was.links.map(linkKey));
  for (const l of is.links) if (!links.has(linkKey(l))) return `link '${l.id}' was not in the measured fleet`;
  if (was.links.length !== is.links.length)
    return `the measured fleet had ${was.links.length} links, this one ${is.links.length}`;
  return null;
}

/** The fleet with its calibration attached (FleetCost prices by it), or E0306 when it was measured on another fleet. */
export function calibrateFleet(fleet: Fleet, cal: Calibration, file: string): Fleet {
  const why = identityMismatch(cal.fleet, fleetIdentity(fleet));
  if (why) throw new FleetcError('E0306', `the calibration does not describe this fleet: ${why}`, { file });
  return { ...fleet, calibration: cal };
}

/** The fleet priced by the calibration in `file` (none: as it is). */
export function withCalibration(fleet: Fleet, file: string | undefined): Fleet {
  return file === undefined ? fleet : calibrateFleet(fleet, readCalibration(file), file);
}

/** A device's fitted lines as the roofline takes them (undefined: not measured). */
export function deviceFitOf(cal: Calibration | undefined, id: string): DeviceFit | undefined {
  const d = cal?.devices.find((x) => x.id === id);
  return d ? deviceFit(d) : undefined;
}

/** The measured message cost between two devices, either direction. */
export function pairOf(cal: Calibration | undefined, a: string, b: string): CalibratedPair | undefined {
  return cal?.pairs.find(
    (p) => (p.between[0] === a && p.between[1] === b) || (p.between[0] === b && p.between[1] === a),
  );
}
