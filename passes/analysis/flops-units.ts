/**
 * FLOP counting conventions shared by the ONNX (flops.ts) and StableHLO (flops-stablehlo.ts)
 * formulas: a multiply-add is 2 FLOPs; one arithmetic operation on one element is 1 FLOP; a
 * transcendental function (exp, log, tanh, erf, sqrt, pow, trig) is TRANSCENDENTAL FLOPs; data
 * movement is 0 FLOPs.
 */
export const TRANSCENDENTAL = 4;
