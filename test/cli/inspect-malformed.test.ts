import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO } from '../paths.js';
import { node, tempDir, vi, writeModel } from '../frontends/onnx/helpers.js';
import { cli } from './helpers.js';

const tmp = tempDir();
afterAll(tmp.cleanup);
const at = (name: string): string => join(tmp.dir, name);

function seeded(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const cnn = readFileSync(join(REPO, 'fixtures/models/cnn_small/model.onnx'));
writeFileSync(at('weights.bin'), new Uint8Array(64));
mkdirSync(at('inner'), { recursive: true });

/** [what, file, expected code, expected message] */
const cases: [string, string, string, RegExp][] = [
  [
    'a truncated model',
    (writeFileSync(at('truncated.onnx'), cnn.subarray(0, 3000)), at('truncated.onnx')),
    'E0102',
    /truncated at byte \d+/,
  ],
  [
    'random bytes',
    (writeFileSync(at('random.onnx'), seeded(4096, 7)), at('random.onnx')),
    'E0102',
    /not a valid ONNX model/,
  ],
  ['an empty file', (writeFileSync(at('empty.onnx'), ''), at('empty.onnx')), 'E0102', /no graph/],
  ['a folder', (mkdirSync(at('dir.onnx'), { recursive: true }), at('dir.onnx')), 'E0101', /it is a folder/],
  ['a missing file', at('missing.onnx'), 'E0101', /cannot read the model \(ENOENT\)/],
  [
    'raw_data that does not fit the dims',
    writeModel(
      tmp.dir,
      { initializers: [{ name: 'W', dataType: 1, dims: [2, 3], rawData: new Uint8Array(20) }], outputs: [vi('W')] },
      'rawsize.onnx',
    ),
    'E0102',
    /initializer 'W' has 20 bytes of raw_data but float32\[6\] needs 24/,
  ],
  [
    'an int64 tensor with its data in float_data',
    writeModel(
      tmp.dir,
      { initializers: [{ name: 'W', dataType: 7, dims: [2], floatData: [1, 2] }], outputs: [vi('W', 7)] },
      'field.onnx',
    ),
    'E0102',
    /initializer 'W' is int64 but holds its data in float_data/,
  ],
  [
    'a graph input declared with another dtype than its initializer',
    writeModel(
      tmp.dir,
      {
        inputs: [vi('W', 7, [2])],
        initializers: [{ name: 'W', dataType: 1, dims: [2], floatData: [1, 2] }],
        nodes: [node('Relu', ['W'], ['y'])],
        outputs: [vi('y')],
      },
      'declared-dtype.onnx',
    ),
    'E0102',
    /graph input 'W' is declared int64 but its initializer is float32\[2\]/,
  ],
  [
    'a graph input declared with another shape than its initializer',
    writeModel(
      tmp.dir,
      {
        inputs: [vi('W', 1, [3])],
        initializers: [{ name: 'W', dataType: 1, dims: [2], floatData: [1, 2] }],
        nodes: [node('Relu', ['W'], ['y'])],
        outputs: [vi('y')],
      },
      'declared-shape.onnx',
    ),
    'E0102',
    /graph input 'W' is declared with shape \[3\] but its initializer is float32\[2\]/,
  ],
  [
    'a value declared with an unknown element type',
    writeModel(
      tmp.dir,
      { inputs: [vi('x', 99, [2])], nodes: [node('Relu', ['x'], ['y'])], outputs: [vi('y')] },
      'dtype.onnx',
    ),
    'E0103',
    /value 'x' has element type 99/,
  ],
  [
    'a node reading a value nobody defines',
    writeModel(
      tmp.dir,
      { inputs: [vi('x', 1, [2])], nodes: [node('Add', ['x', 'ghost'], ['y'], { name: 'add0' })], outputs: [vi('y')] },
      'dangling.onnx',
    ),
    'E0105',
    /reads value 'ghost', which is never defined/,
  ],
  [
    'a graph output nobody produces',
    writeModel(
      tmp.dir,
      { inputs: [vi('x', 1, [2])], nodes: [node('Relu', ['x'], ['y'])], outputs: [vi('z')] },
      'output.onnx',
    ),
    'E0105',
    /output 'z'/,
  ],
  [
    'a cycle',
    writeModel(
      tmp.dir,
      {
        inputs: [vi('x', 1, [2])],
        nodes: [node('Add', ['x', 'b'], ['a'], { name: 'n0' }), node('Relu', ['a'], ['b'], { name: 'n1' })],
        outputs: [vi('b')],
      },
      'cycle.onnx',
    ),
    'E0105',
    /cycle/,
  ],
  [
    'two nodes defining one value',
    writeModel(
      tmp.dir,
      { inputs: [vi('x', 1, [2])], nodes: [node('Relu', ['x'], ['y']), node('Neg', ['x'], ['y'])], outputs: [vi('y')] },
      'twice.onnx',
    ),
    'E0105',
    /'y'/,
  ],
  [
    'external data whose location leaves the model folder',
    writeModel(
      join(tmp.dir, 'inner'),
      {
        initializers: [
          {
            name: 'W',
            dataType: 1,
            dims: [4],
            dataLocation: 1,
            externalData: [{ key: 'location', value: '../weights.bin' }],
          },
        ],
        outputs: [vi('W')],
      },
      'escape.onnx',
    ),
    'E0104',
    /outside the model folder/,
  ],
];

describe('fleetc inspect on malformed models: exit 1, one line naming the file and the problem', () => {
  for (const [what, file, code, message] of cases)
    it(what, async () => {
      const r = await cli(['inspect', file]);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]!.startsWith(`${file}`)).toBe(true);
      expect(lines[0]).toContain(`error[${code}]: `);
      expect(lines[0]).toMatch(message);
    });

  it('as a real process: exit status 1 and no stack trace', () => {
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(REPO, 'src/cli/entry.ts'), 'inspect', at('cycle.onnx')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
