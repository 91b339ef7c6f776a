// Element-wise kernels: unary and binary ONNX ops (numpy broadcasting), Where, Cast and the
// compiler's fleetc.FusedElementwise chains (native/src/kernels/fused_elementwise.cpp has the
// program format). Floats compute in fp32 whatever their storage type; integers in int64.
#include <cmath>
#include <cstring>

#include "backends/cuda/cuda_device.cuh"
#include "backends/cuda/cuda_ops.h"

namespace fleetrt {
namespace cuda {
namespace {

constexpr int kMaxOperands = 8;
constexpr int kMaxProgram = 96;

struct Operands {
  int n = 0;
  const void* p[kMaxOperands] = {};
  int dt[kMaxOperands] = {};
  Dims d[kMaxOperands];
};

// Operand dims over the output shape, with neighbouring dims merged where every operand is
// either contiguous across both or broadcast in both.
Status coalesce(const std::vector<int64_t>& out, const std::vector<const Tensor*>& ins, Operands* ops) {
  if (out.size() > static_cast<size_t>(kMaxRank)) return Status::Error("rank above 8");
  std::vector<Dims> full;
  for (const Tensor* t : ins) full.push_back(broadcast_dims(t->shape, out));
  ops->n = static_cast<int>(ins.size());
  Dims merged[kMaxOperands];
  int rank = 0;
  for (size_t k = 0; k < out.size(); ++k) {
    if (out[k] == 1) continue;
    bool merge = rank > 0;
    for (size_t i = 0; i < ins.size() && merge; ++i) {
      const Dims& m = merged[i];
      const int64_t inner = m.stride[rank - 1], here = full[i].stride[k];
      merge = (inner == 0 && here == 0) || (here != 0 && inner == here * out[k]);
    }
    if (merge) {
      for (size_t i = 0; i < ins.size(); ++i) {
        merged[i].size[rank - 1] *= out[k];
        merged[i].stride[rank - 1] = full[i].stride[k];
      }
    } else {
      for (size_t i = 0; i < ins.size(); ++i) {
        merged[i].size[rank] = out[k];
        merged[i].stride[rank] = full[i].stride[k];
      }
      ++rank;
    }
  }
  for (size_t i = 0; i < ins.size(); ++i) {
    merged[i].rank = rank;
    ops->d[i] = merged[i];
    ops->p[i] = ins[i]->data;
    ops->dt[i] = static_cast<int>(ins[i]->dtype);
  }
  return Status::Ok();
}

// Opcodes: binary 0..19 (the FusedElementwise ones first), unary 20.. (likewise).
enum Op : int {
  kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kPow = 4, kMax = 5, kMin = 6,
  kEqual = 10, kLess = 11, kGreater = 12, kLessEq = 13, kGreaterEq = 14, kAnd = 15, kOr = 16,
  kRelu = 20, kSigmoid = 21, kTanh = 22, kErf = 23, kNeg = 24, kAbs = 25, kExp = 26, kSqrt = 27, kLog = 28,
  kReciprocal = 29, kSquare = 30,
  kSin = 40, kCos = 41, kNot = 42, kSoftplus = 43, kGelu = 44, kGeluTanh = 45, kFloor = 46, kCeil = 47, kIdentity = 48,
};

__device__ __forceinline__ float binary_f(int op, float a, float b) {
  switch (op) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMul: return a * b;
    case kDiv: return a / b;
    case kPow: return powf(a, b);
    case kMax: return isnan(a) || isnan(b) ? NAN : fmaxf(a, b);
    case kMin: return isnan(a) || isnan(b) ? NAN : fminf(a, b);
    case kEqual: return a == b;
    case kLess: return a < b;
    case kGreater: return a > b;
    case kLessEq: return a <= b;
    case kGreaterEq: return a >= b;
    case kAnd: return (a != 0.f) && (b != 0.f);
    case kOr: return (a != 0.f) || (b != 0.f);
  }
  return 0.f;
}

__device__ __forceinline__ int64_t binary_i(int op, int64_t a, int64_t b) {
  switch (op) {
    case kAdd: return a + b;
    case kSub: return a - b;
    case kMul: return a * b;
    case kDiv: return b == 0 ? 0 : a / b;
    case kMax: return a > b ? a : b;
    case kMin: return a < b ? a : b;
    case kEqual: return a == b;
    case kLess: return a < b;
    case kGreater: return a > b;
    case kLessEq: return a <= b;
    case kGreaterEq: return a >= b;
    case kAnd: return a && b;
    case kOr: return a || b;
  }
  return 0;
}

__device__ __forceinline__ float unary_f(int op, float x) {
  switch (op) {
    case kRelu: return x < 0.f ? 0.f : x;
    case kSigmoid: return 1.f / (1.f + expf(-x));
    case kTanh: return tanhf(x);
    case kErf: return erff(x);
    case kNeg: return -x;
    case kAbs: return fabsf(x);
    case kExp: return expf(x);
    case kSqrt: return sqrtf(x);
    case kLog: return logf(x);
    case kReciprocal: return 1.f / x;
    case kSquare: return x * x;
    case kSin: return sinf(x);
    case kCos: return cosf(x);
    case kNot: return x == 0.f;
    case kSoftplus: return x > 20.f ? x : log1pf(expf(x));
    case kGelu: return 0.5f * x * (1.f + erff(x * 0.70710678118654752f));
    case kGeluTanh: return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case kFloor: return floorf(x);
    case kCeil: return ceilf(x);
    case kIdentity: return x;
  }
  return 0.f;
}

__global__ void binary_kernel(Operands in, int op, bool integer, void* out, int out_dt, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const int64_t oa = bcast_offset(in.d[0], i), ob = bcast_offset(in.d[1], i);
    if (integer) {
      const int64_t v = binary_i(op, load_i(in.p[0], in.dt[0], oa), load_i(in.p[1], in.dt[1], ob));
      if (is_float_code(out_dt)) store_f(out, out_dt, i, static_cast<float>(v));
      else store_i(out, out_dt, i, v);
    } else {
      store_f(out, out_dt, i, binary_f(op, load_f(in.p[0], in.dt[0], oa), load_f(in.p[1], in.dt[1], ob)));
    }
  }
}

__global__ void unary_kernel(const void* x, int dt, int op, float lo, float hi, void* out, int out_dt, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    float v = unary_f(op, load_f(x, dt, i));
    v = v < lo ? lo : v > hi ? hi : v;  // NaN stays NaN
    store_f(out, out_dt, i, v);
  }
}

struct Program {
  int n_ins = 0;
  int code[kMaxProgram][3];
};

__global__ void fused_kernel(Operands in, Program prog, float* out, int64_t n) {
  float regs[kMaxOperands + kMaxProgram];
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    for (int k = 0; k < in.n; ++k) regs[k] = static_cast<const float*>(in.p[k])[bcast_offset(in.d[k], i)];
    for (int k = 0; k < prog.n_ins; ++k) {
      const int op = prog.code[k][0];
      const float a = regs[prog.code[k][1]];
      regs[in.n + k] = op < 20 ? binary_f(op, a, regs[prog.code[k][2]]) : unary_f(op, a);
    }
    out[i] = regs[in.n + prog.n_ins - 1];
  }
}

__global__ void where_kernel(Operands in, int64_t elem, void* out, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    const bool c = static_cast<const uint8_t*>(in.p[0])[bcast_offset(in.d[0], i)] != 0;
    const int s = c ? 1 : 2;
    const int64_t off = bcast_offset(in.d[s], i);
    const char* src = static_cast<const char*>(in.p[s]) + off * elem;
    char* dst = static_cast<char*>(out) + i * elem;
    switch (elem) {
      case 1: *dst = *src; break;
      case 2: *reinterpret_cast<uint16_t*>(dst) = *reinterpret_cast<const uint16_t*>(src); break;
      case 4: *reinterpret_cast<uint32_t*>(dst) = *reinterpret_cast<const uint32_t*>(src); break;
      default: *reinterpret_cast<uint64_t*>(dst) = *reinterpret_cast<const uint64_t*>(src); break;
    }
  }
}

__global__ void cast_kernel(const void* x, int dt, void* out, int out_dt, int64_t n) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    if (is_float_code(dt)) {
      const float v = load_f(x, dt, i);
      if (is_float_code(out_dt) || out_dt == kBool) store_f(out, out_dt, i, v);
      else store_i(out, out_dt, i, static_cast<int64_t>(v));
    } else {
      const int64_t v = load_i(x, dt, i);
      if (is_float_code(out_dt)) store_f(out, out_dt, i, static_cast<float>(v));
      else store_i(out, out_dt, i, v);
    }
  }
}

bool integer_type(DType t) { return t == DType::kI64 || t == DType::kI32 || t == DType::kI8 || t == DType::kU8 || t == DType::kBool; }

// Max / Min of any number of inputs: the first broadcast into the output, then each other one
// folded in place (every element reads and writes only itself).
Status run_variadic(KernelContext& ctx, CudaContext& c, int op) {
  std::vector<const Tensor*> ins;
  std::vector<std::vector<int64_t>> shapes;
  for (int i = 0; i < ctx.num_inputs(); ++i) {
    const Tensor* t = ctx.input(i);
    if (!t) return op_error(ctx, "input " + std::to_string(i) + " is missing");
    if (t->dtype != ctx.input(0)->dtype) return op_error(ctx, "inputs have different element types");
    ins.push_back(t);
    shapes.push_back(t->shape);
  }
  if (ins.empty()) return op_error(ctx, "needs an input");
  std::vector<int64_t> shape;
  if (!broadcast_shape(shapes, &shape)) return op_error(ctx, "inputs do not broadcast");
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, ins[0]->dtype, &Y));
  const int64_t n = Y->numel();
  if (!n) return Status::Ok();
  FLEETRT_RETURN_IF_ERROR(broadcast_copy(c, *ins[0], Y));
  for (size_t i = 1; i < ins.size(); ++i) {
    Operands ops;
    Status st = coalesce(shape, {Y, ins[i]}, &ops);
    if (!st.ok()) return op_error(ctx, st.message);
    binary_kernel<<<grid_for(n), 256, 0, c.stream>>>(ops, op, integer_type(Y->dtype), Y->data, static_cast<int>(Y->dtype), n);
    FLEETRT_CUDA_LAUNCHED();
  }
  return Status::Ok();
}

Status run_binary(KernelContext& ctx, int op, bool logical_out) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  if ((op == kMax || op == kMin) && ctx.num_inputs() != 2) return run_variadic(ctx, *c, op);
  const Tensor* A = ctx.input(0);
  const Tensor* B = ctx.input(1);
  if (!A || !B || ctx.num_inputs() != 2) return op_error(ctx, "takes exactly two inputs");
  if (A->dtype != B->dtype) return op_error(ctx, "inputs have different element types");
  std::vector<int64_t> shape;
  if (!broadcast_shape({A->shape, B->shape}, &shape)) return op_error(ctx, "inputs do not broadcast");
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, logical_out ? DType::kBool : A->dtype, &Y));
  const int64_t n = Y->numel();
  if (!n) return Status::Ok();
  Operands ops;
  Status st = coalesce(shape, {A, B}, &ops);
  if (!st.ok()) return op_error(ctx, st.message);
  binary_kernel<<<grid_for(n), 256, 0, c->stream>>>(ops, op, integer_type(A->dtype), Y->data, static_cast<int>(Y->dtype), n);
  FLEETRT_CUDA_LAUNCHED();
  return Status::Ok();
}

Status run_unary(KernelContext& ctx, int op, float lo = -INFINITY, float hi = INFINITY) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, X->shape, X->dtype, &Y));
  const int64_t n = Y->numel();
  if (!n) return Status::Ok();
  unary_kernel<<<grid_for(n), 256, 0, c->stream>>>(X->data, static_cast<int>(X->dtype), op, lo, hi, Y->data, static_cast<int>(Y->dtype), n);
  FLEETRT_CUDA_LAUNCHED();
  return Status::Ok();
}

#define BINARY(NAME, OP, LOGICAL) \
  Status k_##NAME(KernelContext& ctx) { return run_binary(ctx, OP, LOGICAL); }
BINARY(Add, kAdd, false)
BINARY(Sub, kSub, false)
BINARY(Mul, kMul, false)
BINARY(Div, kDiv, false)
BINARY(Pow, kPow, false)
BINARY(Max, kMax, false)
BINARY(Min, kMin, false)
BINARY(Equal, kEqual, true)
BINARY(Less, kLess, true)
BINARY(Greater, kGreater, true)
BINARY(LessOrEqual, kLessEq, true)
BINARY(GreaterOrEqual, kGreaterEq, true)
BINARY(And, kAnd, true)
BINARY(Or, kOr, true)
#undef BINARY

#define UNARY(NAME, OP) \
  Status k_##NAME(KernelContext& ctx) { return run_unary(ctx, OP); }
UNARY(Relu, kRelu)
UNARY(Sigmoid, kSigmoid)
UNARY(Tanh, kTanh)
UNARY(Erf, kErf)
UNARY(Neg, kNeg)
UNARY(Abs, kAbs)
UNARY(Exp, kExp)
UNARY(Sqrt, kSqrt)
UNARY(Log, kLog)
UNARY(Reciprocal, kReciprocal)
UNARY(Sin, kSin)
UNARY(Cos, kCos)
UNARY(Not, kNot)
UNARY(Softplus, kSoftplus)
UNARY(Floor, kFloor)
UNARY(Ceil, kCeil)
#undef UNARY

Status k_Gelu(KernelContext& ctx) {
  return run_unary(ctx, ctx.attrs().get_string("approximate", "none") == "tanh" ? kGeluTanh : kGelu);
}

// Clip: min/max as optional host-known scalar inputs (opset ≥ 11) or attributes (older).
Status k_Clip(KernelContext& ctx) {
  float lo = static_cast<float>(ctx.attrs().get_float("min", -INFINITY));
  float hi = static_cast<float>(ctx.attrs().get_float("max", INFINITY));
  for (int k = 1; k <= 2 && k < ctx.num_inputs(); ++k) {
    const Tensor* t = ctx.host_input(k);
    if (!t || t->numel() == 0) continue;
    float v;
    if (t->dtype == DType::kF32) {
      v = *t->as<float>();
    } else if (t->dtype == DType::kF16) {
      __half_raw r;
      r.x = *t->as<uint16_t>();
      v = __half2float(__half(r));
    } else if (t->dtype == DType::kBF16) {
      const uint32_t bits = static_cast<uint32_t>(*t->as<uint16_t>()) << 16;
      std::memcpy(&v, &bits, sizeof v);
    } else {
      return op_error(ctx, "Clip bounds must have the input's float type");
    }
    (k == 1 ? lo : hi) = v;
  }
  return run_unary(ctx, kIdentity, lo, hi);
}

Status k_Where(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  const Tensor* C = ctx.input(0);
  const Tensor* X = ctx.input(1);
  const Tensor* Y = ctx.input(2);
  if (!C || !X || !Y) return op_error(ctx, "needs three inputs");
  if (C->dtype != DType::kBool) return op_error(ctx, "condition must be bool");
  if (X->dtype != Y->dtype) return op_error(ctx, "X and Y have different element types");
  std::vector<int64_t> shape;
  if (!broadcast_shape({C->shape, X->shape, Y->shape}, &shape)) return op_error(ctx, "inputs do not broadcast");
  Tensor* O;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, X->dtype, &O));
  const int64_t n = O->numel();
  if (!n) return Status::Ok();
  Operands ops;
  Status st = coalesce(shape, {C, X, Y}, &ops);
  if (!st.ok()) return op_error(ctx, st.message);
  where_kernel<<<grid_for(n), 256, 0, c->stream>>>(ops, static_cast<int64_t>(dtype_bytes(X->dtype, 1)), O->data, n);
  FLEETRT_CUDA_LAUNCHED();
  return Status::Ok();
}

Status k_Cast(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  const Tensor* X = ctx.input(0);
  if (!X) return op_error(ctx, "needs an input");
  const DType to = static_cast<DType>(ctx.attrs().get_int("to", 0));
  const std::vector<std::string>* ok = kernel_dtypes("", "Cast");
  bool known = false;
  for (const std::string& s : *ok) known = known || s == dtype_name(to);
  if (!known) return op_error(ctx, std::string("cannot cast to ") + dtype_name(to));
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, X->shape, to, &Y));
  const int64_t n = Y->numel();
  if (!n) return Status::Ok();
  if (X->dtype == to) return copy_tensor(*c, *X, Y);
  cast_kernel<<<grid_for(n), 256, 0, c->stream>>>(X->data, static_cast<int>(X->dtype), Y->data, static_cast<int>(to), n);
  FLEETRT_CUDA_LAUNCHED();
  return Status::Ok();
}

bool fused_binary(int64_t op) { return op >= kAdd && op <= kMin; }
bool fused_unary(int64_t op) { return op >= kRelu && op <= kSquare; }

Status k_FusedElementwise(KernelContext& ctx) {
  CudaContext* c;
  FLEETRT_RETURN_IF_ERROR(get_context(ctx, &c));
  FLEETRT_RETURN_IF_ERROR(check_dtypes(ctx));
  const int n_in = ctx.num_inputs();
  const std::vector<int64_t> code = ctx.attrs().get_ints("program");
  if (n_in < 1 || n_in > kMaxOperands || code.empty() || code.size() % 3 != 0)
    return op_error(ctx, "bad program, or no or more than 8 inputs");
  Program prog;
  prog.n_ins = static_cast<int>(code.size() / 3);
  if (prog.n_ins > kMaxProgram) return op_error(ctx, "program longer than 96 instructions");
  for (int k = 0; k < prog.n_ins; ++k) {
    const int64_t op = code[3 * k], a = code[3 * k + 1], b = code[3 * k + 2], self = n_in + k;
    const bool bin = fused_binary(op);
    if ((!bin && !fused_unary(op)) || a < 0 || a >= self || (bin ? (b < 0 || b >= self) : b != -1))
      return op_error(ctx, "bad instruction " + std::to_string(k) + " in the program");
    prog.code[k][0] = static_cast<int>(op);
    prog.code[k][1] = static_cast<int>(a);
    prog.code[k][2] = static_cast<int>(b);
  }
  std::vector<const Tensor*> ins;
  std::vector<std::vector<int64_t>> shapes;
  for (int i = 0; i < n_in; ++i) {
    const Tensor* t = ctx.input(i);
    if (!t || t->dtype != DType::kF32) return op_error(ctx, "inputs must be float32");
    ins.push_back(t);
    shapes.push_back(t->shape);
  }
  std::vector<int64_t> shape;
  if (!broadcast_shape(shapes, &shape)) return op_error(ctx, "inputs do not broadcast");
  Tensor* Y;
  FLEETRT_RETURN_IF_ERROR(alloc_output(ctx, 0, shape, DType::kF32, &Y));
  const int64_t n = Y->numel();
  if (!n) return Status::Ok();
  Operands ops;
  Status st = coalesce(shape, ins, &ops);
  if (!st.ok()) return op_error(ctx, st.message);
  fused_kernel<<<grid_for(n), 256, 0, c->stream>>>(ops, prog, Y->as<float>(), n);
  FLEETRT_CUDA_LAUNCHED();
  return Status::Ok();
}

}  // namespace

FLEETRT_CUDA_KERNEL("", "Add", k_Add, "float32,float16,bfloat16,int32,int64");
FLEETRT_CUDA_KERNEL("", "Sub", k_Sub, "float32,float16,bfloat16,int32,int64");
FLEETRT_CUDA_KERNEL("", "Mul", k_Mul, "float32,float16,bfloat16,int32,int64");
FLEETRT_CUDA_KERNEL("", "Div", k_Div, "float32,float16,bfloat16,int32,int64");
FLEETRT_CUDA_KERNEL("", "Pow", k_Pow, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Max", k_Max, "float32,float16,bfloat16,int32,int64");
FLEETRT_CUDA_KERNEL("", "Min", k_Min, "float32,float16,bfloat16,int32,int64");
FLEETRT_CUDA_KERNEL("", "Equal", k_Equal, "float32,float16,bfloat16,int32,int64,bool");
FLEETRT_CUDA_KERNEL("", "Less", k_Less, "float32,float16,bfloat16,int32,int64,bool");
FLEETRT_CUDA_KERNEL("", "Greater", k_Greater, "float32,float16,bfloat16,int32,int64,bool");
FLEETRT_CUDA_KERNEL("", "LessOrEqual", k_LessOrEqual, "float32,float16,bfloat16,int32,int64,bool");
FLEETRT_CUDA_KERNEL("", "GreaterOrEqual", k_GreaterOrEqual, "float32,float16,bfloat16,int32,int64,bool");
FLEETRT_CUDA_KERNEL("", "And", k_And, "bool");
FLEETRT_CUDA_KERNEL("", "Or", k_Or, "bool");
FLEETRT_CUDA_KERNEL("", "Relu", k_Relu, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Sigmoid", k_Sigmoid, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Tanh", k_Tanh, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Erf", k_Erf, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Neg", k_Neg, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Abs", k_Abs, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Exp", k_Exp, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Sqrt", k_Sqrt, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Log", k_Log, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Reciprocal", k_Reciprocal, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Sin", k_Sin, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Cos", k_Cos, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Not", k_Not, "bool");
FLEETRT_CUDA_KERNEL("", "Softplus", k_Softplus, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Floor", k_Floor, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Ceil", k_Ceil, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Gelu", k_Gelu, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Clip", k_Clip, "float32,float16,bfloat16");
FLEETRT_CUDA_KERNEL("", "Where", k_Where, "bool,float32,float16,bfloat16,int32,int64");
FLEETRT_CUDA_KERNEL("", "Cast", k_Cast, "float32,float16,bfloat16,int32,int64,int8,uint8,bool");
FLEETRT_CUDA_KERNEL("fleetc", "FusedElementwise", k_FusedElementwise, "float32");

}  // namespace cuda
}  // namespace fleetrt
