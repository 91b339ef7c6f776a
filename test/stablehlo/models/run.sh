#!/bin/sh
# Runs the hand-written MLP and transformer block against numpy (reference.py) and the shared
# StableHLO models with seeded random arguments, on the registered kernels (see ../native/run.sh).
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../../..
BUILD=${BUILD:-/tmp/fleetc_stablehlo_harness}
BUILD_ONLY=1 sh "$HERE/../native/run.sh"
/usr/bin/python3 "$HERE/reference.py" "$BUILD/ref"
(cd "$ROOT" && node --import tsx test/stablehlo/models/export.ts "$BUILD/ref" "$BUILD/models")
"$BUILD/harness" -v "$BUILD"/models/*.bin
