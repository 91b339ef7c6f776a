// The cuda kernel table's reader lives with the gpu target (targets/gpu/cuda-ops.ts); this name
// stays for native/tests/cuda/prepare.ts until it imports from there.
export * from '../../targets/gpu/cuda-ops.js';
