// Comparing run outputs with expected values (the test runner's batch mode).
#pragma once

#include <string>

#include "fleetrt/kernel.h"

namespace fleetrt {

struct CompareResult {
  bool ok = true;
  double worst_abs = 0;  // largest |actual - expected| over float elements
  double worst_rel = 0;  // largest |actual - expected| / |expected| there
  std::string message;   // first mismatch, when !ok
};

// Floats: |a - e| <= atol + rtol * |e|, NaN equals NaN, infinities must match. Integers,
// booleans and strings: exact. Dtypes and shapes must match.
// max_ulp >= 0 also accepts float elements within that many units in the last place (StableHLO's
// expect_close).
CompareResult compare_values(const Value& actual, const Value& expected, double rtol, double atol, double max_ulp = -1);

}  // namespace fleetrt
