export * from './types.js';
export { loadFleet, parseFleet, localFleet } from './load.js';
export { LINK_PRESETS } from './links.js';
export { route, transferTime, type Route } from './route.js';
export { parsePinFlag } from './pins.js';
export { FleetCost } from './cost.js';
