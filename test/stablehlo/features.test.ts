import { describe, expect, it } from 'vitest';
import { stablehloFromText } from '../../src/frontends/stablehlo/index.js';
import { readWeightBytes } from '../../src/ir/weights.js';

const load = (text: string) => stablehloFromText(text, 'f.mlir');
const opTypes = (g: ReturnType<typeof load>) =>
  g.topoOps().map((id) => {
    const o = g.op(id);
    return o.domain ? `${o.domain}.${o.opType}` : o.opType;
  });

describe('MLIR features exporters print', () => {
  it('loc aliases become the ops source locations', () => {
    const g = load(`#loc1 = loc("model.py":12:3)
module @m {
  func.func public @main(%x: tensor<2xf32>) -> tensor<2xf32> {
    %0 = stablehlo.add %x, %x : tensor<2xf32> loc(#loc1)
    return %0 : tensor<2xf32>
  }
}`);
    expect(g.op(g.ops()[0]!).loc).toEqual({ file: 'f.mlir', line: 4, col: 10, node: '"model.py":12:3' });
  });

  it('private functions with quoted names are inlined; multiple results and %v#i', () => {
    const g = load(`module @m {
  func.func public @main(%x: tensor<2xf32>) -> (tensor<2xf32> {jax.result_info = "a"}, tensor<2xf32> {jax.result_info = "b"}) {
    %0:2 = call @"-_pair"(%x) : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
    %1 = stablehlo.subtract %0#1, %0#0 : tensor<2xf32>
    return %0#0, %1 : tensor<2xf32>, tensor<2xf32>
  }
  func.func private @"-_pair"(%a: tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>) {
    %0 = stablehlo.negate %a : tensor<2xf32>
    return %a, %0 : tensor<2xf32>, tensor<2xf32>
  }
}`);
    expect(opTypes(g)).toEqual(['Neg', 'Sub', 'Identity']); // the input returned as output 'a' needs an Identity
    expect(g.outputs).toEqual(['a', 'b']);
  });

  it('constants: hex blobs, hex floats, splats, bools, 4-bit integers', () => {
    const g = load(`func.func @main() -> (tensor<2xf32>, tensor<f32>, tensor<2x2xi32>, tensor<3xi1>, tensor<3xi4>) {
  %0 = stablehlo.constant dense<"0x0000803F00000040"> : tensor<2xf32>
  %1 = stablehlo.constant dense<0x7FC00000> : tensor<f32>
  %2 = stablehlo.constant dense<7> : tensor<2x2xi32>
  %3 = stablehlo.constant dense<[true, false, true]> : tensor<3xi1>
  %4 = stablehlo.constant dense<[-1, 7, 2]> : tensor<3xi4>
  return %0, %1, %2, %3, %4 : tensor<2xf32>, tensor<f32>, tensor<2x2xi32>, tensor<3xi1>, tensor<3xi4>
}`);
    const bytes = g.outputs.map((o) => {
      const src = g.opInputs(g.producer(o)!.op)[0]!;
      return Array.from(readWeightBytes(g.value(src).weight!));
    });
    expect(bytes[0]).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
    expect(bytes[1]).toEqual([0, 0, 0xc0, 0x7f]);
    expect(bytes[2]).toEqual([7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0, 7, 0, 0, 0]);
    expect(bytes[3]).toEqual([1, 0, 1]);
    expect(bytes[4]).toEqual([0x7f, 0x02]);
  });

  it('dense_resource<__elided__> is a weight without values', () => {
    const g = load(`func.func @main(%x: tensor<2x3xf32>) -> tensor<2x4xf32> {
  %w = stablehlo.constant dense_resource<__elided__> : tensor<3x4xf32>
  %0 = stablehlo.dot_general %x, %w, contracting_dims = [1] x [0] : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}`);
    expect(g.value('w')).toMatchObject({ role: 'weight', weight: { kind: 'elided' }, dtype: 'float32', shape: [3, 4] });
  });

  it('dynamic dimensions become symbols; generic module form', () => {
    const g = load(`"builtin.module"() <{sym_name = "m"}> ({
  "func.func"() <{function_type = (tensor<?x4xf32>) -> tensor<?x4xf32>, sym_name = "main"}> ({
  ^bb0(%arg0: tensor<?x4xf32>):
    %0 = "stablehlo.tanh"(%arg0) : (tensor<?x4xf32>) -> tensor<?x4xf32>
    "func.return"(%0) : (tensor<?x4xf32>) -> ()
  }) : () -> ()
}) : () -> ()`);
    expect(g.name).toBe('m');
    const s = g.value(g.inputs[0]!).shape!;
    expect(typeof s[0]).toBe('object');
    expect(s[1]).toBe(4);
    expect(opTypes(g)).toEqual(['Tanh']);
  });

  it('ops without an ONNX equivalent stay stablehlo ops with their regions', () => {
    const g = load(`func.func @main(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = "stablehlo.sort"(%x) ({
  ^bb0(%a: tensor<f32>, %b: tensor<f32>):
    %c = stablehlo.compare GT, %a, %b, TOTALORDER : (tensor<f32>, tensor<f32>) -> tensor<i1>
    stablehlo.return %c : tensor<i1>
  }) {dimension = 0 : i64, is_stable = true} : (tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}`);
    const sort = g.op(g.ops()[0]!);
    expect([sort.domain, sort.opType]).toEqual(['stablehlo', 'sort']);
    const cmp = sort.attrs['comparator'];
    expect(cmp?.type).toBe('graph');
    if (cmp?.type === 'graph') expect(opTypes(cmp.value)).toEqual(['stablehlo.compare']);
  });
});

describe('dialect resources', () => {
  it('dense_resource<name> takes its bytes from the {-# dialect_resources #-} block', () => {
    const g = stablehloFromText(
      `module @m {
  func.func public @main(%x: tensor<2xf32>) -> tensor<2xf32> {
    %w = stablehlo.constant dense_resource<torch_tensor_2_torch.float32> : tensor<2xf32>
    %0 = stablehlo.add %x, %w : tensor<2xf32>
    return %0 : tensor<2xf32>
  }
}

{-#
  dialect_resources: {
    builtin: {
      torch_tensor_2_torch.float32: "0x040000000000803F00000040"
    }
  }
#-}
`,
      'r.mlir',
    );
    expect(Array.from(readWeightBytes(g.value('w').weight!))).toEqual([0, 0, 0x80, 0x3f, 0, 0, 0, 0x40]);
  });

  it('a blob of the wrong size is an error at the constant', () => {
    expect(() =>
      stablehloFromText(
        `func.func @main() -> tensor<4xf32> {
  %w = stablehlo.constant dense_resource<blob> : tensor<4xf32>
  return %w : tensor<4xf32>
}
{-# dialect_resources: { builtin: { blob: "0x0400000000000000" } } #-}`,
        'r.mlir',
      ),
    ).toThrow("resource 'blob' has 4 bytes; tensor<4xf32> needs 16");
  });
});
