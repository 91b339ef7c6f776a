// The shared scaled-dot-product attention and rotary-embedding helpers declared in kernel_util.h
// (used by ai.onnx Attention/RotaryEmbedding and the com.microsoft attention ops).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "kernel_util.h"

namespace fleetrt {
namespace ku {

void attention(KernelContext* ctx, const AttentionProblem& p) {
  const int64_t S = p.q_len, T = p.kv_len, group = std::max<int64_t>(1, p.q_heads / std::max<int64_t>(p.kv_heads, 1));
  const float ninf = -std::numeric_limits<float>::infinity();
  auto task = [&](int64_t t0, int64_t t1) {
    std::vector<float> sc(static_cast<size_t>(std::max<int64_t>(S * T, 1)));
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
        if (p.bias) {
          const float* br = p.bias + b * p.bias_sb + h * p.bias_sh + i * p.bias_ss;
          for (int64_t j = 0; j < T; ++j) row[j] += br[j];
        }
        for (int64_t j = 0; j < T; ++j)
          if ((p.causal && j > i + off) || j >= valid || j < start) row[j] = ninf;
        if (qk && p.qk_mode == 2) std::copy(row, row + T, qk + i * T);
        float m = ninf;
        for (int64_t j = 0; j < T; ++j) m = std::max(m, row[j]);
        if (m == ninf) {
          std::fill(row, row + T, 0.f);
        } else {
          const double sum = vexp_shift_sum(row, 1.f, m, row, T);
          float inv = static_cast<float>(1.0 / sum);
          for (int64_t j = 0; j < T; ++j) row[j] *= inv;
        }
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
