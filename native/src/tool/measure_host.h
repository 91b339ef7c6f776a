// fleetrt --measure-host: what this machine does with fleetrt's own kernels, executor and
// transport, as one JSON object on stdout (fleetc caches it as the host profile of the cpu class,
// targets/cpu/host.ts; docs/host-profile.md).
#pragma once

namespace fleetrt {

struct MeasureHostArgs {
  int threads_max = 0;  // 0: every core
  bool quick = false;   // small sizes and few repeats (well under a second): for tests, not for plans
};

int run_measure_host(const MeasureHostArgs& args);

}  // namespace fleetrt
