// Tests read .npy files with the package's own reader.
export { readNpy, type NpyArray } from '../src/util/npy.js';
