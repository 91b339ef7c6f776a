// One pre-LayerNorm transformer block (causal self-attention with 2 heads, then a GELU MLP) in
// the style of a JAX export: sequence 8, model width 16, head width 8, MLP width 32.
module @jit_block attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main(%x: tensor<8x16xf32> {jax.arg_info = "x"}, %g1: tensor<16xf32>, %be1: tensor<16xf32>, %wq: tensor<16x16xf32>, %wk: tensor<16x16xf32>, %wv: tensor<16x16xf32>, %wo: tensor<16x16xf32>, %g2: tensor<16xf32>, %be2: tensor<16xf32>, %w1: tensor<16x32xf32>, %w2: tensor<32x16xf32>) -> (tensor<8x16xf32> {jax.result_info = "y"}) {
    %h = call @layernorm(%x, %g1, %be1) : (tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
    %q = stablehlo.dot_general %h, %wq, contracting_dims = [1] x [0] : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
    %k = stablehlo.dot_general %h, %wk, contracting_dims = [1] x [0] : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
    %v = stablehlo.dot_general %h, %wv, contracting_dims = [1] x [0] : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
    %q3 = stablehlo.reshape %q : (tensor<8x16xf32>) -> tensor<8x2x8xf32>
    %k3 = stablehlo.reshape %k : (tensor<8x16xf32>) -> tensor<8x2x8xf32>
    %v3 = stablehlo.reshape %v : (tensor<8x16xf32>) -> tensor<8x2x8xf32>
    %qt = stablehlo.transpose %q3, dims = [1, 0, 2] : (tensor<8x2x8xf32>) -> tensor<2x8x8xf32>
    %kt = stablehlo.transpose %k3, dims = [1, 0, 2] : (tensor<8x2x8xf32>) -> tensor<2x8x8xf32>
    %vt = stablehlo.transpose %v3, dims = [1, 0, 2] : (tensor<8x2x8xf32>) -> tensor<2x8x8xf32>
    %s = stablehlo.dot_general %qt, %kt, batching_dims = [0] x [0], contracting_dims = [2] x [2] : (tensor<2x8x8xf32>, tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
    %scale = stablehlo.constant dense<0.353553385> : tensor<2x8x8xf32>
    %s2 = stablehlo.multiply %s, %scale : tensor<2x8x8xf32>
    %row = stablehlo.iota dim = 1 : tensor<2x8x8xi32>
    %col = stablehlo.iota dim = 2 : tensor<2x8x8xi32>
    %mask = stablehlo.compare  GE, %row, %col,  SIGNED : (tensor<2x8x8xi32>, tensor<2x8x8xi32>) -> tensor<2x8x8xi1>
    %ninf = stablehlo.constant dense<0xFF800000> : tensor<2x8x8xf32>
    %s3 = stablehlo.select %mask, %s2, %ninf : tensor<2x8x8xi1>, tensor<2x8x8xf32>
    %cmin = stablehlo.constant dense<0xFF800000> : tensor<f32>
    %mx = stablehlo.reduce(%s3 init: %cmin) applies stablehlo.maximum across dimensions = [2] : (tensor<2x8x8xf32>, tensor<f32>) -> tensor<2x8xf32>
    %mxb = stablehlo.broadcast_in_dim %mx, dims = [0, 1] : (tensor<2x8xf32>) -> tensor<2x8x8xf32>
    %e0 = stablehlo.subtract %s3, %mxb : tensor<2x8x8xf32>
    %e = stablehlo.exponential %e0 : tensor<2x8x8xf32>
    %zero = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %den = stablehlo.reduce(%e init: %zero) applies stablehlo.add across dimensions = [2] : (tensor<2x8x8xf32>, tensor<f32>) -> tensor<2x8xf32>
    %denb = stablehlo.broadcast_in_dim %den, dims = [0, 1] : (tensor<2x8xf32>) -> tensor<2x8x8xf32>
    %p = stablehlo.divide %e, %denb : tensor<2x8x8xf32>
    %o = stablehlo.dot_general %p, %vt, batching_dims = [0] x [0], contracting_dims = [2] x [1] : (tensor<2x8x8xf32>, tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
    %ot = stablehlo.transpose %o, dims = [1, 0, 2] : (tensor<2x8x8xf32>) -> tensor<8x2x8xf32>
    %o2 = stablehlo.reshape %ot : (tensor<8x2x8xf32>) -> tensor<8x16xf32>
    %proj = stablehlo.dot_general %o2, %wo, contracting_dims = [1] x [0] : (tensor<8x16xf32>, tensor<16x16xf32>) -> tensor<8x16xf32>
    %x1 = stablehlo.add %x, %proj : tensor<8x16xf32>
    %h2 = call @layernorm(%x1, %g2, %be2) : (tensor<8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<8x16xf32>
    %f = stablehlo.dot_general %h2, %w1, contracting_dims = [1] x [0] : (tensor<8x16xf32>, tensor<16x32xf32>) -> tensor<8x32xf32>
    %c1702 = stablehlo.constant dense<1.702000e+00> : tensor<8x32xf32>
    %fs = stablehlo.multiply %f, %c1702 : tensor<8x32xf32>
    %sg = stablehlo.logistic %fs : tensor<8x32xf32>
    %act = stablehlo.multiply %f, %sg : tensor<8x32xf32>
    %f2 = stablehlo.dot_general %act, %w2, contracting_dims = [1] x [0] : (tensor<8x32xf32>, tensor<32x16xf32>) -> tensor<8x16xf32>
    %y = stablehlo.add %x1, %f2 : tensor<8x16xf32>
    return %y : tensor<8x16xf32>
  }
  func.func private @layernorm(%x: tensor<8x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<8x16xf32> {
    %zero = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %n = stablehlo.constant dense<1.600000e+01> : tensor<8xf32>
    %eps = stablehlo.constant dense<9.99999974E-6> : tensor<8xf32>
    %sum = stablehlo.reduce(%x init: %zero) applies stablehlo.add across dimensions = [1] : (tensor<8x16xf32>, tensor<f32>) -> tensor<8xf32>
    %mean = stablehlo.divide %sum, %n : tensor<8xf32>
    %meanb = stablehlo.broadcast_in_dim %mean, dims = [0] : (tensor<8xf32>) -> tensor<8x16xf32>
    %c = stablehlo.subtract %x, %meanb : tensor<8x16xf32>
    %sq = stablehlo.multiply %c, %c : tensor<8x16xf32>
    %ssum = stablehlo.reduce(%sq init: %zero) applies stablehlo.add across dimensions = [1] : (tensor<8x16xf32>, tensor<f32>) -> tensor<8xf32>
    %var = stablehlo.divide %ssum, %n : tensor<8xf32>
    %ve = stablehlo.add %var, %eps : tensor<8xf32>
    %r = stablehlo.rsqrt %ve : tensor<8xf32>
    %rb = stablehlo.broadcast_in_dim %r, dims = [0] : (tensor<8xf32>) -> tensor<8x16xf32>
    %nrm = stablehlo.multiply %c, %rb : tensor<8x16xf32>
    %gb = stablehlo.broadcast_in_dim %g, dims = [1] : (tensor<16xf32>) -> tensor<8x16xf32>
    %bb = stablehlo.broadcast_in_dim %b, dims = [1] : (tensor<16xf32>) -> tensor<8x16xf32>
    %scaled = stablehlo.multiply %nrm, %gb : tensor<8x16xf32>
    %out = stablehlo.add %scaled, %bb : tensor<8x16xf32>
    return %out : tensor<8x16xf32>
  }
}
