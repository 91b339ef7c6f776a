// Choosing the next token from a row of logits: greedy (temperature 0; ties go to the lowest id),
// or seeded sampling with temperature, top-k and top-p, reproducible for a given seed.
#pragma once

#include <cstdint>
#include <vector>

namespace fleetrt {

struct SamplingParams {
  double temperature = 0;  // 0: greedy
  int top_k = 0;           // 0: no limit
  double top_p = 1;        // 1: no nucleus cut
  uint64_t seed = 0;
};

// A small, fast, seedable generator (SplitMix64): the same seed gives the same tokens on any machine.
class Rng {
 public:
  explicit Rng(uint64_t seed = 0) : state_(seed) {}
  uint64_t next();
  double uniform();  // [0, 1)

 private:
  uint64_t state_;
};

int64_t sample_token(const float* logits, int64_t vocab, const SamplingParams& p, Rng* rng, std::vector<float>* scratch);

}  // namespace fleetrt
