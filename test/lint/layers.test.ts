// The import-direction lint rules (lint/layers.js) catch what they are for, on the real tree.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { REPO as root } from '../paths.js';

async function messages(file: string, code: string): Promise<string[]> {
  const eslint = new ESLint({ cwd: root });
  const [r] = await eslint.lintText(code, { filePath: `${root}/${file}` });
  return r!.messages.filter((m) => m.ruleId?.startsWith('fleetc/')).map((m) => m.message);
}

describe('lint: imports point one way', () => {
  it('the IR imports nothing of ours', async () => {
    expect(
      await messages('src/ir/extra.ts', "import { bytes } from '../util/format.js';\nexport const b = bytes;\n"),
    ).toEqual([expect.stringMatching(/^ir may not import util .*the IR imports nothing of ours/)]);
  });

  it('targets never import passes; the CLI only calls the API', async () => {
    const t = await messages(
      'targets/cpu/extra.ts',
      "export { partitionPass } from '../../passes/partition/index.js';\n",
    );
    expect(t).toEqual([expect.stringMatching(/^targets may not import passes/)]);
    const c = await messages('src/cli/commands/extra.ts', "export { route } from '../../fleet/route.js';\n");
    expect(c).toEqual([expect.stringMatching(/^cli may not import fleet/)]);
    expect(await messages('src/cli/commands/extra.ts', "export { compile } from '../../api/compile.js';\n")).toEqual(
      [],
    );
  });

  it("the report reads the partition's result only through its face", async () => {
    const r = await messages('src/report/extra.ts', "export { simulate } from '../../passes/partition/simulate.js';\n");
    expect(r).toEqual([expect.stringMatching(/other than through passes\/partition\/index\.ts/)]);
  });

  it('a file that imports one of its importers is a cycle, type-only imports included', async () => {
    // src/ir/print.ts imports graph.ts; graph.ts importing print.ts back closes a cycle.
    const r = await messages(
      'src/ir/graph.ts',
      "import type { printGraph } from './print.js';\nexport type P = typeof printGraph;\n",
    );
    expect(r).toEqual([
      expect.stringMatching(/^import cycle: src\/ir\/graph\.ts → src\/ir\/print\.ts → src\/ir\/graph\.ts/),
    ]);
  });
});
