import { readFileSync } from 'node:fs';
import { FleetcError } from '../../diagnostics/index.js';

/** Reads MLIR text, as a FleetcError E0101 when it cannot. */
export function readMLIR(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new FleetcError(
      'E0101',
      `cannot read the model (${e.code === 'EISDIR' ? 'it is a folder' : (e.code ?? e.message)})`,
      { file: path },
    );
  }
}
