export * from './types.js';
export { loadFleet, parseFleet, localFleet } from './load.js';
export { DEVICE_PRESETS, LINK_PRESETS, type DevicePreset } from './presets.js';
export { CLASS_DEFAULTS, OP_FAMILIES, refusal, expandOpList } from './support.js';
export { route, transferTime, type Route } from './route.js';
export { parsePinFlag } from './pins.js';
