#include "engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace fleetrt {

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * (1.0 / 9007199254740992.0); }

int64_t sample_token(const float* logits, int64_t vocab, const SamplingParams& p, Rng* rng, std::vector<float>* scratch) {
  int64_t best = 0;
  for (int64_t i = 1; i < vocab; ++i)
    if (logits[i] > logits[best]) best = i;
  if (p.temperature <= 0) return best;
  // Candidates by descending logit (ties by id), cut to top-k.
  std::vector<int64_t> ids(static_cast<size_t>(vocab));
  std::iota(ids.begin(), ids.end(), 0);
  const int64_t k = p.top_k > 0 ? std::min<int64_t>(p.top_k, vocab) : vocab;
  auto by_logit = [&](int64_t a, int64_t b) { return logits[a] != logits[b] ? logits[a] > logits[b] : a < b; };
  if (k < vocab) std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), by_logit);
  else std::sort(ids.begin(), ids.end(), by_logit);
  ids.resize(static_cast<size_t>(k));
  std::vector<float>& prob = *scratch;
  prob.resize(static_cast<size_t>(k));
  const double top = logits[ids[0]];
  double sum = 0;
  for (int64_t i = 0; i < k; ++i) {
    prob[i] = static_cast<float>(std::exp((logits[ids[i]] - top) / p.temperature));
    sum += prob[i];
  }
  // Nucleus: the smallest prefix whose probability reaches top_p.
  int64_t n = k;
  if (p.top_p < 1) {
    double cum = 0;
    for (int64_t i = 0; i < k; ++i) {
      cum += prob[i] / sum;
      if (cum >= p.top_p) {
        n = i + 1;
        break;
      }
    }
  }
  double mass = 0;
  for (int64_t i = 0; i < n; ++i) mass += prob[i];
  double r = rng->uniform() * mass;
  for (int64_t i = 0; i < n; ++i) {
    r -= prob[i];
    if (r < 0) return ids[i];
  }
  return ids[n - 1];
}

}  // namespace fleetrt
