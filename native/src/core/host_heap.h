// The process's heap tuned for running the same program again and again (fleetrt's runs, engine
// steps): freed tensors stay in the heap for the next run instead of going back to the system.
#pragma once

namespace fleetrt {

// glibc's defaults hand blocks of 128 KB and more back to the system when they are freed (each
// its own mmap, or the top of the heap trimmed), so the next run's tensors of that size fault in
// fresh pages, which costs more than the kernels writing them where page faults are slow (virtual
// machines): a 42M-parameter decode step whose KV-cache Concats did so ran 1.5–3× slower, by how
// the buffers happened to fall. Sets fixed thresholds instead: blocks up to 32 MB (glibc's most)
// come from the heap, and free memory at its top is kept. Elsewhere (no glibc) it does nothing.
// Call once, at start, before threads allocate.
void keep_freed_host_memory();

}  // namespace fleetrt
