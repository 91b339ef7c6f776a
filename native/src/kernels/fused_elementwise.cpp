// fleetc FusedElementwise: a chain of float32 elementwise ops, written by the compiler's
// fuse-elementwise pass, evaluated in one pass over memory. Attribute `program` holds triples
// [opcode, a, b]: registers 0..n_inputs-1 are the inputs (numpy-broadcast to the output shape),
// instruction k writes register n_inputs+k, the last register is the output; b is −1 for unary
// ops. Work goes in chunks of one output row segment, each instruction a loop over the chunk.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "kernel_util.h"

namespace fleetrt {
namespace {

enum Opcode : int64_t {
  kAdd = 0, kSub = 1, kMul = 2, kDiv = 3, kPow = 4, kMax = 5, kMin = 6,
  kRelu = 20, kSigmoid = 21, kTanh = 22, kErf = 23, kNeg = 24, kAbs = 25, kExp = 26, kSqrt = 27, kLog = 28,
  kReciprocal = 29, kSquare = 30,
};

bool is_binary(int64_t op) { return op >= kAdd && op <= kMin; }
bool is_unary(int64_t op) { return op >= kRelu && op <= kSquare; }

constexpr int64_t kChunk = 512;

void run_instr(int64_t op, const float* a, const float* b, float* o, int64_t n) {
  switch (op) {
    case kAdd: for (int64_t i = 0; i < n; ++i) o[i] = a[i] + b[i]; break;
    case kSub: for (int64_t i = 0; i < n; ++i) o[i] = a[i] - b[i]; break;
    case kMul: for (int64_t i = 0; i < n; ++i) o[i] = a[i] * b[i]; break;
    case kDiv: for (int64_t i = 0; i < n; ++i) o[i] = a[i] / b[i]; break;
    case kPow: for (int64_t i = 0; i < n; ++i) o[i] = std::pow(a[i], b[i]); break;
    case kMax: for (int64_t i = 0; i < n; ++i) o[i] = std::isnan(a[i]) || std::isnan(b[i]) ? NAN : std::max(a[i], b[i]); break;
    case kMin: for (int64_t i = 0; i < n; ++i) o[i] = std::isnan(a[i]) || std::isnan(b[i]) ? NAN : std::min(a[i], b[i]); break;
    case kRelu: for (int64_t i = 0; i < n; ++i) o[i] = a[i] < 0.f ? 0.f : a[i]; break;
    case kSigmoid: ku::vsigmoid(a, o, n); break;
    case kTanh: ku::vtanh(a, o, n); break;  // AVX2 when available
    case kErf: ku::verf(a, o, n); break;
    case kNeg: for (int64_t i = 0; i < n; ++i) o[i] = -a[i]; break;
    case kAbs: for (int64_t i = 0; i < n; ++i) o[i] = std::fabs(a[i]); break;
    case kExp: for (int64_t i = 0; i < n; ++i) o[i] = std::exp(a[i]); break;
    case kSqrt: {
      // std::sqrt does not vectorize (errno); sqrtps is the same correctly rounded result
      int64_t i = 0;
#if defined(__SSE2__)
      for (; i + 4 <= n; i += 4) _mm_storeu_ps(o + i, _mm_sqrt_ps(_mm_loadu_ps(a + i)));
#endif
      for (; i < n; ++i) o[i] = std::sqrt(a[i]);
      break;
    }
    case kLog: for (int64_t i = 0; i < n; ++i) o[i] = std::log(a[i]); break;
    case kReciprocal: for (int64_t i = 0; i < n; ++i) o[i] = 1.f / a[i]; break;
    case kSquare: for (int64_t i = 0; i < n; ++i) o[i] = a[i] * a[i]; break;
    default: break;
  }
}

Status k_FusedElementwise(KernelContext& ctx) {
  const int n_in = ctx.num_inputs();
  const std::vector<int64_t> prog = ctx.attrs().get_ints("program");
  if (n_in < 1 || prog.empty() || prog.size() % 3 != 0) return ku::op_error(ctx, "bad program or no inputs");
  const int64_t n_ins = static_cast<int64_t>(prog.size() / 3), n_regs = n_in + n_ins;
  for (int64_t k = 0; k < n_ins; ++k) {
    const int64_t op = prog[3 * k], a = prog[3 * k + 1], b = prog[3 * k + 2], self = n_in + k;
    const bool bin = is_binary(op);
    if ((!bin && !is_unary(op)) || a < 0 || a >= self || (bin ? (b < 0 || b >= self) : b != -1))
      return ku::op_error(ctx, "bad instruction " + std::to_string(k) + " in the program");
  }
  std::vector<const Tensor*> ins(static_cast<size_t>(n_in));
  size_t rank = 0;
  for (int i = 0; i < n_in; ++i) {
    FLEETRT_RETURN_IF_ERROR(ku::require_input(ctx, i, &ins[static_cast<size_t>(i)]));
    if (ins[static_cast<size_t>(i)]->dtype != DType::kF32) return ku::op_error(ctx, "inputs must be float32");
    rank = std::max(rank, ins[static_cast<size_t>(i)]->rank());
  }
  // Output shape: numpy broadcast of the inputs.
  std::vector<int64_t> oshape(rank, 1);
  std::vector<std::vector<int64_t>> aligned(static_cast<size_t>(n_in));
  for (int i = 0; i < n_in; ++i) {
    const auto& s = ins[static_cast<size_t>(i)]->shape;
    auto& al = aligned[static_cast<size_t>(i)];
    al.assign(rank - s.size(), 1);
    al.insert(al.end(), s.begin(), s.end());
    for (size_t d = 0; d < rank; ++d) {
      if (al[d] == oshape[d] || al[d] == 1) continue;
      if (oshape[d] != 1) return ku::op_error(ctx, "inputs do not broadcast: " + ku::shape_str(s));
      oshape[d] = al[d];
    }
  }
  Tensor* y;
  FLEETRT_RETURN_IF_ERROR(ku::alloc_output(ctx, 0, oshape, DType::kF32, &y));
  const int64_t total = y->numel();
  if (total == 0) return Status::Ok();
  // Coalesce dims: drop size-1 output dims, merge neighbours where every input is full in both
  // or broadcast in both.
  std::vector<int64_t> dims;
  std::vector<std::vector<char>> full(static_cast<size_t>(n_in));  // per input, per merged dim
  for (size_t d = 0; d < rank; ++d) {
    if (oshape[d] == 1) continue;
    bool merge = !dims.empty();
    for (int i = 0; i < n_in && merge; ++i)
      if (full[static_cast<size_t>(i)].back() != (aligned[static_cast<size_t>(i)][d] != 1)) merge = false;
    if (merge) {
      dims.back() *= oshape[d];
    } else {
      dims.push_back(oshape[d]);
      for (int i = 0; i < n_in; ++i) full[static_cast<size_t>(i)].push_back(aligned[static_cast<size_t>(i)][d] != 1);
    }
  }
  if (dims.empty()) {
    dims.push_back(1);
    for (int i = 0; i < n_in; ++i) full[static_cast<size_t>(i)].push_back(0);
  }
  const size_t nd = dims.size();
  const int64_t L = dims.back(), rows = total / L;
  // Element strides of each input over the merged dims (0 where broadcast).
  std::vector<std::vector<int64_t>> strides(static_cast<size_t>(n_in), std::vector<int64_t>(nd, 0));
  for (int i = 0; i < n_in; ++i) {
    int64_t s = 1;
    for (size_t d = nd; d-- > 0;)
      if (full[static_cast<size_t>(i)][d]) strides[static_cast<size_t>(i)][d] = s, s *= dims[d];
  }
  const int64_t segs = (L + kChunk - 1) / kChunk;
  float* out = y->as<float>();
  ku::parallel_elems(ctx, rows * segs, std::min(L, kChunk) * n_ins, [&](int64_t c0, int64_t c1) {
    std::vector<float> regs(static_cast<size_t>(n_regs * kChunk));
    std::vector<const float*> ptr(static_cast<size_t>(n_regs));
    for (int64_t c = c0; c < c1; ++c) {
      const int64_t row = c / segs, j0 = (c % segs) * kChunk, n = std::min(kChunk, L - j0);
      for (int i = 0; i < n_in; ++i) {
        int64_t off = 0, r = row;
        for (size_t d = nd - 1; d-- > 0;) {
          off += (r % dims[d]) * strides[static_cast<size_t>(i)][d];
          r /= dims[d];
        }
        const float* base = ins[static_cast<size_t>(i)]->as<float>() + off;
        if (strides[static_cast<size_t>(i)][nd - 1]) {
          ptr[static_cast<size_t>(i)] = base + j0;
        } else {
          float* reg = regs.data() + static_cast<size_t>(i) * kChunk;
          std::fill(reg, reg + n, *base);
          ptr[static_cast<size_t>(i)] = reg;
        }
      }
      for (int64_t k = 0; k < n_ins; ++k) {
        const int64_t self = n_in + k;
        float* o = self == n_regs - 1 ? out + row * L + j0 : regs.data() + static_cast<size_t>(self) * kChunk;
        const int64_t b = prog[3 * k + 2];
        run_instr(prog[3 * k], ptr[static_cast<size_t>(prog[3 * k + 1])], b >= 0 ? ptr[static_cast<size_t>(b)] : nullptr,
                  o, n);
        ptr[static_cast<size_t>(self)] = o;
      }
    }
  });
  return Status::Ok();
}

}  // namespace

FLEETRT_REGISTER_KERNEL("fleetc", "FusedElementwise", k_FusedElementwise);

}  // namespace fleetrt
