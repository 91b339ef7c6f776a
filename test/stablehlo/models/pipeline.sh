#!/bin/sh
# The hand-written MLP and transformer block through the whole pipeline: fleetc compile for a
# two-device fleet (the MLP's second layer pinned to the emulated GPU), fleetc run with the
# numpy reference's arguments, and the outputs compared with numpy (rtol 1e-4, atol 1e-5).
set -e
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$HERE/../../..
OUT=${OUT:-/tmp/fleetc_stablehlo_pipeline}
FLEET=$ROOT/fixtures/fleets/cpu-gpu-pcie.yaml
/usr/bin/python3 "$HERE/reference.py" "$OUT/ref" >/dev/null
cd "$ROOT"
for m in mlp transformer; do
  case $m in mlp) PIN="--pin MatMul_4=gpu0";; *) PIN="--pin MatMul_f=gpu0";; esac
  npx tsx src/cli/entry.ts compile "$HERE/$m.mlir" --fleet "$FLEET" $PIN -o "$OUT/build_$m" --force
  npx tsx src/cli/entry.ts run "$OUT/build_$m/plan.json" --inputs-dir "$OUT/ref/$m" --output-dir "$OUT/out_$m"
  /usr/bin/python3 - "$OUT/out_$m" "$OUT/ref/$m/expected.npy" <<'PY'
import glob, sys
import numpy as np
got = np.load(glob.glob(sys.argv[1] + "/*.npy")[0])
want = np.load(sys.argv[2])
err = np.abs(got - want).max()
ok = got.shape == want.shape and np.allclose(got, want, rtol=1e-4, atol=1e-5)
print(f"{'PASS' if ok else 'FAIL'}: max abs error {err:.3g} against numpy")
sys.exit(0 if ok else 1)
PY
done

# The shared models: compile for the same two-device fleet (edge detection's convolutions pinned to
# the emulated GPU, the others placed by the partitioner) and run with seeded random arguments.
for m in iree_edge_detection reactant_kan2 searchless_chess_9m; do
  case $m in iree_edge_detection) PIN="--pin ^Conv_=gpu0";; *) PIN="";; esac
  npx tsx src/cli/entry.ts compile "$ROOT/../shared/models/stablehlo/$m.mlir" --fleet "$FLEET" $PIN -o "$OUT/build_$m" --force
  npx tsx src/cli/entry.ts run "$OUT/build_$m/plan.json" --random-inputs --output-dir "$OUT/out_$m"
  /usr/bin/python3 - "$OUT/out_$m" <<'PY'
import glob, sys
import numpy as np
outs = sorted(glob.glob(sys.argv[1] + "/*.npy"))
ok = outs and all(np.isfinite(np.load(f)).all() for f in outs)
print(f"{'PASS' if ok else 'FAIL'}: {len(outs)} outputs, all finite")
sys.exit(0 if ok else 1)
PY
done
