// The process's heap tuned for running the same program again and again (fleetrt's runs, engine
// steps): freed tensors stay in the heap for the next run instead of going back to the system.
#pragma once

#include <cstddef>

namespace fleetrt {

// glibc's defaults hand blocks of 128 KB and more back to the system when they are freed (each
// its own mmap, or the top of the heap trimmed), so the next run's tensors of that size fault in
// fresh pages, which costs more than the kernels writing them where page faults are slow (virtual
// machines): a 42M-parameter decode step whose KV-cache Concats did so ran 1.5–3× slower, by how
// the buffers happened to fall. Sets fixed thresholds instead: blocks up to 32 MB (glibc's most)
// come from the heap, and free memory at its top is kept. Elsewhere (no glibc) it does nothing.
// Call once, at start, before threads allocate.
void keep_freed_host_memory();

// 64-byte-aligned tensor buffers that outlive the heap's own reuse: glibc gives a freed aligned
// block of a few hundred KB back to the next request of the same size only when nothing smaller
// was placed after it since, so a model's output (allocated per run, freed when the caller drops
// it) took fresh pages every run (BERT-base at sequence 128: 80 page faults, 1.2 ms of a 90 ms
// run, all in its last LayerNorm). Blocks from 64 KB up are kept on release, up to 256 MB in all,
// and handed back to a request of the same rounded size. Thread-safe.
void* take_host_buffer(size_t bytes);  // bytes: a multiple of 64; null when out of memory
void give_host_buffer(void* p, size_t bytes);

}  // namespace fleetrt
