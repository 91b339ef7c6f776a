#!/bin/sh
# Unpacks cuBLAS's headers (and with --with-lib its libraries) from an nvidia-cublas wheel into
# native/.deps/cublas/, where CMake looks when the CUDA toolkit has no cuBLAS of its own. The
# build needs only the headers: fleetrt loads the library when a cuda device opens.
#   native/tests/cuda/unpack-cublas.sh [WHEEL] [--with-lib]
set -eu
here=$(cd "$(dirname "$0")/../.." && pwd)
wheel=""
with_lib=0
for a in "$@"; do
  case "$a" in
    --with-lib) with_lib=1 ;;
    *) wheel="$a" ;;
  esac
done
if [ -z "$wheel" ]; then
  for w in /opt/pypi-more/files/nvidia_cublas-*.whl; do [ -f "$w" ] && wheel="$w"; done
fi
if [ -z "$wheel" ] || [ ! -f "$wheel" ]; then
  echo "unpack-cublas: no nvidia-cublas wheel found (pass its path)" >&2
  exit 1
fi
dest="$here/.deps/cublas"
mkdir -p "$dest"
members='nvidia/cu*/include/*'
[ "$with_lib" = 1 ] && members="$members nvidia/cu*/lib/libcublas*.so.*"
# shellcheck disable=SC2086
unzip -q -o "$wheel" $members -d "$dest"
echo "unpack-cublas: $(basename "$wheel") → $dest"
