import { afterAll, describe, expect, it } from 'vitest';
import { FleetcError } from '../../../src/diagnostics/index.js';
import { loadOnnx } from '../../../src/frontends/onnx/index.js';
import type { IRGraph } from '../../../src/ir/graph.js';
import { concat, encodeModel, lenField, node, onnx, tempDir, vi, writeModel, type ModelSpec } from './helpers.js';
import type pkg from 'onnx-proto';

const tmp = tempDir();
afterAll(tmp.cleanup);
let serial = 0;

const FLOAT = 1;
const refFloat = (name: string, ref: string) => ({ name, type: FLOAT, refAttrName: ref });

/** AddScale(X, Y) = (X + Y) * alpha + beta, beta defaulting to 0.5 (attribute_proto, IR 9). */
const addScale: pkg.onnx.IFunctionProto = {
  name: 'AddScale',
  domain: 'custom',
  input: ['X', 'Y'],
  output: ['Z'],
  attribute: ['alpha'],
  opsetImport: [{ domain: '', version: 13 }],
  node: [
    node('Add', ['X', 'Y'], ['s'], { name: 'add' }),
    node('Constant', [], ['a'], { attribute: [refFloat('value_float', 'alpha')] }),
    node('Constant', [], ['A'], { attribute: [refFloat('value_float', 'beta')] }),
    node('Mul', ['s', 'a'], ['m']),
    node('Add', ['m', 'A'], ['Z']),
  ],
};
const betaDefault = { name: 'beta', type: FLOAT, f: 0.5 };

/** A model with `functions`, each with optional attribute defaults written as field 11 on the wire. */
function loadWith(spec: ModelSpec, functions: [pkg.onnx.IFunctionProto, pkg.onnx.IAttributeProto[]][]): IRGraph {
  const fnBytes = functions.map(([f, defaults]) =>
    concat(
      onnx.FunctionProto.encode(f).finish(),
      ...defaults.map((d) => lenField(11, onnx.AttributeProto.encode(d).finish())),
    ),
  );
  const bytes = concat(encodeModel({ irVersion: 9, ...spec }), ...fnBytes.map((b) => lenField(25, b)));
  return loadOnnx(writeModel(tmp.dir, bytes, `f${serial++}.onnx`));
}

const floatAttr = (g: IRGraph, op: string): number | undefined => {
  const a = g.op(op).attrs.value_float;
  return a?.type === 'float' ? a.value : undefined;
};

describe('model-local functions are inlined', () => {
  const spec: ModelSpec = {
    opsets: { '': 17, custom: 1 },
    inputs: [vi('A', FLOAT, [2]), vi('B', FLOAT, [2])],
    outputs: [vi('out', FLOAT, [2])],
    nodes: [
      node('AddScale', ['A', 'B'], ['T'], {
        name: 'call1',
        domain: 'custom',
        attribute: [{ name: 'alpha', type: FLOAT, f: 2 }],
      }),
      node('AddScale', ['T', 'B'], ['out'], {
        name: 'call2',
        domain: 'custom',
        attribute: [
          { name: 'alpha', type: FLOAT, f: 3 },
          { name: 'beta', type: FLOAT, f: 1 },
        ],
      }),
    ],
  };

  it('replaces each call by the body with fresh internal names and the call site as location', () => {
    const g = loadWith(spec, [[addScale, [betaDefault]]]);
    expect(g.ops()).toEqual([
      'call1/add',
      'call1/Constant_1',
      'call1/Constant_2',
      'call1/Mul_3',
      'call1/Add_4',
      'call2/add',
      'call2/Constant_1',
      'call2/Constant_2',
      'call2/Mul_3',
      'call2/Add_4',
    ]);
    expect(g.opInputs('call1/add')).toEqual(['A', 'B']);
    expect(g.opOutputs('call1/add')).toEqual(['call1/s']);
    // the body's value 'A' clashes with the graph input 'A' and is renamed
    expect(g.opOutputs('call1/Constant_2')).toEqual(['call1/A']);
    expect(g.opInputs('call1/Add_4')).toEqual(['call1/m', 'call1/A']);
    expect(g.opOutputs('call1/Add_4')).toEqual(['T']);
    expect(g.opInputs('call2/add')).toEqual(['T', 'B']);
    expect(g.opOutputs('call2/Add_4')).toEqual(['out']);
    expect(g.value('out').role).toBe('output');
    const op = g.op('call2/Mul_3');
    expect(op.domain).toBe('');
    expect(op.opset).toBe(13); // the function's own opset import
    expect(op.loc).toEqual({ file: expect.stringMatching(/\.onnx$/), node: 'call2', index: 1 });
    expect(g.ops().some((id) => g.op(id).opType === 'AddScale')).toBe(false);
  });

  it('substitutes attribute references from the caller, else the default, else drops them', () => {
    const g = loadWith(spec, [[addScale, [betaDefault]]]);
    expect(floatAttr(g, 'call1/Constant_1')).toBe(2);
    expect(floatAttr(g, 'call1/Constant_2')).toBe(0.5);
    expect(floatAttr(g, 'call2/Constant_1')).toBe(3);
    expect(floatAttr(g, 'call2/Constant_2')).toBe(1);
    const nodef = loadWith(spec, [[addScale, []]]);
    expect(nodef.op('call1/Constant_2').attrs).toEqual({});
  });

  it('inlines functions that call functions, and pass-through outputs', () => {
    const outer: pkg.onnx.IFunctionProto = {
      name: 'Twice',
      domain: 'custom',
      input: ['P'],
      output: ['Q', 'R'],
      attribute: ['k'],
      opsetImport: [
        { domain: '', version: 15 },
        { domain: 'custom', version: 1 },
      ],
      node: [
        node('AddScale', ['P', 'P'], ['Q'], {
          name: 'inner',
          domain: 'custom',
          attribute: [{ name: 'alpha', refAttrName: 'k', type: FLOAT }],
        }),
      ],
    };
    // R is P itself: the caller's output gets an Identity
    outer.output = ['Q', 'P'];
    const g = loadWith(
      {
        opsets: { '': 17, custom: 1 },
        inputs: [vi('A', FLOAT, [2])],
        outputs: [vi('q'), vi('r')],
        nodes: [
          node('Twice', ['A'], ['q', 'r'], {
            name: 'c',
            domain: 'custom',
            attribute: [{ name: 'k', type: FLOAT, f: 7 }],
          }),
        ],
      },
      [
        [addScale, [betaDefault]],
        [outer, []],
      ],
    );
    expect(g.ops()).toContain('c/inner/add');
    expect(floatAttr(g, 'c/inner/Constant_1')).toBe(7);
    expect(g.op('c/inner/Mul_3').opset).toBe(13);
    expect(g.opOutputs('c/inner/Add_4')).toEqual(['q']);
    const pass = g.ops().find((id) => g.op(id).opType === 'Identity')!;
    expect(g.opInputs(pass)).toEqual(['A']);
    expect(g.opOutputs(pass)).toEqual(['r']);
  });

  it('renames function values read inside a subgraph of the body', () => {
    const choose: pkg.onnx.IFunctionProto = {
      name: 'Choose',
      domain: 'custom',
      input: ['C', 'X'],
      output: ['Y'],
      opsetImport: [{ domain: '', version: 17 }],
      node: [
        node('Neg', ['X'], ['d']),
        node('If', ['C'], ['Y'], {
          attribute: [
            {
              name: 'then_branch',
              type: 5,
              g: { name: 't', node: [node('Identity', ['d'], ['o1'])], output: [vi('o1')] },
            },
            {
              name: 'else_branch',
              type: 5,
              g: { name: 'e', node: [node('Identity', ['X'], ['o2'])], output: [vi('o2')] },
            },
          ],
        }),
      ],
    };
    const g = loadWith(
      {
        opsets: { '': 17, custom: 1 },
        inputs: [vi('cond', 9, []), vi('x', FLOAT, [3])],
        outputs: [vi('y')],
        nodes: [node('Choose', ['cond', 'x'], ['y'], { name: 'ch', domain: 'custom' })],
      },
      [[choose, []]],
    );
    const then = g.subgraphs('ch/If_1').find(([n]) => n === 'then_branch')![1];
    const els = g.subgraphs('ch/If_1').find(([n]) => n === 'else_branch')![1];
    expect(then.value('ch/d').role).toBe('outer');
    expect(then.opInputs(then.ops()[0]!)).toEqual(['ch/d']);
    expect(els.value('x').role).toBe('outer');
  });

  it('refuses recursion and undefined values inside a body', () => {
    const rec: pkg.onnx.IFunctionProto = {
      name: 'R',
      domain: 'custom',
      input: ['X'],
      output: ['Y'],
      node: [node('R', ['X'], ['Y'], { domain: 'custom' })],
    };
    const bad: pkg.onnx.IFunctionProto = {
      name: 'B',
      domain: 'custom',
      input: ['X'],
      output: ['Y'],
      node: [node('Add', ['X', 'ghost'], ['Y'])],
    };
    const call = (op: string): ModelSpec => ({
      opsets: { '': 17, custom: 1 },
      inputs: [vi('a')],
      outputs: [vi('b')],
      nodes: [node(op, ['a'], ['b'], { name: 'site', domain: 'custom' })],
    });
    const err = (f: () => unknown): FleetcError => {
      try {
        f();
      } catch (e) {
        return e as FleetcError;
      }
      throw new Error('expected a refusal');
    };
    const e1 = err(() => loadWith(call('R'), [[rec, []]]));
    expect(e1).toBeInstanceOf(FleetcError);
    expect(e1.format()).toMatch(/\(node 'site' #0\): error\[E0105\]: model-local function 'R' calls itself$/);
    const e2 = err(() => loadWith(call('B'), [[bad, []]]));
    expect(e2.format()).toMatch(/error\[E0105\]: model-local function 'B' reads undefined value 'ghost'$/);
    const e3 = err(() =>
      loadWith(call('B'), [
        [bad, []],
        [bad, []],
      ]),
    );
    expect(e3.format()).toMatch(/error\[E0102\]: model-local function 'B' is defined twice$/);
  });

  it('refuses attribute references outside functions', () => {
    const path = writeModel(
      tmp.dir,
      {
        inputs: [vi('a')],
        outputs: [vi('b')],
        nodes: [node('LeakyRelu', ['a'], ['b'], { name: 'lr', attribute: [refFloat('alpha', 'x')] })],
      },
      'ref.onnx',
    );
    expect(() => loadOnnx(path)).toThrow(/attribute 'alpha' refers to function attribute 'x' outside a function/);
  });
});
