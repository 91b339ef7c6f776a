export { planArena, arenaConflicts, alignUp, ARENA_ALIGN, type ArenaRequest, type ArenaPlan } from './arena.js';
