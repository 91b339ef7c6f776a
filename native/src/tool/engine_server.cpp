// `fleetrt PLAN --engine`: the engine as a long-lived process driven by JSON lines (docs/runtime.md,
// "The engine protocol"), the client side of fleetc generate and fleetc serve.
//
// stdin, one command per line:
//   {"op":"submit","id":"r1","prompt":[ids],"maxTokens":16,"temperature":0,"topK":0,"topP":1,"seed":0,"stop":[ids],
//    "resume":[ids already generated, after a restart]}
//   {"op":"cancel","id":"r1"}      {"op":"stats"}      {"op":"shutdown"}  (or end of input: finish, then exit)
// stdout, one event per line:
//   {"event":"ready","vocab":V,"capacityTokens":N,"maxContext":C,"maxStepTokens":M,"devices":[…]}
//   {"event":"token","id":"r1","token":42}
//   {"event":"done","id":"r1","reason":"length"|"stop"|"cancelled","promptTokens":P,"completionTokens":C}
//   {"event":"error","id":"r1"|null,"message":"…"}      {"event":"stats","generation":{…}}
#include "tool/engine_server.h"

#include <condition_variable>
#include <cstring>
#include <cstdio>
#include <deque>
#include <iostream>
#include <mutex>
#include <thread>

#include "core/json.h"
#include "core/mapped_file.h"
#include "engine/generation.h"
#include "engine/telemetry_writer.h"

namespace fleetrt {

namespace {

void emit(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

std::string id_json(const std::string& id) { return id.empty() ? "null" : json_quote(id); }

void emit_error(const std::string& id, const std::string& message) {
  emit("{\"event\":\"error\",\"id\":" + id_json(id) + ",\"message\":" + json_quote(message) + "}");
}

// Commands from stdin, read on their own thread so that steps never wait for input.
class Inbox {
 public:
  void push(std::string line) {
    std::lock_guard<std::mutex> g(mu_);
    lines_.push_back(std::move(line));
    cv_.notify_all();
  }
  void close() {
    std::lock_guard<std::mutex> g(mu_);
    closed_ = true;
    cv_.notify_all();
  }
  // Takes every pending line; waits for one when `block` (false at end of input).
  bool take(std::deque<std::string>* out, bool block) {
    std::unique_lock<std::mutex> lock(mu_);
    if (block) cv_.wait(lock, [&] { return !lines_.empty() || closed_; });
    out->swap(lines_);
    return !closed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  bool closed_ = false;
};

bool int_list(const Json* j, std::vector<int64_t>* out) {
  out->clear();
  if (!j) return true;
  if (!j->is_array()) return false;
  for (const Json& x : j->arr) {
    if (!x.is_number() || x.num != static_cast<double>(static_cast<int64_t>(x.num))) return false;
    out->push_back(static_cast<int64_t>(x.num));
  }
  return true;
}

Status parse_submit(const Json& c, GenerationRequest* r) {
  r->id = c.get_string("id");
  if (!int_list(c.get("prompt"), &r->prompt)) return Status{kStatusBadInput, "prompt must be a list of integer token ids"};
  if (!int_list(c.get("stop"), &r->stop)) return Status{kStatusBadInput, "stop must be a list of integer token ids"};
  if (!int_list(c.get("resume"), &r->resume)) return Status{kStatusBadInput, "resume must be a list of integer token ids"};
  r->max_new_tokens = static_cast<int>(c.get_number("maxTokens", 16));
  r->sampling.temperature = c.get_number("temperature", 0);
  r->sampling.top_k = static_cast<int>(c.get_number("topK", 0));
  r->sampling.top_p = c.get_number("topP", 1);
  r->sampling.seed = static_cast<uint64_t>(c.get_number("seed", 0));
  return Status::Ok();
}

std::string stats_event(const Generator& gen) { return "{\"event\":\"stats\",\"generation\":" + gen.stats_json() + "}"; }

}  // namespace

int run_engine_server(const EngineServerArgs& a, std::unique_ptr<Transport> transport) {
  // The engine of the plan in use (a replan swaps in another between steps).
  auto engine = std::make_unique<Engine>();
  EngineOptions opts;
  opts.plan_path = a.plan_path;
  opts.threads = a.threads;
  opts.trace = !a.trace_path.empty();
  opts.transport = std::move(transport);
  Status st = engine->open(std::move(opts));
  auto fail = [&](const Status& s, int code) -> int {
    std::fprintf(stderr, "fleetrt: error: %s\n", s.message.c_str());
    if (std::strcmp(engine->transport().kind(), "mpi") == 0) engine->transport().abort(code);
    return code;
  };
  if (!st.ok()) return fail(st, st.code == kStatusBadPlan ? 3 : 1);
  if (engine->transport().rank() != 0) {
    st = run_follower(*engine);
    if (!st.ok()) return fail(st, st.code == kStatusDeviceLost ? 5 : 1);
    return 0;
  }
  Generator gen;
  GeneratorOptions gopts;
  gopts.pages = a.kv_pages;
  gopts.max_step_tokens = a.max_step_tokens;
  gopts.prefix_cache = a.prefix_cache;
  st = gen.open(*engine, gopts);
  if (!st.ok()) return fail(st, st.code == kStatusBadPlan ? 3 : 1);
  std::string devices = "[";
  for (const std::string& sd : a.slowdown) {
    // NAME=F[@STEP]: from step STEP on
    const size_t eq = sd.find('='), at = sd.find('@');
    st = eq == std::string::npos ? Status::Error("--slowdown needs NAME=FACTOR[@STEP], got '" + sd + "'")
                                 : engine->set_slowdown(sd.substr(0, eq), std::atof(sd.substr(eq + 1, at - eq - 1).c_str()),
                                                       at == std::string::npos ? 0 : std::atoi(sd.c_str() + at + 1));
    if (!st.ok()) return fail(st, 2);
  }
  for (const auto& d : engine->devices())
    devices += std::string(devices.size() > 1 ? "," : "") + "{\"name\":" + json_quote(d->desc->name) + ",\"backend\":" +
               json_quote(d->desc->backend) + ",\"stateBytes\":" + std::to_string(d->reserved) + "}";
  devices += "]";
  emit("{\"event\":\"ready\",\"vocab\":" + std::to_string(gen.vocab()) + ",\"capacityTokens\":" + std::to_string(gen.capacity_tokens()) +
       ",\"maxContext\":" + std::to_string(gen.max_context()) +
       ",\"maxStepTokens\":" + std::to_string(gen.max_step_tokens()) + ",\"devices\":" + devices + "}");

  Inbox inbox;
  std::thread reader([&] {
    std::string line;
    while (std::getline(std::cin, line))
      if (line.find_first_not_of(" \t\r") != std::string::npos) inbox.push(line);
    inbox.close();
  });
  reader.detach();  // a blocked read must not keep the process alive after shutdown

  bool open_input = true, shutdown = false;
  std::vector<GenerationEvent> events;
  int rc = 0;
  while (true) {
    std::deque<std::string> lines;
    open_input = inbox.take(&lines, gen.idle() && open_input && !shutdown) && open_input;
    for (const std::string& line : lines) {
      Json c;
      std::string err;
      if (!Json::parse(line, &c, &err) || !c.is_object()) {
        emit_error("", "bad command line: " + (err.empty() ? std::string("not a JSON object") : err));
        continue;
      }
      const std::string op = c.get_string("op");
      if (op == "submit") {
        GenerationRequest r;
        Status s = parse_submit(c, &r);
        const std::string id = r.id;
        if (s.ok()) s = gen.submit(std::move(r));
        if (!s.ok()) emit_error(id, s.message);
      } else if (op == "cancel") {
        gen.cancel(c.get_string("id"));
      } else if (op == "stats") {
        emit(stats_event(gen));
      } else if (op == "slowdown") {
        Status s = engine->set_slowdown(c.get_string("device"), c.get_number("factor", 1));
        if (!s.ok()) emit_error("", s.message);
      } else if (op == "replan") {
        // A new placement of the same model, between steps; the old plan stays on any failure.
        const double t0 = now_us();
        auto next = std::make_unique<Engine>();
        EngineOptions o;
        o.plan_path = c.get_string("plan");
        o.threads = a.threads;
        o.trace = !a.trace_path.empty();
        Status s = next->open(std::move(o));
        Generator::Replan r;
        if (s.ok()) s = gen.adopt(*next, &r);
        if (!s.ok()) {
          emit_error("", "replan: " + s.message);
        } else {
          engine = std::move(next);  // the old engine's weights and threads go now
          emit("{\"event\":\"replanned\",\"plan\":" + json_quote(engine->plan().path) + ",\"stallMs\":" +
               json_number((now_us() - t0) / 1000.0) + ",\"stateBytesMoved\":" + std::to_string(r.state_bytes_moved) +
               ",\"weightBytesLoaded\":" + std::to_string(r.weight_bytes_loaded) + "}");
        }
      } else if (op == "shutdown") {
        shutdown = true;
      } else {
        emit_error(c.get_string("id"), "unknown op '" + op + "' (submit, cancel, stats, shutdown)");
      }
    }
    if (gen.idle()) {
      if (shutdown || !open_input) break;
      continue;
    }
    events.clear();
    st = gen.step(&events);
    for (const GenerationEvent& e : events) {
      if (e.kind == GenerationEvent::kToken)
        emit("{\"event\":\"token\",\"id\":" + json_quote(e.id) + ",\"token\":" + std::to_string(e.token) + "}");
      else
        emit("{\"event\":\"done\",\"id\":" + json_quote(e.id) + ",\"reason\":" + json_quote(e.reason) + ",\"promptTokens\":" +
             std::to_string(e.prompt_tokens) + ",\"completionTokens\":" + std::to_string(e.completion_tokens) + "}");
    }
    if (!st.ok()) {
      rc = fail(st, st.code == kStatusDeviceLost ? 5 : 1);
      break;
    }
  }
  gen.close();
  emit(stats_event(gen));
  std::string err;
  if (!a.metrics_path.empty() || !a.trace_path.empty()) {
    std::vector<Json> frags;
    for (const auto& d : engine->devices()) {
      Json j;
      if (d->local && Json::parse(device_fragment(*engine, d->index, {}, ""), &j, &err)) frags.push_back(std::move(j));
    }
    EngineReport rep;
    if (!engine_report(engine->plan(), frags, engine->transport().kind(), gen.stats_json(), &rep, &err)) return fail(Status::Error(err), 1);
    if (!a.metrics_path.empty() && !write_file(a.metrics_path, rep.metrics.data(), rep.metrics.size(), &err)) return fail(Status::Error(err), 1);
    if (!a.trace_path.empty() && !write_file(a.trace_path, rep.trace.data(), rep.trace.size(), &err)) return fail(Status::Error(err), 1);
  }
  std::fflush(stdout);
  engine->close_transport();
  // The reader thread may still block on stdin: leave without waiting for it.
  std::_Exit(rc);
}

}  // namespace fleetrt
