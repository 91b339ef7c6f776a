import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root and the shared test data beside it (read in place, never copied). */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const SHARED = process.env.FLEETC_SHARED ?? resolve(REPO, '../shared');
