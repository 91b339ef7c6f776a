export { planArena, arenaConflicts, alignUp, ARENA_ALIGN, type ArenaRequest, type ArenaPlan } from './arena.js';
export {
  ArenaModel,
  opWeights,
  planDeviceArena,
  plannedBytes,
  type ArenaLayout,
  type ArenaProgram,
  type DeviceProgram,
} from './device.js';
export { planMemoryPass, type MemoryPlan } from './pass.js';
