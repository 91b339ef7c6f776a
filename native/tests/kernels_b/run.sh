#!/bin/sh
# Builds the kernels-B harness and runs the ONNX conformance tests for the given op-name
# prefixes (default: all kernels-B ops). Usage: run.sh [-v] [test_prefix ...]
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../..
SHARED=${SHARED:-$ROOT/../../shared}
CONF=$SHARED/conformance/onnx-node
BUILD=${BUILD:-/tmp/fleetc_kernels_b}
mkdir -p "$BUILD/obj" "$BUILD/tests"
SRCS=$(ls "$ROOT"/src/kernels/data_*.cpp "$ROOT"/src/kernels/control_*.cpp "$ROOT"/src/kernels/seq_*.cpp "$ROOT"/src/kernels/misc_*.cpp 2>/dev/null || true)
OBJS=""
for s in $HERE/harness.cpp $SRCS; do
  o=$BUILD/obj/$(basename "$s" .cpp).o
  if [ ! -f "$o" ] || [ "$s" -nt "$o" ] || [ "$ROOT/src/kernels/data_util.h" -nt "$o" ]; then
    nice g++ -std=c++17 -O1 -g -Wall -Wextra -Wno-unused-parameter -I"$ROOT/include" -c "$s" -o "$o"
  fi
  OBJS="$OBJS $o"
done
nice g++ -o "$BUILD/harness" $OBJS
V=""
if [ "$1" = "-v" ]; then V=-v; shift; fi
P=""
if [ "$1" = "--prealloc" ]; then P=--prealloc; shift; fi
[ $# -gt 0 ] || set -- $(cat "$HERE/ops.txt")
DIRS=""
for p in "$@"; do
  for d in "$CONF"/test_${p}*; do
    [ -d "$d" ] || continue
    case "$d" in *_expanded*) continue;; esac
    DIRS="$DIRS $d"
  done
done
/usr/bin/python3 "$HERE/convert.py" "$BUILD/tests" $DIRS | grep -v '^converted' || true
FILES=""
for d in $DIRS; do
  f=$BUILD/tests/$(basename "$d").bin
  [ -f "$f" ] && FILES="$FILES $f"
done
"$BUILD/harness" $V $P $FILES
