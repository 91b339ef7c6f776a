// The number formatting shared by every text report lives in src/util so the API can use it too.
export * from '../util/format.js';
