// Kernels' one-time preparation from constant inputs when the engine opens a plan (PrepareFn in
// fleetrt/kernel.h): packed GEMM weights made before the first request instead of in it.
#pragma once

#include "core/program.h"
#include "core/thread_pool.h"
#include "fleetrt/kernel.h"

namespace fleetrt {

// Runs the prepare function of every op of `D` that has one, with the op's weights as its
// constant inputs and the op's state slot; the results stay in the ops' states.
Status prepare_constant_inputs(const Program& P, ProgramDesc& D, ThreadPool& pool);

}  // namespace fleetrt
