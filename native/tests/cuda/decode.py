#!/usr/bin/env python3
"""(d) of device-check.sh: decode steps of the benchmark decoder (fixtures/gen decoder_large, 32M
parameters) on fleetrt's engine. prepare.ts carried the plan without its float weights (too large
to carry); they are refilled here with seeded random values (timing does not depend on them),
integer weights restored, and plan.json's sha256 updated. Prints "<median ms per decode step>".
   python3 native/tests/cuda/decode.py FLEETRT PLAN_DIR [PROMPT_TOKENS] [NEW_TOKENS]"""
import base64
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

fleetrt, plan_dir = sys.argv[1], sys.argv[2]
prompt_len = int(sys.argv[3]) if len(sys.argv) > 3 else 512
new_tokens = int(sys.argv[4]) if len(sys.argv) > 4 else 64
NP = {"float32": np.float32, "float16": np.float16}

plan_path = os.path.join(plan_dir, "plan.json")
plan = json.load(open(plan_path))
rng = np.random.default_rng(0)
for dev in plan["devices"]:
    bundle = os.path.join(plan_dir, dev["bundle"]["dir"])
    keep = os.path.join(bundle, "weights-int.json")
    if not os.path.exists(keep):
        continue
    k = json.load(open(keep))
    buf = bytearray(k["bytes"])
    manifest = json.load(open(os.path.join(bundle, "manifest.json")))
    for w in manifest["weights"]:
        if w["dtype"] in NP:
            n = w["bytes"] // np.dtype(NP[w["dtype"]]).itemsize
            buf[w["offset"]:w["offset"] + w["bytes"]] = (rng.standard_normal(n) * 0.02).astype(NP[w["dtype"]]).tobytes()
    for part in k["ints"]:
        data = base64.b64decode(part["data"])
        buf[part["offset"]:part["offset"] + len(data)] = data
    with open(os.path.join(bundle, "weights.bin"), "wb") as f:
        f.write(buf)
    for fe in dev["bundle"]["files"]:
        if fe["path"] == "weights.bin":
            fe["sha256"] = hashlib.sha256(buf).hexdigest()
            fe["bytes"] = len(buf)
    os.remove(keep)
json.dump(plan, open(plan_path, "w"))

p = subprocess.Popen([fleetrt, plan_path, "--engine"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)


def event():
    line = p.stdout.readline()
    if not line:
        raise SystemExit("fleetrt --engine ended: " + (p.stderr.read() if p.stderr else ""))
    return json.loads(line)


ready = event()
if ready.get("event") != "ready":
    raise SystemExit(f"fleetrt --engine: {ready}")
vocab = ready["vocab"]
prompt = [int(x) for x in rng.integers(1, vocab, prompt_len)]
times = []
p.stdin.write(json.dumps({"op": "submit", "id": "r", "prompt": prompt, "maxTokens": new_tokens, "temperature": 0}) + "\n")
p.stdin.flush()
while True:
    e = event()
    if e.get("event") == "token":
        times.append(time.perf_counter())
    elif e.get("event") in ("done", "error"):
        if e.get("event") == "error":
            raise SystemExit(f"fleetrt --engine: {e.get('message')}")
        break
p.stdin.write(json.dumps({"op": "shutdown"}) + "\n")
p.stdin.flush()
p.wait(timeout=60)
gaps = [(b - a) * 1e3 for a, b in zip(times[1:], times[2:])]
print(f"{statistics.median(gaps):.2f} ms per decode step ({len(gaps)} steps after a {prompt_len}-token prefill)")
