#include "core/plan.h"

#include "core/json.h"
#include "core/mapped_file.h"
#include "core/sha256.h"

namespace fleetrt {

namespace {

bool safe_relative(const std::string& p) {
  if (p.empty() || p[0] == '/' || p.find('\\') != std::string::npos) return false;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string::npos) j = p.size();
    std::string part = p.substr(i, j - i);
    if (part == ".." || part.empty()) return false;
    i = j + 1;
  }
  return true;
}

std::string dirname_of(const std::string& path) {
  size_t k = path.find_last_of('/');
  return k == std::string::npos ? "." : (k == 0 ? "/" : path.substr(0, k));
}

}  // namespace

bool load_plan(const std::string& path, Plan* plan, std::string* error) {
  std::string text;
  if (!read_file(path, &text, error)) return false;
  Json j;
  std::string perr;
  if (!Json::parse(text, &j, &perr)) {
    *error = path + ": not valid JSON: " + perr;
    return false;
  }
  auto bad = [&](const std::string& m) {
    *error = path + ": " + m;
    return false;
  };
  if (!j.is_object()) return bad("the plan is not a JSON object");
  const Json* ver = j.get("schemaVersion");
  if (!ver || !ver->is_number()) return bad("no schemaVersion; not a fleetc plan");
  plan->schema_version = static_cast<int>(ver->num);
  if (plan->schema_version > kPlanSchemaVersion)
    return bad("plan schemaVersion " + std::to_string(plan->schema_version) + " is newer than this fleetrt supports (" +
               std::to_string(kPlanSchemaVersion) + "); update fleetrt");
  if (plan->schema_version < 1) return bad("invalid schemaVersion " + std::to_string(plan->schema_version));
  plan->path = path;
  plan->dir = dirname_of(path);

  const Json* devices = j.get("devices");
  if (!devices || !devices->is_array() || devices->arr.empty()) return bad("the plan has no devices");
  for (const Json& d : devices->arr) {
    PlanDevice dev;
    dev.name = d.get_string("name");
    dev.device_class = d.get_string("class");
    dev.backend = d.get_string("backend", "cpu");
    dev.ordinal = static_cast<int>(d.get_number("ordinal", 0));
    if (dev.name.empty()) return bad("a device has no name");
    const Json* b = d.get("bundle");
    if (!b || !b->is_object()) return bad("device '" + dev.name + "' has no bundle");
    std::string dir = b->get_string("dir");
    if (!safe_relative(dir)) return bad("device '" + dev.name + "' bundle folder '" + dir + "' is not a relative path inside the plan folder");
    dev.bundle_dir = plan->dir + "/" + dir;
    const Json* files = b->get("files");
    if (!files || !files->is_array()) return bad("device '" + dev.name + "' bundle lists no files");
    for (const Json& f : files->arr) {
      PlanFile pf;
      pf.path = f.get_string("path");
      pf.sha256 = f.get_string("sha256");
      pf.bytes = static_cast<uint64_t>(f.get_number("bytes", 0));
      if (!safe_relative(pf.path)) return bad("bundle file '" + pf.path + "' is not a relative path inside the bundle");
      if (pf.sha256.size() != 64) return bad("bundle file '" + pf.path + "' has no sha256");
      dev.files.push_back(pf);
    }
    dev.threads = static_cast<int>(d.get_number("threads", 1));
    if (dev.threads < 1) dev.threads = 1;
    const Json* home = d.get("home");
    dev.home = home && home->type == Json::Type::kBool && home->b;
    if (const Json* mem = d.get("memory"); mem && mem->is_object()) {
      double cap = mem->get_number("capacity", 0);
      if (cap > 0) dev.capacity = static_cast<uint64_t>(cap);
    }
    plan->devices.push_back(std::move(dev));
  }
  for (size_t a = 0; a < plan->devices.size(); ++a)
    for (size_t b = a + 1; b < plan->devices.size(); ++b)
      if (plan->devices[a].name == plan->devices[b].name) return bad("device '" + plan->devices[a].name + "' is listed twice");
  if (const Json* chans = j.get("channels"); chans && chans->is_array()) {
    for (const Json& c : chans->arr) {
      PlanChannel ch{c.get_string("value"), c.get_string("from"), c.get_string("to"), c.get_number("bytes", 0), {}};
      if (const Json* l = c.get("links"); l && l->is_array())
        for (const Json& x : l->arr)
          if (x.is_string()) ch.links.push_back(x.str);
      plan->channels.push_back(std::move(ch));
    }
  }
  if (const Json* fleet = j.get("fleet"); fleet && fleet->is_object())
    if (const Json* links = fleet->get("links"); links && links->is_array())
      for (const Json& l : links->arr)
        plan->links.push_back(PlanLink{l.get_string("id"), l.get_number("bandwidth", 0), l.get_number("latency", 0), 0, 0});
  if (const Json* pred = j.get("predicted"); pred && pred->is_object()) {
    plan->predicted_latency = pred->get_number("latency", -1);
    plan->predicted_throughput = pred->get_number("throughput", -1);
    if (const Json* mem = pred->get("memory"); mem && mem->is_object())
      for (auto& kv : mem->obj)
        for (PlanDevice& d : plan->devices)
          if (d.name == kv.first && kv.second.is_number()) d.predicted_memory = kv.second.num;
    if (const Json* busy = pred->get("busy"); busy && busy->is_object())
      for (auto& kv : busy->obj)
        for (PlanDevice& d : plan->devices)
          if (d.name == kv.first && kv.second.is_number()) d.predicted_busy = kv.second.num;
    if (const Json* links = pred->get("links"); links && links->is_array())
      for (const Json& l : links->arr) {
        std::string id = l.get_string("id");
        PlanLink* found = nullptr;
        for (PlanLink& x : plan->links)
          if (x.id == id) found = &x;
        if (!found) {
          plan->links.push_back(PlanLink{id, 0, 0, 0, 0});
          found = &plan->links.back();
        }
        found->predicted_bytes = l.get_number("bytes", 0);
        found->predicted_seconds = l.get_number("seconds", 0);
      }
  }
  if (const Json* st = j.get("state"); st && st->is_array()) {
    for (const Json& x : st->arr) {
      PlanState ps;
      ps.id = static_cast<int>(plan->state.size());
      ps.kind = x.get_string("kind");
      ps.mode = x.get_string("mode");
      ps.input = x.get_string("input");
      ps.output = x.get_string("output");
      ps.owner = x.get_string("owner");
      ps.dtype = x.get_string("dtype");
      ps.layer = static_cast<int>(x.get_number("layer", -1));
      ps.outer = static_cast<int>(x.get_number("outer", 0));
      ps.inner = static_cast<int>(x.get_number("inner", 0));
      ps.bytes_per_token = static_cast<int64_t>(x.get_number("bytesPerToken", 0));
      if (ps.mode.empty()) continue;  // a detected cache the compiler left as graph inputs/outputs
      if (ps.outer <= 0 || ps.inner <= 0 || ps.bytes_per_token <= 0)
        return bad("state " + std::to_string(ps.id) + " ('" + ps.input + "') has no page geometry (outer, inner, bytesPerToken)");
      bool owner_known = false;
      for (const PlanDevice& d : plan->devices) owner_known = owner_known || d.name == ps.owner;
      if (!owner_known) return bad("state " + std::to_string(ps.id) + " is owned by '" + ps.owner + "', which is not a device of the plan");
      plan->state.push_back(std::move(ps));
    }
  }
  if (const Json* g = j.get("generation"); g && g->is_object()) {
    PlanGeneration& gen = plan->generation;
    gen.present = true;
    gen.tokens = g->get_string("tokens");
    gen.positions = g->get_string("positions");
    gen.attention_mask = g->get_string("attentionMask");
    gen.logits_index = g->get_string("logitsIndex");
    gen.past_lengths = g->get_string("pastLengths");
    gen.logits = g->get_string("logits");
    gen.flatten = g->get_string("batching", "flatten") == "flatten";
    gen.vocab = static_cast<int>(g->get_number("vocab", 0));
    gen.page_size = static_cast<int>(g->get_number("pageSize", 16));
    gen.max_step_tokens = static_cast<int>(g->get_number("maxStepTokens", 256));
    gen.capacity_tokens = static_cast<int64_t>(g->get_number("capacityTokens", 0));
    gen.max_positions = static_cast<int64_t>(g->get_number("maxPositions", 0));
    gen.static_capacity = static_cast<int64_t>(g->get_number("staticCapacity", 0));
    if (gen.tokens.empty() || gen.logits.empty()) return bad("generation names no tokens input or logits output");
    if (gen.page_size < 1 || gen.page_size > 4096) return bad("generation pageSize must be in 1..4096");
    if (gen.max_step_tokens < 1) return bad("generation maxStepTokens must be positive");
  }
  for (const char* key : {"inputs", "outputs"}) {
    const Json* list = j.get(key);
    if (!list || !list->is_array()) return bad(std::string("the plan has no ") + key);
    for (const Json& x : list->arr) {
      PlanIO io{x.get_string("name"), x.get_string("dtype"), x.get_string("device"), x.get_string("kind", "tensor")};
      (std::string(key) == "inputs" ? plan->inputs : plan->outputs).push_back(io);
    }
  }
  return true;
}

bool verify_bundles(const Plan& plan, std::string* error) {
  for (const PlanDevice& dev : plan.devices) {
    for (const PlanFile& f : dev.files) {
      std::string full = dev.bundle_dir + "/" + f.path;
      MappedFile m;
      if (!m.open(full, error)) return false;
      if (m.size() != f.bytes) {
        *error = full + ": is " + std::to_string(m.size()) + " bytes, the plan says " + std::to_string(f.bytes) +
                 " (truncated or modified bundle)";
        return false;
      }
      std::string h = sha256_hex(m.data(), m.size());
      if (h != f.sha256) {
        *error = full + ": sha256 " + h.substr(0, 16) + "… does not match the plan's " + f.sha256.substr(0, 16) +
                 "… (modified bundle)";
        return false;
      }
    }
  }
  return true;
}

}  // namespace fleetrt
