// A two-layer MLP in the form the JAX exporter prints: x[4,16] -> dense(32) -> gelu (tanh form)
// -> dense(8) -> softmax. Weights are function arguments, as in exported JAX models.
module @jit_mlp attributes {mhlo.num_partitions = 1 : i32, mhlo.num_replicas = 1 : i32} {
  func.func public @main(%x: tensor<4x16xf32> {jax.arg_info = "x"}, %w1: tensor<16x32xf32> {jax.arg_info = "params['w1']"}, %b1: tensor<32xf32> {jax.arg_info = "params['b1']"}, %w2: tensor<32x8xf32> {jax.arg_info = "params['w2']"}, %b2: tensor<8xf32> {jax.arg_info = "params['b2']"}) -> (tensor<4x8xf32> {jax.result_info = "probs"}) {
    %0 = stablehlo.dot_general %x, %w1, contracting_dims = [1] x [0], precision = [DEFAULT, DEFAULT] : (tensor<4x16xf32>, tensor<16x32xf32>) -> tensor<4x32xf32>
    %1 = stablehlo.broadcast_in_dim %b1, dims = [1] : (tensor<32xf32>) -> tensor<4x32xf32>
    %2 = stablehlo.add %0, %1 : tensor<4x32xf32>
    %3 = call @gelu(%2) : (tensor<4x32xf32>) -> tensor<4x32xf32>
    %4 = stablehlo.dot_general %3, %w2, contracting_dims = [1] x [0], precision = [DEFAULT, DEFAULT] : (tensor<4x32xf32>, tensor<32x8xf32>) -> tensor<4x8xf32>
    %5 = stablehlo.broadcast_in_dim %b2, dims = [1] : (tensor<8xf32>) -> tensor<4x8xf32>
    %6 = stablehlo.add %4, %5 : tensor<4x8xf32>
    %cst = stablehlo.constant dense<0xFF800000> : tensor<f32>
    %7 = stablehlo.reduce(%6 init: %cst) applies stablehlo.maximum across dimensions = [1] : (tensor<4x8xf32>, tensor<f32>) -> tensor<4xf32>
    %8 = stablehlo.broadcast_in_dim %7, dims = [0] : (tensor<4xf32>) -> tensor<4x8xf32>
    %9 = stablehlo.subtract %6, %8 : tensor<4x8xf32>
    %10 = stablehlo.exponential %9 : tensor<4x8xf32>
    %cst_0 = stablehlo.constant dense<0.000000e+00> : tensor<f32>
    %11 = stablehlo.reduce(%10 init: %cst_0) applies stablehlo.add across dimensions = [1] : (tensor<4x8xf32>, tensor<f32>) -> tensor<4xf32>
    %12 = stablehlo.broadcast_in_dim %11, dims = [0] : (tensor<4xf32>) -> tensor<4x8xf32>
    %13 = stablehlo.divide %10, %12 : tensor<4x8xf32>
    return %13 : tensor<4x8xf32>
  }
  func.func private @gelu(%arg0: tensor<4x32xf32>) -> tensor<4x32xf32> {
    %c = stablehlo.constant dense<5.000000e-01> : tensor<4x32xf32>
    %c1 = stablehlo.constant dense<1.000000e+00> : tensor<4x32xf32>
    %k = stablehlo.constant dense<0.797884583> : tensor<4x32xf32>
    %a = stablehlo.constant dense<4.471500e-02> : tensor<4x32xf32>
    %0 = stablehlo.multiply %arg0, %arg0 : tensor<4x32xf32>
    %1 = stablehlo.multiply %0, %arg0 : tensor<4x32xf32>
    %2 = stablehlo.multiply %a, %1 : tensor<4x32xf32>
    %3 = stablehlo.add %arg0, %2 : tensor<4x32xf32>
    %4 = stablehlo.multiply %k, %3 : tensor<4x32xf32>
    %5 = stablehlo.tanh %4 : tensor<4x32xf32>
    %6 = stablehlo.add %c1, %5 : tensor<4x32xf32>
    %7 = stablehlo.multiply %c, %6 : tensor<4x32xf32>
    %8 = stablehlo.multiply %arg0, %7 : tensor<4x32xf32>
    return %8 : tensor<4x32xf32>
  }
}
