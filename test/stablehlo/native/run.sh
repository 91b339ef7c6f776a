#!/bin/sh
# Runs the StableHLO conformance cases on the registered kernels with shlo_harness.cpp (the graph
# interpreter of native/tests/kernels_b/harness.cpp plus the cases' own checks), without the
# compile pipeline.
# Usage: test/stablehlo/native/run.sh [-v] [suite…]   (BUILD_ONLY=1: just build the harness)
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../../..
BUILD=${BUILD:-/tmp/fleetc_stablehlo_harness}
mkdir -p "$BUILD/obj"
OBJS=""
for s in "$HERE"/shlo_harness.cpp "$ROOT"/native/src/kernels/*.cpp; do
  o=$BUILD/obj/$(basename "$s" .cpp).o
  flags=""
  case "$s" in *_avx2.cpp) flags="-mavx2 -mfma";; esac
  newer=$(find "$ROOT"/native/src/kernels "$ROOT"/native/tests/kernels_b -name '*.h' -newer "$o" -o -name harness.cpp -newer "$o" 2>/dev/null | head -1)
  if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ -n "$newer" ]; then
    nice g++ -std=c++17 -O1 -w $flags -I"$ROOT/native/include" -I"$ROOT/native/src/kernels" -c "$s" -o "$o"
  fi
  OBJS="$OBJS $o"
done
nice g++ -o "$BUILD/harness" $OBJS -lpthread
[ -z "$BUILD_ONLY" ] || exit 0
V=""
if [ "$1" = "-v" ]; then V=-v; shift; fi
(cd "$ROOT" && node --import tsx test/stablehlo/native/export.ts "$BUILD/cases" "$@")
for d in "$BUILD"/cases/*; do
  echo "== $(basename "$d")"
  "$BUILD/harness" $V "$d"/*.bin || true
done
