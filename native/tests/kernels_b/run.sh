#!/bin/sh
# Builds the kernels-B harness and runs the ONNX conformance tests for the given op-name
# prefixes (default: all kernels-B ops, listed in ops.txt).
# Usage: run.sh [-v] [--prealloc] [--large | --errors | --fuzz | --ort | --suite S] [--with-a] [test_prefix ...]
#   -v          print every test, not only failures
#   --prealloc  the mock runtime pre-allocates outputs of known shape (as the real one does)
#   --large     run the larger randomized cases written by gen_large.py instead
#   --errors    run the bad-input cases written by gen_errors.py (each must fail cleanly)
#   --ort       run cases from gen_ort.py with onnxruntime-node reference outputs (ort_fill.mjs)
#   --fuzz      run randomized, mostly invalid cases from gen_fuzz.py (must not crash)
#   --suite S   run tests of another suite under conformance/ (e.g. onnx-simple); default: all
#   --with-a    also link the kernels-A files (math_*, nn_*): subgraph bodies and the
#               *_expanded tests then run on real kernels, and those tests are included
# Environment: SANITIZE=1 builds with AddressSanitizer + UBSan (own build dir).
set -e
export PYTHONDONTWRITEBYTECODE=1
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
SHARED=${SHARED:-$ROOT/../../shared}
CONF=$SHARED/conformance/onnx-node
SAN=""
if [ -n "$SANITIZE" ]; then
  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer"
  BUILD=${BUILD:-/tmp/fleetc_kernels_b_asan}
fi
BUILD=${BUILD:-/tmp/fleetc_kernels_b}
V=""
P=""
GEN=""
WITH_A=""
SUITE=""
while [ $# -gt 0 ]; do
  case "$1" in
    -v) V=-v ;;
    --prealloc) P=--prealloc ;;
    --large) GEN=large ;;
    --errors) GEN=errors ;;
    --fuzz) GEN=fuzz ;;
    --ort) GEN=ort ;;
    --with-a) WITH_A=1 ;;
    --suite) shift; CONF=$SHARED/conformance/$1; SUITE=1 ;;
    *) break ;;
  esac
  shift
done

mkdir -p "$BUILD/obj" "$BUILD/tests"
K=$ROOT/src/kernels
SRCS=$(ls "$K"/data_*.cpp "$K"/control_*.cpp "$K"/seq_*.cpp "$K"/misc_*.cpp "$K"/kernel_util.cpp 2>/dev/null || true)
OBJS=""
for s in $HERE/harness.cpp $SRCS; do
  o=$BUILD/obj/$(basename "$s" .cpp).o
  if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ "$K/data_util.h" -nt "$o" ]; then
    nice g++ -std=c++17 -O1 -g $SAN -Wall -Wextra -Wno-unused-parameter -I"$ROOT/include" -c "$s" -o "$o"
  fi
  OBJS="$OBJS $o"
done
EXE=$BUILD/harness
if [ -n "$WITH_A" ]; then
  mkdir -p "$BUILD/obj_a"
  for s in $(ls "$K"/math_*.cpp "$K"/nn_*.cpp 2>/dev/null); do
    o=$BUILD/obj_a/$(basename "$s" .cpp).o
    if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ "$K/kernel_util.h" -nt "$o" ]; then
      F=""
      case "$s" in *_avx2.cpp) F="-mavx2 -mfma" ;; esac
      nice g++ -std=c++17 -O1 $SAN $F -I"$ROOT/include" -I"$K" -c "$s" -o "$o"
    fi
    OBJS="$OBJS $o"
  done
  EXE=$BUILD/harness_with_a
fi
nice g++ $SAN -o "$EXE" $OBJS -lpthread

if [ "$GEN" = large ]; then
  CONF=$BUILD/gen
  rm -rf "$CONF"
  nice /usr/bin/python3 "$HERE/gen_large.py" "$CONF"
  [ $# -gt 0 ] || set -- large
elif [ "$GEN" = errors ]; then
  CONF=$BUILD/gen_errors
  rm -rf "$CONF"
  nice /usr/bin/python3 "$HERE/gen_errors.py" "$CONF"
  [ $# -gt 0 ] || set -- err
elif [ "$GEN" = ort ]; then
  CONF=$BUILD/gen_ort
  rm -rf "$CONF"
  nice /usr/bin/python3 "$HERE/gen_ort.py" "$CONF"
  nice node "$HERE/ort_fill.mjs" "$CONF"
  [ $# -gt 0 ] || set -- ort
elif [ "$GEN" = fuzz ]; then
  CONF=$BUILD/gen_fuzz
  rm -rf "$CONF"
  nice /usr/bin/python3 "$HERE/gen_fuzz.py" "$CONF" "${FUZZ_COUNT:-400}"
  [ $# -gt 0 ] || set -- fuzz
fi
if [ -n "$SUITE" ]; then [ $# -gt 0 ] || set -- ""; fi
[ $# -gt 0 ] || set -- $(cat "$HERE/ops.txt")
DIRS=""
for p in "$@"; do
  for d in "$CONF"/test_${p}*; do
    [ -d "$d" ] || continue
    case "$d" in *_expanded*) [ -n "$WITH_A" ] || continue ;; esac
    DIRS="$DIRS $d"
  done
done
/usr/bin/python3 "$HERE/convert.py" "$BUILD/tests" $DIRS | grep -v '^converted' || true
FILES=""
for d in $DIRS; do
  f=$BUILD/tests/$(basename "$d").bin
  [ -f "$f" ] && FILES="$FILES $f"
done
"$EXE" $V $P $FILES
