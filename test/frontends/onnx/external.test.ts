import { closeSync, mkdirSync, openSync, ftruncateSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FleetcError } from '../../../src/diagnostics/index.js';
import { loadOnnx } from '../../../src/frontends/onnx/index.js';
import { readWeightBytes } from '../../../src/ir/weights.js';
import { tempDir, writeModel } from './helpers.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
const data = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8]);
writeFileSync(join(tmp.dir, 'weights.bin'), new Uint8Array(data.buffer));

/** A model in `dir` whose initializer W (float32[dims]) lives in external data with these entries. */
function externalModel(dir: string, entries: Record<string, string>, dims = [2, 2], name = 'model.onnx'): string {
  return writeModel(
    dir,
    {
      initializers: [
        {
          name: 'W',
          dataType: 1,
          dims,
          dataLocation: 1,
          externalData: Object.entries(entries).map(([key, value]) => ({ key, value })),
        },
      ],
      outputs: [{ name: 'W' }],
    },
    name,
  );
}

function refusal(path: string): FleetcError {
  try {
    loadOnnx(path);
  } catch (e) {
    expect(e).toBeInstanceOf(FleetcError);
    return e as FleetcError;
  }
  throw new Error('expected the model to be refused');
}

describe('external data', () => {
  it('refers to the range in the external file', () => {
    const v = loadOnnx(externalModel(tmp.dir, { location: 'weights.bin', offset: '8', length: '16' })).value('W');
    expect(v.role).toBe('weight');
    expect(v.weight).toEqual({ kind: 'file', path: join(tmp.dir, 'weights.bin'), offset: 8, length: 16 });
    expect([...new Float32Array(readWeightBytes(v.weight!).slice().buffer)]).toEqual([3, 4, 5, 6]);
  });

  it('defaults offset to 0 and length to the tensor size; resolves sub-folders', () => {
    mkdirSync(join(tmp.dir, 'sub'), { recursive: true });
    writeFileSync(join(tmp.dir, 'sub', 'w.bin'), new Uint8Array(data.buffer));
    const v = loadOnnx(externalModel(tmp.dir, { location: 'sub/w.bin' }, [3], 'sub.onnx')).value('W');
    expect(v.weight).toEqual({ kind: 'file', path: join(tmp.dir, 'sub', 'w.bin'), offset: 0, length: 12 });
  });

  const refused: [string, Record<string, string>, RegExp, string][] = [
    ['a missing file', { location: 'nope.bin' }, /refers to external data 'nope.bin', which does not exist/, 'E0104'],
    [
      'a range past the end',
      { location: 'weights.bin', offset: '24' },
      /needs bytes 24..40 of 'weights.bin', which has only 32/,
      'E0104',
    ],
    ['an absolute path', { location: join(tmp.dir, 'weights.bin') }, /an absolute path/, 'E0104'],
    ['a path leading out with ..', { location: '../weights.bin' }, /outside the model folder/, 'E0104'],
    ['.. inside a longer path', { location: 'sub/../../x/weights.bin' }, /outside the model folder/, 'E0104'],
    ['no location', { offset: '0' }, /external data without a location/, 'E0104'],
    ['a folder', { location: 'sub' }, /not a regular file/, 'E0104'],
    [
      'a length that does not fit the tensor',
      { location: 'weights.bin', length: '12' },
      /external length 12 but float32\[4\] needs 16 bytes/,
      'E0102',
    ],
    ['a bad offset', { location: 'weights.bin', offset: '-4' }, /external offset '-4', not a byte count/, 'E0102'],
  ];
  for (const [what, entries, message, code] of refused)
    it(`refuses ${what}`, () => {
      mkdirSync(join(tmp.dir, 'sub'), { recursive: true });
      const e = refusal(externalModel(tmp.dir, entries, [2, 2], 'bad.onnx'));
      expect(e.code).toBe(code);
      expect(e.message).toMatch(message);
      expect(e.message).toMatch(/initializer 'W'/);
    });

  it('refuses a symlink that leads out of the model folder', () => {
    const inner = join(tmp.dir, 'inner');
    mkdirSync(inner, { recursive: true });
    symlinkSync(join(tmp.dir, 'weights.bin'), join(inner, 'link.bin'));
    const e = refusal(externalModel(inner, { location: 'link.bin' }));
    expect(e.code).toBe('E0104');
    expect(e.message).toMatch(/links to a file outside the model folder/);
    // a link that stays inside is fine
    symlinkSync(join(inner, 'model.onnx'), join(inner, 'alias.bin'));
    expect(() => loadOnnx(externalModel(inner, { location: 'alias.bin' }, [1], 'ok.onnx'))).not.toThrow();
  });

  it('never reads the external bytes while loading (RSS does not grow with them)', () => {
    const big = join(tmp.dir, 'big.bin');
    const fd = openSync(big, 'w');
    ftruncateSync(fd, 200 << 20); // sparse: no blocks written
    closeSync(fd);
    const path = externalModel(tmp.dir, { location: 'big.bin', length: String(200 << 20) }, [50 << 20], 'big.onnx');
    loadOnnx(path); // warm up code paths
    const before = process.memoryUsage().rss;
    const graphs = [loadOnnx(path), loadOnnx(path), loadOnnx(path)];
    const grown = process.memoryUsage().rss - before;
    expect(graphs[0]!.value('W').weight).toEqual({ kind: 'file', path: big, offset: 0, length: 200 << 20 });
    expect(grown).toBeLessThan(50 << 20);
  });
});
