import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED } from '../paths.js';

const GENERIC = join(SHARED, 'conformance/stablehlo-generic');

/** Each generic-form program with the path of its pretty-printed twin, where one exists. */
export function genericTwins(): { generic: string; pretty: string | undefined }[] {
  return readdirSync(GENERIC)
    .filter((f) => f.endsWith('.generic.mlir'))
    .sort()
    .map((f) => {
      const base = f.replace(/\.generic\.mlir$/, '.mlir');
      let pretty: string | undefined;
      if (base.startsWith('interpret_'))
        pretty = join(SHARED, 'conformance/stablehlo-interpret', base.slice('interpret_'.length));
      else if (base.startsWith('testdata_'))
        pretty = join(SHARED, 'conformance/stablehlo-jax', base.slice('testdata_'.length));
      return { generic: join(GENERIC, f), pretty: pretty && existsSync(pretty) ? pretty : undefined };
    });
}
