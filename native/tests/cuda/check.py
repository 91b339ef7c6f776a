#!/usr/bin/env python3
"""The checks of device-check.sh on the GPU machine; prints one table and writes it to OUT.
   python3 native/tests/cuda/check.py FLEETRT_CUDA FLEETRT_CPU OUT_DIR [CUBLAS_BENCH]
(a) conformance: every node test with cuda kernels, cuda outputs vs the cpu backend's
(b) fixture models on cpu + cuda vs cpu only
(c) SGEMM/HGEMM/bf16 TFLOP/s: fleetrt's MatMul (CUDA events) vs cuBLAS called directly vs torch.matmul
(d) a decode step of the 32M-parameter benchmark decoder: fleetrt's engine (decode.py) vs PyTorch eager
(e) predicted vs measured per-op time on the GPU (the fixtures' cuda ops)"""
import json
import os
import statistics
import subprocess
import sys
import time

FLEETRT, FLEETRT_CPU, OUT = sys.argv[1], sys.argv[2], sys.argv[3]
BENCH = sys.argv[4] if len(sys.argv) > 4 else ""
DEV = ".device"
rows = []  # (check, result, detail)
log = open(os.path.join(OUT, "device-check.log"), "a")


def say(msg):
    print(msg, flush=True)
    log.write(msg + "\n")
    log.flush()


def batch(fleetrt, jobs, timeout=900):
    t0 = time.time()
    r = subprocess.run([fleetrt, "--batch", jobs, "--threads", "8"], capture_output=True, text=True, timeout=timeout)
    results = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    if r.returncode != 0:
        say(f"batch {jobs}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
    return results, time.time() - t0


QUICK = os.environ.get("DEVICE_CHECK_QUICK") == "1"


def compare(kind):
    jobs = "/tmp/q" if QUICK else f"{DEV}/{kind}"
    with open(f"{jobs}-cpu.jsonl") as f:
        for line in f:
            if line.strip():
                os.makedirs(json.loads(line)["outputDir"], exist_ok=True)  # fleetrt makes only the last level
    cpu, _ = batch(FLEETRT_CPU, f"{jobs}-cpu.jsonl")
    bad_cpu = [r for r in cpu if r["status"] == "error" and "outputs, the test expects" not in r.get("message", "")]
    cuda, secs = batch(FLEETRT, f"{jobs}-cuda.jsonl")
    passed = [r for r in cuda if r["status"] == "pass"]
    failed = [r for r in cuda if r["status"] != "pass"]
    for r in failed:
        say(f"  {kind} {r['id']}: {r['status']}: {r.get('message', '')[:300]}")
    worst = max((r.get("worst", {}).get("rel", 0) for r in passed), default=0)
    with open(f"{jobs}-cuda.jsonl") as f:
        plans = [json.load(open(json.loads(line)["plan"])) for line in f if line.strip()]
    on_gpu = sum(1 for p in plans if any(d["backend"] == "cuda" for d in p["devices"]))
    detail = f"{len(passed)}/{len(cuda)} pass ({on_gpu} with ops on the GPU), worst rel {worst:.2e}, {secs:.0f} s"
    if bad_cpu:
        detail += f"; {len(bad_cpu)} cpu reference runs failed"
    rows.append((f"({'a' if kind == 'conformance' else 'b'}) {kind}: cuda vs cpu", "PASS" if not failed and cuda else "FAIL", detail))
    return cuda


def trace_ops(path):
    with open(path) as f:
        events = json.load(f)["traceEvents"]
    ops = {}
    for e in events:
        if e.get("ph") == "X" and e.get("cat") != "transfer" and "op" in e.get("args", {}):
            ops.setdefault((e["tid"], e["name"]), []).append(e["dur"])
    return ops


def gemm():
    n = 4096
    flops = 2.0 * n * n * n
    ours = {}
    for dt in ("f32", "f16", "bf16"):
        tr = f"/tmp/gemm_{dt}.json"
        r = subprocess.run([FLEETRT, f"{DEV}/gemm/{dt}/plan.json", "--random-inputs", "--output-dir", f"/tmp/gemm_{dt}",
                            "--repeat", "12", "--trace", tr], capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            say(f"gemm {dt}: {r.stderr.strip()}")
            continue
        durs = [d for v in trace_ops(tr).values() for d in v][2:]
        ours[dt] = flops / (statistics.median(durs) * 1e-6) / 1e12
    direct = {}
    if BENCH:
        r = subprocess.run([BENCH, str(n)], capture_output=True, text=True, timeout=300)
        for line in r.stdout.splitlines():
            k, v = line.split()
            direct[k] = flops / (float(v) * 1e-3) / 1e12
        if r.returncode != 0:
            say(f"cublas bench: {r.stderr.strip()}")
    torch_t = {}
    try:
        import torch
        torch.backends.cuda.matmul.allow_tf32 = False
        for dt, tdt in (("f32", torch.float32), ("f16", torch.float16), ("bf16", torch.bfloat16)):
            a = torch.randn(n, n, device="cuda", dtype=tdt)
            b = torch.randn(n, n, device="cuda", dtype=tdt)
            times = []
            for _ in range(12):
                s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                s.record()
                torch.matmul(a, b)
                e.record()
                torch.cuda.synchronize()
                times.append(s.elapsed_time(e))
            torch_t[dt] = flops / (statistics.median(times[2:]) * 1e-3) / 1e12
    except Exception as ex:  # noqa: BLE001 - reported in the table
        say(f"torch.matmul: {ex}")
    for dt in ("f32", "f16", "bf16"):
        o, d, t = ours.get(dt), direct.get(dt), torch_t.get(dt)
        fmt = lambda x: f"{x:.1f}" if x else "n/a"
        ratio = f", fleetrt/cuBLAS {o / d:.2f}" if o and d else ""
        rows.append((f"(c) GEMM {dt} {n}³ TFLOP/s", "fleetrt " + fmt(o), f"cuBLAS direct {fmt(d)}, torch.matmul {fmt(t)}{ratio}"))


def decoder():
    # PyTorch eager: one decode step (1 new token, 512 cached) of the same architecture as
    # fixtures/gen decoder_large (Llama-style: hidden 512, 8 layers, 8 heads / 4 KV heads, SwiGLU
    # 1408, vocab 8192, RMSNorm, rotary; about 32M parameters), fp32, KV cache appended in place.
    try:
        import torch
        torch.manual_seed(0)
        L, C, H, KV, F, V, P = 8, 512, 8, 4, 1408, 8192, 512
        D = C // H
        dev = "cuda"
        lin = lambda i, o: torch.nn.Linear(i, o, bias=False).to(dev)
        layers = [dict(q=lin(C, C), k=lin(C, KV * D), v=lin(C, KV * D), o=lin(C, C), gate=lin(C, F), up=lin(C, F), down=lin(F, C),
                       n1=torch.ones(C, device=dev), n2=torch.ones(C, device=dev)) for _ in range(L)]
        emb = torch.nn.Embedding(V, C).to(dev)
        head = lin(C, V)
        params = sum(p.numel() for l in layers for m in l.values() if isinstance(m, torch.nn.Module) for p in m.parameters())
        params += emb.weight.numel() + head.weight.numel()
        kc = torch.randn(L, 1, KV, P + 64, D, device=dev)
        vc = torch.randn(L, 1, KV, P + 64, D, device=dev)
        inv = 1.0 / (10000.0 ** (torch.arange(0, D, 2, device=dev).float() / D))

        def rms(x, w):
            return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * w

        def rope(x, pos):
            f = pos * inv
            cos, sin = torch.cat([f.cos(), f.cos()]), torch.cat([f.sin(), f.sin()])
            x1, x2 = x[..., : D // 2], x[..., D // 2:]
            return x * cos + torch.cat([-x2, x1], -1) * sin

        @torch.no_grad()
        def step(pos):
            x = emb(torch.tensor([[1]], device=dev))
            for i, l in enumerate(layers):
                h = rms(x, l["n1"])
                q = rope(l["q"](h).view(1, 1, H, D).transpose(1, 2), pos)
                k = rope(l["k"](h).view(1, 1, KV, D).transpose(1, 2), pos)
                kc[i, :, :, pos:pos + 1] = k
                vc[i, :, :, pos:pos + 1] = l["v"](h).view(1, 1, KV, D).transpose(1, 2)
                kk = kc[i, :, :, : pos + 1].repeat_interleave(H // KV, 1)
                vv = vc[i, :, :, : pos + 1].repeat_interleave(H // KV, 1)
                a = torch.nn.functional.scaled_dot_product_attention(q, kk, vv)
                x = x + l["o"](a.transpose(1, 2).reshape(1, 1, C))
                h = rms(x, l["n2"])
                x = x + l["down"](torch.nn.functional.silu(l["gate"](h)) * l["up"](h))
            return head(x)

        for j in range(5):
            step(P + j)
        torch.cuda.synchronize()
        times = []
        for j in range(40):
            t0 = time.perf_counter()
            step(P + 5 + j % 16)
            torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) * 1e3)
        eager = statistics.median(times)
        ours = "not run: no .device/decoder/ (prepare.ts needs .cache/models/decoder_large)"
        if os.path.exists(f"{DEV}/decoder/plan.json"):
            r = subprocess.run([sys.executable, "native/tests/cuda/decode.py", FLEETRT, f"{DEV}/decoder", str(P)],
                               capture_output=True, text=True, timeout=400)
            ours = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else f"failed: {(r.stderr or r.stdout).strip()[-300:]}"
        rows.append((f"(d) decode step, {params / 1e6:.0f}M params, {P} cached", f"torch eager {eager:.2f} ms", "fleetrt (cpu + cuda): " + ours))
    except Exception as ex:  # noqa: BLE001
        rows.append(("(d) decode step", "n/a", f"torch: {ex}"))


def predicted_vs_measured(fixture_results):
    ok = {r["id"] for r in fixture_results if r["status"] == "pass"}
    for m in sorted(os.listdir(f"{DEV}/fixtures")):
        rep_path = f"{DEV}/fixtures/{m}/cuda/report.json"
        if m not in ok or not os.path.exists(rep_path):
            continue
        rep = json.load(open(rep_path))
        plan = json.load(open(f"{DEV}/fixtures/{m}/cuda/plan.json"))
        gpu = [i for i, d in enumerate(plan["devices"]) if d["backend"] == "cuda"]
        if not gpu:
            continue
        tid = gpu[0] + 1
        name = plan["devices"][gpu[0]]["name"]
        pred = {o["name"]: o["time"] * 1e6 for o in rep["ops"] if o["device"] == name}
        if not pred:
            continue
        inputs = sorted(os.listdir(f"{DEV}/fixtures/{m}/inputs"))
        args = [FLEETRT, f"{DEV}/fixtures/{m}/cuda/plan.json", "--output-dir", f"/tmp/fx_{m}", "--repeat", "6", "--trace", f"/tmp/fx_{m}.json"]
        args += ["--inputs-dir", f"{DEV}/fixtures/{m}/inputs"] if inputs else ["--random-inputs"]
        r = subprocess.run(args, capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            say(f"(e) {m}: {r.stderr.strip()}")
            continue
        meas = {n: statistics.median(v[1:] or v) for (t, n), v in trace_ops(f"/tmp/fx_{m}.json").items() if t == tid}
        common = [n for n in pred if n in meas]
        p, q = sum(pred[n] for n in common), sum(meas[n] for n in common)
        worst = max(common, key=lambda n: max(meas[n] / max(pred[n], 1e-3), pred[n] / max(meas[n], 1e-3)))
        rows.append((f"(e) {m}: {len(common)} cuda ops", f"predicted {p:.0f} µs, measured {q:.0f} µs ({q / max(p, 1e-9):.2f}×)",
                     f"furthest off: {worst} predicted {pred[worst]:.1f} µs, measured {meas[worst]:.1f} µs"))


try:
    GPU = subprocess.run(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True).stdout.strip()
except OSError:
    GPU = "no nvidia-smi"


def write_table(final):
    """The table so far, to OUT after every section (a run cut short still leaves its rows)."""
    width = max((len(r[0]) for r in rows), default=10)
    lines = ["", "device check: " + GPU + ("" if final else " (incomplete)")]
    for check, result, detail in rows:
        lines.append(f"{check:<{width}}  {result:<28}  {detail}")
    table = "\n".join(lines)
    with open(os.path.join(OUT, "device-check.txt"), "w") as f:
        f.write(table + "\n")
    return table


steps = [lambda: compare("conformance"), gemm] if QUICK else [
    lambda: compare("conformance"), lambda: FX.append(compare("fixtures")), gemm, decoder, lambda: predicted_vs_measured(FX[0])]
FX = []
for step in steps:
    try:
        step()
    except Exception as ex:  # noqa: BLE001 - one failed section must not hide the others
        rows.append(("check section", "ERROR", f"{type(ex).__name__}: {ex}"[:300]))
    write_table(False)
say(write_table(True))
