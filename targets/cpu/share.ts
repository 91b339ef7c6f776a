// Devices of one fleetrt process share its host's cores. Unless `--threads` says otherwise,
// fleetrt gives each device at most its share, cores ÷ devices (native/src/engine/engine.cpp,
// Engine::open_device), so that they do not oversubscribe the machine: on a 2-core host a device
// that asks for 2 threads beside another device runs with 1. The cost model prices a real cpu
// device at the threads it will get, not the threads it asked for.
import { hostProfile } from './host.js';

/** Cores of the host fleetrt runs on: this machine's (its host profile's). */
export function hostCores(): number {
  return hostProfile().host.cores;
}

/** The intra-op threads fleetrt gives a device that asks for `threads`, beside `devices` - 1 others on a host of `cores` cores. */
export function runtimeThreads(threads: number, devices: number, cores = hostCores()): number {
  const asked = Math.max(1, threads);
  return devices > 1 ? Math.max(1, Math.min(asked, Math.floor(cores / devices))) : asked;
}
