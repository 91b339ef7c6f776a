// Memory for the large buffers that kernels stream through every run (a run's arena of tensors,
// weights packed or transformed once per op): on 2 MiB pages where the OS gives them on request
// (Linux transparent huge pages in `madvise` mode), so that a walk over them does not take a TLB
// miss every 4 KiB. A direct conv reads each block of positions across hundreds of input channels
// a plane apart (56×56: 12.5 KB), each on its own 4 KiB page; a few-row matrix product streams
// every byte of its weights.
#pragma once

#include <cstddef>

namespace fleetrt {
namespace ku {

// At least `bytes` (64-byte aligned; 2 MiB aligned, in whole 2 MiB pages, with the advice given,
// from 4 MiB up), null when out of memory. Freed with std::free.
void* alloc_large(size_t bytes);

}  // namespace ku
}  // namespace fleetrt
