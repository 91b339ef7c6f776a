// The shared scaled-dot-product attention and rotary-embedding helpers declared in kernel_util.h
// (used by ai.onnx Attention/RotaryEmbedding and the com.microsoft attention ops).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernel_util.h"

namespace fleetrt {
namespace ku {

namespace {

// Softmax of one row in place with the Softmax kernel's sweeps (the same bits); a row of −inf only
// becomes zeros.
void softmax_row(float* row, int64_t n) {
  const float m = vmax(row, n);
  if (m == -std::numeric_limits<float>::infinity()) {
    std::fill(row, row + n, 0.f);
    return;
  }
  vscale(row, n, static_cast<float>(1.0 / vexp_shift_sum(row, 1.f, m, row, n)));
}

}  // namespace

void attention(KernelContext* ctx, const AttentionProblem& p) {
  const int64_t S = p.q_len, T = p.kv_len, group = std::max<int64_t>(1, p.q_heads / std::max<int64_t>(p.kv_heads, 1));
  const float ninf = -std::numeric_limits<float>::infinity();
  auto task = [&](int64_t t0, int64_t t1) {
    // one head's scores, kept by the thread between calls (a fresh buffer page-faults every call)
    thread_local std::vector<float> sc;
    const size_t need = static_cast<size_t>(std::max<int64_t>(S * T, 1));
    if (sc.size() < need) sc.resize(need);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / p.q_heads, h = t % p.q_heads, kh = h / group;
      const float* q = p.q + b * p.q_sb + h * p.q_sh;
      const float* k = p.k + b * p.k_sb + kh * p.k_sh;
      const float* v = p.v + b * p.v_sb + kh * p.v_sh;
      float* y = p.y + b * p.y_sb + h * p.y_sh;
      float* s = sc.data();
      if (T > 0) sgemm(false, true, S, T, p.head_dim, p.scale, q, p.q_ss, k, p.k_ss, 0.f, s, T, nullptr);
      const int64_t off = p.causal_offset ? p.causal_offset[b] : p.causal_offset0;
      const int64_t valid = p.kv_valid ? p.kv_valid[b] : T, start = p.kv_start ? p.kv_start[b] : 0;
      float* qk = p.qk_out ? p.qk_out + (b * p.q_heads + h) * S * T : nullptr;
      for (int64_t i = 0; i < S; ++i) {
        float* row = s + i * T;
        if (p.softcap > 0)
          for (int64_t j = 0; j < T; ++j) row[j] = p.softcap * std::tanh(row[j] / p.softcap);
        if (qk && p.qk_mode <= 1) std::copy(row, row + T, qk + i * T);
        if (p.bias) vadd(row, p.bias + b * p.bias_sb + h * p.bias_sh + i * p.bias_ss, T);
        // keys [lo, hi) are seen; the others masked
        const int64_t lo = std::clamp<int64_t>(start, 0, T);
        const int64_t hi = std::clamp<int64_t>(std::min(valid, p.causal ? i + off + 1 : T), lo, T);
        std::fill(row, row + lo, ninf);
        std::fill(row + hi, row + T, ninf);
        if (qk && p.qk_mode == 2) std::copy(row, row + T, qk + i * T);
        softmax_row(row, T);
        if (qk && p.qk_mode == 3) std::copy(row, row + T, qk + i * T);
      }
      if (T > 0) {
        sgemm(false, false, S, p.v_head_dim, T, 1.f, s, T, v, p.v_ss, 0.f, y, p.y_ss, nullptr);
      } else {
        for (int64_t i = 0; i < S; ++i) std::fill(y + i * p.y_ss, y + i * p.y_ss + p.v_head_dim, 0.f);
      }
    }
  };
  const int64_t tasks = p.batch * p.q_heads;
  if (ctx) parallel_elems(*ctx, tasks, S * T * (p.head_dim + p.v_head_dim), task);
  else task(0, tasks);
}

void rope_rotate(float* x, const float* cos, const float* sin, int64_t rot_dim, bool interleaved) {
  const int64_t half = rot_dim / 2;
  if (interleaved) {
    for (int64_t i = 0; i < half; ++i) {
      float a = x[2 * i], b = x[2 * i + 1];
      x[2 * i] = a * cos[i] - b * sin[i];
      x[2 * i + 1] = a * sin[i] + b * cos[i];
    }
  } else {
    for (int64_t i = 0; i < half; ++i) {
      float a = x[i], b = x[i + half];
      x[i] = a * cos[i] - b * sin[i];
      x[i + half] = a * sin[i] + b * cos[i];
    }
  }
}

}  // namespace ku
}  // namespace fleetrt
