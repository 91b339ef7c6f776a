#include "tool/telemetry.h"

#include <algorithm>

#include "core/json.h"
#include "core/tensor_io.h"
#include "tool/moe_telemetry.h"

namespace fleetrt {

std::string trace_json(const Session& s, const std::vector<RunStats>& runs) {
  const Program& P = s.program();
  std::string o = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[";
  bool first = true;
  auto meta = [&](int tid, const std::string& name) {
    o += std::string(first ? "" : ",") + "{\"ph\":\"M\",\"name\":\"thread_name\",\"pid\":0,\"tid\":" + std::to_string(tid) +
         ",\"args\":{\"name\":" + json_quote(name) + "}}";
    first = false;
  };
  o += "{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":0,\"args\":{\"name\":" +
       json_quote("fleetrt " + s.plan().devices[0].name) + "}}";
  first = false;
  meta(0, "main program");
  int max_depth = 0;
  double offset = 0;
  for (size_t r = 0; r < runs.size(); ++r) {
    for (const OpEvent& e : runs[r].events) {
      const OpDesc& op = P.programs[e.program].ops[e.op];
      max_depth = std::max(max_depth, e.depth);
      o += ",{\"ph\":\"X\",\"pid\":0,\"tid\":" + std::to_string(e.depth) + ",\"name\":" + json_quote(op.name) +
           ",\"cat\":" + json_quote(op.op_type) + ",\"ts\":" + json_number(offset + e.start_us) +
           ",\"dur\":" + json_number(e.dur_us) + ",\"args\":{\"op\":" + json_quote(op.op_type) +
           ",\"program\":" + json_quote(P.programs[e.program].name) + ",\"repeat\":" + std::to_string(r) + "}}";
    }
    offset += runs[r].total_us;
  }
  for (int d = 1; d <= max_depth; ++d) meta(d, "subgraph depth " + std::to_string(d));
  o += "]}\n";
  return o;
}

std::string metrics_json(const Session& s, const std::vector<RunStats>& runs) {
  const ProgramDesc& D = s.main();
  std::vector<double> lat;
  for (const RunStats& r : runs) lat.push_back(r.total_us / 1000.0);
  std::vector<double> sorted = lat;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double v : lat) sum += v;
  const size_t n = lat.size();
  uint64_t arena = 0;
  size_t heap = 0;
  bool replanned = false;
  for (const RunStats& r : runs) {
    arena = std::max<uint64_t>(arena, r.arena_bytes);
    heap = std::max(heap, r.heap_peak);
    replanned = replanned || r.replanned;
  }
  const uint64_t weights = s.program().weights.size();
  std::string o = "{\n  \"plan\": " + json_quote(s.plan().path) + ",\n  \"device\": " + json_quote(s.plan().devices[0].name) +
                  ",\n  \"threads\": " + std::to_string(s.threads()) + ",\n  \"simd\": " + json_quote(kernel_simd()) + ",\n  \"repeats\": " + std::to_string(n) +
                  ",\n  \"latencyMs\": [";
  for (size_t i = 0; i < n; ++i) o += (i ? ", " : "") + json_number(lat[i]);
  o += "],\n  \"latency\": {\"meanMs\": " + json_number(n ? sum / n : 0) + ", \"minMs\": " + json_number(n ? sorted[0] : 0) +
       ", \"p50Ms\": " + json_number(n ? sorted[n / 2] : 0) + ", \"maxMs\": " + json_number(n ? sorted[n - 1] : 0) + "},\n";
  o += "  \"memory\": {\"arenaBytes\": " + std::to_string(arena) + ", \"plannedArenaBytes\": " + std::to_string(D.arena_bytes) +
       ", \"heapPeakBytes\": " + std::to_string(heap) + ", \"weightsBytes\": " + std::to_string(weights) +
       ", \"peakBytes\": " + std::to_string(arena + heap + weights) + ", \"replanned\": " + (replanned ? "true" : "false") + "},\n";
  o += "  \"ops\": [";
  double total_ops = 0;
  std::vector<double> per(D.ops.size(), 0);
  for (const RunStats& r : runs)
    for (size_t i = 0; i < r.op_us.size() && i < per.size(); ++i) per[i] += r.op_us[i];
  for (double v : per) total_ops += v;
  for (size_t i = 0; i < D.ops.size(); ++i) {
    const OpDesc& op = D.ops[i];
    o += std::string(i ? "," : "") + "\n    {\"index\": " + std::to_string(i) + ", \"name\": " + json_quote(op.name) +
         ", \"opType\": " + json_quote(op.op_type) + ", \"totalMs\": " + json_number(per[i] / 1000.0) +
         ", \"meanMs\": " + json_number(n ? per[i] / 1000.0 / n : 0) +
         ", \"share\": " + json_number(total_ops > 0 ? per[i] / total_ops : 0) + "}";
  }
  o += "\n  ],\n  \"totals\": {\"ops\": " + std::to_string(D.ops.size()) + ", \"opTimeMs\": " + json_number(total_ops / 1000.0) +
       ", \"wallMs\": " + json_number(sum) + "}";
  // MoE plans on one device: routed tokens per expert and the experts' time.
  std::vector<MoeUnit> units;
  std::string err;
  if (read_moe_units(s.plan().path, &units, &err) && !units.empty()) {
    std::vector<int64_t> rows(D.ops.size(), 0);
    for (const RunStats& r : runs)
      for (size_t i = 0; i < r.op_rows.size() && i < rows.size(); ++i) rows[i] += r.op_rows[i];
    Json totals;
    if (Json::parse(moe_op_totals(units, s.plan().devices[0].name, D, per, rows), &totals, &err))
      o += ",\n  \"moe\": " + moe_metrics(units, {{s.plan().devices[0].name, &totals}}, {}, static_cast<double>(n));
  }
  o += "\n}\n";
  return o;
}

std::string latency_json(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  double sum = 0;
  for (double v : ms) sum += v;
  const size_t n = ms.size();
  return "{\"mean\":" + json_number(n ? sum / n : 0) + ",\"min\":" + json_number(n ? ms[0] : 0) +
         ",\"p50\":" + json_number(n ? ms[n / 2] : 0) + ",\"max\":" + json_number(n ? ms[n - 1] : 0) + "}";
}

std::string outputs_json(const std::vector<std::string>& names, const std::vector<Value>& outputs, const std::string& dir) {
  std::string o = "[";
  for (size_t i = 0; i < outputs.size() && i < names.size(); ++i) {
    const Value& v = outputs[i];
    const std::string base = dir + "/" + safe_file_name(names[i]);
    std::string file = base + ".npy", dtype = "sequence", shape = "[]";
    if (v.kind == Value::Kind::kTensor) {
      dtype = dtype_name(v.tensor.view.dtype);
      shape = "[";
      for (size_t k = 0; k < v.tensor.view.shape.size(); ++k) shape += (k ? "," : "") + std::to_string(v.tensor.view.shape[k]);
      shape += "]";
    } else {
      file = base + ".0.npy";
    }
    o += std::string(i ? "," : "") + "{\"name\":" + json_quote(names[i]) + ",\"file\":" + json_quote(file) +
         ",\"dtype\":" + json_quote(dtype) + ",\"shape\":" + shape + "}";
  }
  return o + "]";
}

std::string summary_json(const Session& s, const std::vector<RunStats>& runs, const std::vector<Value>& outputs,
                         const std::string& output_dir) {
  const ProgramDesc& D = s.main();
  std::vector<std::string> names;
  for (uint32_t t : D.outputs) names.push_back(D.tensors[t].name);
  std::vector<double> ms;
  for (const RunStats& r : runs) ms.push_back(r.total_us / 1000.0);
  const PlanDevice& dev = s.plan().devices[0];
  return "{\"summary\":{\"plan\":" + json_quote(s.plan().path) + ",\"devices\":[{\"name\":" + json_quote(dev.name) +
         ",\"backend\":" + json_quote(dev.backend) + ",\"emulated\":" + (dev.backend == "emulated" ? "true" : "false") +
         "}],\"outputs\":" + outputs_json(names, outputs, output_dir) + ",\"repeats\":" + std::to_string(runs.size()) +
         ",\"requests\":1,\"latencyMs\":" + latency_json(ms) + "}}\n";
}

}  // namespace fleetrt
