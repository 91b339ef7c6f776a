#!/bin/bash
# The GPU checks of issue 14, run on the device machine (nvcc, cmake, python3 with torch; no Node).
# First, here: `npx tsx native/tests/cuda/prepare.ts` (compiles the plans into .device/), then
# run this there with .device carried:  bash native/tests/cuda/device-check.sh [--quick]
# --quick: the build, the conformance subset and the GEMMs only. Prints one table at the end and
# writes it (and the log) to $OUT (default /tmp/device-check).
set -u
cd "$(dirname "$0")/../../.."
OUT=${OUT:-/tmp/device-check}
mkdir -p "$OUT"
QUICK=0
[ "${1:-}" = "--quick" ] && QUICK=1
if [ ! -f .device/conformance-cuda.jsonl ]; then
  echo "device-check: no .device/ plans: run 'npx tsx native/tests/cuda/prepare.ts' on a machine with Node and carry .device" >&2
  exit 1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$OUT/device-check.log"

B=native/build-cuda
start=$(date +%s)
if ! cmake -S native -B $B -DCMAKE_BUILD_TYPE=Release -DFLEETRT_CUDA=ON >"$OUT/cmake.log" 2>&1; then
  tail -20 "$OUT/cmake.log"
  exit 1
fi
grep "fleetrt:" "$OUT/cmake.log"
if ! cmake --build $B -j"$(nproc)" --target fleetrt >"$OUT/build.log" 2>&1; then
  grep -E "error|Error" "$OUT/build.log" | head -30
  exit 1
fi
echo "built fleetrt with CUDA in $(($(date +%s) - start)) s"
$B/fleetrt --version
$B/fleetrt --list-devices

# cuBLAS called directly (for the GEMM comparison), against the cuBLAS the build found.
LIBDIR=$(sed -n 's/^FLEETRT_CUBLAS_LIBRARY_DIR:INTERNAL=//p' $B/CMakeCache.txt)
INCDIR=$(sed -n 's/^FLEETRT_CUBLAS_INCLUDE_DIR:INTERNAL=//p' $B/CMakeCache.txt)
BENCH=""
LIB=$(ls "$LIBDIR"/libcublas.so* 2>/dev/null | head -1)
if [ -n "$LIB" ] && nvcc -O2 -std=c++17 -arch=native native/tests/cuda/cublas_gemm.cu -I"$INCDIR" "$LIB" \
  -Xlinker -rpath="$LIBDIR" -o $B/cublas_gemm >"$OUT/bench-build.log" 2>&1; then
  BENCH=$B/cublas_gemm
else
  echo "cuBLAS bench not built (see bench-build.log)"
fi

if [ $QUICK = 1 ]; then
  head -40 .device/conformance-cpu.jsonl >/tmp/q-cpu.jsonl
  head -40 .device/conformance-cuda.jsonl >/tmp/q-cuda.jsonl
  export DEVICE_CHECK_QUICK=1
fi
PYTHONUNBUFFERED=1 python3 native/tests/cuda/check.py $B/fleetrt $B/fleetrt "$OUT" $BENCH
