/**
 * Launchers: how a plan's devices are started. `inproc` (default) runs every device in one fleetrt
 * process, one executor per device; `mpi` starts one fleetrt rank per device under `mpirun`, and
 * tensors between devices move by MPI point-to-point (fleetrt must be built with MPI).
 */
import { FleetcError } from '../src/diagnostics/index.js';

export type LauncherKind = 'inproc' | 'mpi';
export const LAUNCHERS: readonly LauncherKind[] = ['inproc', 'mpi'];

export interface Launch {
  cmd: string;
  args: string[];
}

export interface LaunchOptions {
  fleetrt: string;
  /** fleetrt's own arguments (plan first). */
  args: string[];
  devices: number;
  /** mpirun to use ($MPIRUN or `mpirun`). */
  mpirun?: string;
  /** running as root (Open MPI refuses unless told). */
  root?: boolean;
}

export function launchCommand(kind: LauncherKind, o: LaunchOptions): Launch {
  if (kind === 'inproc') return { cmd: o.fleetrt, args: o.args };
  if (kind === 'mpi') {
    const args = ['-np', String(o.devices), '--oversubscribe'];
    if (o.root) args.push('--allow-run-as-root');
    return { cmd: o.mpirun ?? 'mpirun', args: [...args, o.fleetrt, ...o.args, '--mpi'] };
  }
  throw new FleetcError('E0901', `unknown launcher '${String(kind)}' (known: ${LAUNCHERS.join(', ')})`);
}
