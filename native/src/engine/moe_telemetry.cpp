#include "engine/moe_telemetry.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

namespace fleetrt {

namespace {

std::string num(double v) { return json_number(v); }

const std::string* string_at(const Json* arr, size_t k) {
  return arr && arr->is_array() && k < arr->arr.size() && arr->arr[k].is_string() ? &arr->arr[k].str : nullptr;
}

double number_at(const Json* arr, size_t k) {
  return arr && arr->is_array() && k < arr->arr.size() && arr->arr[k].is_number() ? arr->arr[k].num : 0;
}

}  // namespace

double MoeUnit::ops_seconds_for(double n) const {
  return n > 0 ? std::max(n * compute, stream) + std::max(0.0, fixed - latency) : 0;
}

bool read_moe_units(const std::string& plan_path, std::vector<MoeUnit>* units, std::string* error) {
  units->clear();
  std::ifstream f(plan_path, std::ios::binary);
  if (!f) {
    *error = plan_path + ": cannot read";
    return false;
  }
  std::stringstream ss;
  ss << f.rdbuf();
  Json plan;
  if (!Json::parse(ss.str(), &plan, error)) {
    *error = plan_path + ": " + *error;
    return false;
  }
  const Json* experts = plan.get("experts");
  if (!experts || !experts->is_array()) return true;
  for (const Json& e : experts->arr) {
    const Json* devices = e.get("devices");
    if (!devices || !devices->is_array()) continue;
    for (size_t k = 0; k < devices->arr.size(); ++k) {
      MoeUnit u;
      u.layer = static_cast<int>(e.get_number("layer", 0));
      u.expert = static_cast<int>(e.get_number("expert", 0));
      if (const std::string* s = string_at(devices, k)) u.device = *s;
      if (const std::string* s = string_at(e.get("entry"), k)) u.entry = *s;
      if (const std::string* s = string_at(e.get("input"), k)) u.input = *s;
      if (const std::string* s = string_at(e.get("output"), k)) u.output = *s;
      const Json* ops = e.get("ops");
      if (ops && ops->is_array() && k < ops->arr.size())
        for (const Json& o : ops->arr[k].arr)
          if (o.is_string()) u.ops.push_back(o.str);
      u.predicted_tokens = number_at(e.get("tokens"), k);
      u.predicted_seconds = number_at(e.get("seconds"), k);
      const Json* cost = e.get("cost");
      if (cost && cost->is_array() && k < cost->arr.size()) {
        const Json& c = cost->arr[k];
        u.compute = c.get_number("compute", 0);
        u.stream = c.get_number("stream", 0);
        u.transfer = c.get_number("transfer", 0);
        u.fixed = c.get_number("fixed", 0);
        u.latency = c.get_number("latency", 0);
      }
      units->push_back(std::move(u));
    }
  }
  return true;
}

std::string moe_op_totals(const std::vector<MoeUnit>& units, const std::string& device, const ProgramDesc& main,
                          const std::vector<double>& op_us, const std::vector<int64_t>& op_rows,
                          const std::vector<std::vector<float>>& op_samples) {
  std::set<std::string> wanted;
  for (const MoeUnit& u : units)
    if (u.device == device) wanted.insert(u.ops.begin(), u.ops.end());
  std::string o = "{";
  bool first = true;
  for (size_t i = 0; i < main.ops.size(); ++i) {
    if (!wanted.count(main.ops[i].name)) continue;
    const double us = i < op_us.size() ? op_us[i] : 0;
    const int64_t rows = i < op_rows.size() ? op_rows[i] : 0;
    std::vector<float> v = i < op_samples.size() ? op_samples[i] : std::vector<float>{};
    std::sort(v.begin(), v.end());
    const double median = v.empty() ? 0 : v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2.0;
    const double fastest = v.empty() ? 0 : v.front();
    o += std::string(first ? "" : ",") + json_quote(main.ops[i].name) + ":[" + num(us) + "," + std::to_string(rows) + "," +
         num(median) + "," + num(fastest) + "]";
    first = false;
  }
  return o + "}";
}

std::string moe_metrics(const std::vector<MoeUnit>& units, const std::map<std::string, const Json*>& ops,
                        const std::map<std::string, double>& link_bytes, double requests) {
  const double per = requests > 0 ? 1.0 / requests : 0;
  std::map<int, std::vector<const MoeUnit*>> by_layer;
  for (const MoeUnit& u : units) by_layer[u.layer].push_back(&u);
  auto op_stat = [&](const std::string& device, const std::string& op, int which) -> double {
    auto it = ops.find(device);
    if (it == ops.end() || !it->second) return 0;
    const Json* v = it->second->get(op);
    return v && v->is_array() && v->arr.size() > static_cast<size_t>(which) ? v->arr[which].num : 0;
  };
  std::string o = "{\"requests\": " + num(requests) + ", \"layers\": [";
  bool first_layer = true;
  for (auto& [layer, us] : by_layer) {
    int experts = 0;
    for (const MoeUnit* u : us) experts = std::max(experts, u->expert + 1);
    std::vector<double> counts(experts, 0);
    struct Dev {
      double tokens = 0, us = 0, median_us = 0, fastest_us = 0, predicted_tokens = 0, predicted_seconds = 0, model_seconds = 0;
    };
    std::map<std::string, Dev> devs;
    std::string per_expert;
    for (const MoeUnit* u : us) {
      const double rows = op_stat(u->device, u->entry, 1);
      double t = 0, median = 0, fastest = 0;
      for (const std::string& op : u->ops) {
        t += op_stat(u->device, op, 0);
        median += op_stat(u->device, op, 2);
        fastest += op_stat(u->device, op, 3);
      }
      counts[u->expert] += rows;
      Dev& d = devs[u->device];
      d.tokens += rows;
      d.us += t;
      d.median_us += median;
      d.fastest_us += fastest;
      d.predicted_tokens += u->predicted_tokens;
      d.predicted_seconds += u->predicted_seconds;
      // The cost model for the tokens that came (the plan's prediction assumed the expected
      // routing), for what was measured: the expert's ops, without its messages.
      const double model = u->ops_seconds_for(rows * per);
      d.model_seconds += model;
      per_expert += std::string(per_expert.empty() ? "" : ", ") + "{\"expert\": " + std::to_string(u->expert) + ", \"device\": " +
                    json_quote(u->device) + ", \"tokens\": " + num(rows) + ", \"tokensPerRequest\": " + num(rows * per) +
                    ", \"msPerRequest\": " + num(t / 1000.0 * per) + ", \"modelMs\": " + num(model * 1000) +
                    ", \"predictedTokens\": " + num(u->predicted_tokens) + ", \"predictedMs\": " + num(u->predicted_seconds * 1000) + "}";
    }
    o += std::string(first_layer ? "" : ",") + "\n    {\"layer\": " + std::to_string(layer) + ", \"counts\": [";
    for (size_t e = 0; e < counts.size(); ++e) o += (e ? ", " : "") + num(counts[e]);
    o += "],\n     \"devices\": [";
    bool first = true;
    for (auto& [name, d] : devs) {
      const double ms = d.us / 1000.0 * per;
      o += std::string(first ? "" : ", ") + "{\"device\": " + json_quote(name) + ", \"tokensPerRequest\": " + num(d.tokens * per) +
           ", \"msPerRequest\": " + num(ms) + ", \"msMedian\": " + num(d.median_us / 1000.0) +
           ", \"msFastest\": " + num(d.fastest_us / 1000.0) +
           ", \"predictedTokens\": " + num(d.predicted_tokens) +
           ", \"predictedMs\": " + num(d.predicted_seconds * 1000) + ", \"modelMs\": " + num(d.model_seconds * 1000) +
           (d.model_seconds > 0 ? ", \"timeError\": " + num(ms / (d.model_seconds * 1000) - 1) +
                                      ", \"timeErrorMedian\": " + num(d.median_us / 1000.0 / (d.model_seconds * 1000) - 1)
                                : "") +
           "}";
      first = false;
    }
    o += "],\n     \"experts\": [" + per_expert + "]}";
    first_layer = false;
  }
  o += "],\n   \"dispatch\": [";
  bool first = true;
  for (auto& [link, bytes] : link_bytes) {
    o += std::string(first ? "" : ", ") + "{\"link\": " + json_quote(link) + ", \"bytesPerRequest\": " + num(bytes * per) + "}";
    first = false;
  }
  return o + "]}";
}

}  // namespace fleetrt
