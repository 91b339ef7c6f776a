import { FleetcError } from '../diagnostics/index.js';
import type { Fleet, Pin } from './types.js';

/** `--pin 'regex=device'` (or `--forbid`): the last '=' separates the pattern from the device. */
export function parsePinFlag(text: string, fleet: Fleet, forbid = false): Pin {
  const eq = text.lastIndexOf('=');
  const flag = forbid ? '--forbid' : '--pin';
  if (eq < 1) throw new FleetcError('E0901', `${flag} '${text}' is not 'regex=device'`);
  const match = text.slice(0, eq);
  const device = text.slice(eq + 1);
  if (!fleet.devices.some((d) => d.id === device))
    throw new FleetcError(
      'E0901',
      `${flag} '${text}' names device '${device}', which is not in the fleet (${fleet.devices.map((d) => d.id).join(', ')})`,
    );
  try {
    new RegExp(match);
  } catch {
    throw new FleetcError('E0901', `${flag} '${text}': '${match}' is not a valid regular expression`);
  }
  return { match, device, forbid, origin: `${flag} ${text}` };
}
