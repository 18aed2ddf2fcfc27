// The C ABI (include/tosgate/tosgate.h) over engine::Engine.
//
// Every entry point is a wall: it checks its pointers, catches everything
// (std::bad_alloc included) and turns it into an error string or an empty
// answer, because a C++ exception unwinding into a C caller is undefined.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/request/request_description.h"
#include "api/request/responses.h"
#include "api/request/usage_scanner.h"
#include "capi/capi_internal.h"
#include "policies/builtin/builtin_packs.h"
#include "policies/loader.h"
#include "storage/accounts/file.h"
#include "storage/shm/state_store.h"
#include "tosgate/tosgate.h"

#ifndef TOSGATE_VERSION
#define TOSGATE_VERSION "unknown"
#endif

namespace tosgate::capi {

void SetError(char** error, const char* msg) noexcept {
  if (!error) return;
  std::free(*error);
  const size_t n = std::strlen(msg);
  *error = static_cast<char*>(std::malloc(n + 1));
  if (*error) std::memcpy(*error, msg, n + 1);
}
void SetError(char** error, const std::string& msg) noexcept { SetError(error, msg.c_str()); }

void SetCaught(char** error, const char* where) noexcept {
  try {
    throw;
  } catch (const std::bad_alloc&) {
    SetError(error, "tosgate: out of memory");
  } catch (const std::exception& e) {
    try {
      SetError(error, std::string("tosgate: ") + where + ": internal error: " + e.what());
    } catch (...) {
      SetError(error, "tosgate: internal error");
    }
  } catch (...) {
    SetError(error, "tosgate: internal error");
  }
}

int ReportUsage(tosgate_engine* e, const char* decision_id, int64_t input_tokens,
                int64_t output_tokens, tosgate::engine::UsageSource source, const char* fn,
                char** error) {
  try {
    if (!e || !decision_id) {
      SetError(error, std::string(fn) + (e ? ": decision_id is NULL" : ": engine is NULL"));
      return -1;
    }
    tosgate::engine::Usage usage;
    usage.input_tokens = input_tokens < 0 ? -1 : input_tokens;
    usage.output_tokens = output_tokens < 0 ? -1 : output_tokens;
    Status s = e->engine->ReportUsage(decision_id, usage, source);
    if (!s.ok()) {
      SetError(error, std::string(fn) + ": " + s.message());
      return -1;
    }
    return 0;
  } catch (...) {
    SetCaught(error, fn);
    return -1;
  }
}

}  // namespace tosgate::capi

namespace {

using tosgate::Status;
using tosgate::capi::kDefaultPolicyName;
using tosgate::capi::PolicySource;
using tosgate::capi::SetCaught;
using tosgate::capi::SetError;

char* CopyString(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (out) std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

// `imports: [{pack: NAME}]` resolves to the packs built into the library,
// as in the CLI and the server.
tosgate::policies::LoadResult LoadPolicies(const PolicySource& src) {
  tosgate::policies::LoadOptions options;
  options.packs = &tosgate::policies::BuiltinPacks();
  if (src.from_text) return tosgate::policies::LoadPolicyFiles({{src.name, src.yaml}}, options);
  return tosgate::policies::LoadPolicyDir(src.dir, options);
}

// Every error of a policy set, one per line, each with file:line:column.
std::string PolicyErrors(const tosgate::policies::LoadResult& r) {
  std::string out;
  for (const auto& d : r.errors) {
    if (!out.empty()) out += '\n';
    out += d.ToString();
  }
  return out.empty() ? "policies did not load" : out;
}

const char* Str(const char* s, const char* fallback) { return s && *s ? s : fallback; }

}  // namespace

struct tosgate_usage_scanner {
  explicit tosgate_usage_scanner(std::string_view content_type) : scanner(content_type) {}
  tosgate::api::UsageScanner scanner;
};

namespace {

tosgate_decision* DecideDescribed(tosgate_engine* e, const tosgate::api::RequestDescription& desc,
                                  char** error) {
  tosgate::Request req;
  if (Status s = tosgate::api::RequestFromDescription(desc, &req); !s.ok()) {
    SetError(error, "tosgate: bad request: " + s.message());
    return nullptr;
  }
  return tosgate::capi::Decide(e, req);
}

}  // namespace

extern "C" {

const char* tosgate_version(void) { return TOSGATE_VERSION; }

void tosgate_free_string(char* s) { std::free(s); }

// ---- Configuration ----

tosgate_config* tosgate_config_create(void) {
  try {
    return new tosgate_config();
  } catch (...) {
    return nullptr;
  }
}

void tosgate_config_destroy(tosgate_config* config) { delete config; }

void tosgate_config_set_policy_dir(tosgate_config* config, const char* dir) {
  if (!config) return;
  try {
    config->policies = PolicySource{};
    config->policies.dir = dir ? dir : "";
    config->have_policies = dir != nullptr;
  } catch (...) {
    config->have_policies = false;  // create reports the missing policies
  }
}

void tosgate_config_set_policy_yaml(tosgate_config* config, const char* yaml, const char* name) {
  if (!config) return;
  try {
    config->policies = PolicySource{};
    config->policies.yaml = yaml ? yaml : "";
    config->policies.name = Str(name, kDefaultPolicyName);
    config->policies.from_text = true;
    config->have_policies = yaml != nullptr;
  } catch (...) {
    config->have_policies = false;
  }
}

void tosgate_config_set_state_max_entries(tosgate_config* config, size_t max_entries) {
  if (config && max_entries > 0) config->state_max_entries = max_entries;
}

void tosgate_config_set_accounts_file(tosgate_config* config, const char* path) {
  if (!config) return;
  try {
    config->accounts_file = path ? path : "";
  } catch (...) {
  }
}

void tosgate_config_set_audit(tosgate_config* config, const char* path, int synchronous_full) {
  if (!config) return;
  try {
    config->audit_path = path ? path : "";
    config->audit_sync = synchronous_full != 0;
  } catch (...) {
  }
}

// ---- Shared state ----

size_t tosgate_shm_state_bytes(size_t max_entries) {
  return tosgate::storage::ShmStateBytes(max_entries);
}

int tosgate_shm_state_init(void* base, size_t bytes, char** error) {
  try {
    if (tosgate::Status s = tosgate::storage::InitShmState(base, bytes); !s.ok()) {
      SetError(error, "tosgate_shm_state_init: " + s.message());
      return -1;
    }
    return 0;
  } catch (...) {
    SetCaught(error, "tosgate_shm_state_init");
    return -1;
  }
}

void tosgate_config_set_audit_socket(tosgate_config* config, const char* path) {
  if (!config) return;
  try {
    config->audit_socket = path ? path : "";
  } catch (...) {
  }
}

void tosgate_config_set_audit_socket_async(tosgate_config* config, int async) {
  if (config) config->audit_socket_async = async != 0;
}

void tosgate_config_set_state_shm(tosgate_config* config, void* base, size_t bytes) {
  if (!config) return;
  config->shm_base = base;
  config->shm_bytes = base ? bytes : 0;
}

// ---- Engine ----

tosgate_engine* tosgate_engine_create(const tosgate_config* config, char** error) {
  if (!config) {
    SetError(error, "tosgate_engine_create: config is NULL");
    return nullptr;
  }
  if (!config->have_policies) {
    SetError(error, "tosgate_engine_create: no policies: call tosgate_config_set_policy_dir or "
                    "tosgate_config_set_policy_yaml");
    return nullptr;
  }
  try {
    auto e = std::make_unique<tosgate_engine>();
    e->source = config->policies;
    tosgate::policies::LoadResult loaded = LoadPolicies(e->source);
    if (!loaded.snapshot) {
      SetError(error, PolicyErrors(loaded));
      return nullptr;
    }
    if (!config->accounts_file.empty()) {
      auto list = tosgate::storage::LoadAccountsJsonl(config->accounts_file);
      if (!list.ok()) {
        SetError(error, "tosgate: accounts: " + list.status().message());
        return nullptr;
      }
      e->accounts.Replace(std::move(list).value());
    }
    if (!config->audit_socket.empty())
      e->audit_socket = std::make_unique<tosgate::storage::SocketAuditSink>(
          config->audit_socket, std::chrono::seconds(5),
          config->audit_socket_async ? tosgate::storage::SocketAuditSink::Mode::kAsync
                                     : tosgate::storage::SocketAuditSink::Mode::kSync);
    if (!config->audit_path.empty()) {
      tosgate::storage::SqliteAuditOptions opts;
      opts.path = config->audit_path;
      opts.synchronous_full = config->audit_sync;
      auto audit = tosgate::storage::SqliteAuditSink::Open(opts);
      if (!audit.ok()) {
        SetError(error, "tosgate: audit store: " + audit.status().message());
        return nullptr;
      }
      e->audit = std::move(audit).value();
    }
    if (config->shm_base) {
      auto shared = tosgate::storage::AttachShmState(config->shm_base, config->shm_bytes);
      if (!shared.ok()) {
        SetError(error, "tosgate: shared state: " + shared.status().message());
        return nullptr;
      }
      e->state = std::move(shared).value();
    } else {
      e->state = tosgate::engine::NewMemoryStateStore({.max_entries = config->state_max_entries});
    }
    e->engine = std::make_unique<tosgate::engine::Engine>(
        tosgate::engine::EngineOptions{&e->clock, e->state.get(),
                                       e->audit ? static_cast<tosgate::engine::AuditSink*>(e->audit.get())
                                                : e->audit_socket.get(),
                                       &e->accounts});
    e->engine->Publish(std::move(loaded.snapshot));
    return e.release();
  } catch (...) {
    SetCaught(error, "tosgate_engine_create");
    return nullptr;
  }
}

void tosgate_engine_destroy(tosgate_engine* engine) {
  if (!engine) return;
  try {
    // The engine hands records to the audit sink: stop it first, then let
    // the sink flush what it holds.
    engine->engine.reset();
    if (engine->audit) (void)engine->audit->Close();
  } catch (...) {
  }
  delete engine;
}

int tosgate_engine_reload(tosgate_engine* engine, char** error) {
  if (!engine) {
    SetError(error, "tosgate_engine_reload: engine is NULL");
    return -1;
  }
  try {
    std::lock_guard lock(engine->reload_mu);
    tosgate::policies::LoadResult loaded = LoadPolicies(engine->source);
    if (!loaded.snapshot) {
      SetError(error, PolicyErrors(loaded));
      return -1;
    }
    engine->engine->Publish(std::move(loaded.snapshot));
    return 0;
  } catch (...) {
    SetCaught(error, "tosgate_engine_reload");
    return -1;
  }
}

int tosgate_engine_reload_yaml(tosgate_engine* engine, const char* yaml, const char* name,
                               char** error) {
  if (!engine || !yaml) {
    SetError(error, engine ? "tosgate_engine_reload_yaml: yaml is NULL"
                           : "tosgate_engine_reload_yaml: engine is NULL");
    return -1;
  }
  try {
    PolicySource next;
    next.yaml = yaml;
    next.name = Str(name, kDefaultPolicyName);
    next.from_text = true;
    std::lock_guard lock(engine->reload_mu);
    tosgate::policies::LoadResult loaded = LoadPolicies(next);
    if (!loaded.snapshot) {
      SetError(error, PolicyErrors(loaded));
      return -1;
    }
    engine->engine->Publish(std::move(loaded.snapshot));
    engine->source = std::move(next);
    return 0;
  } catch (...) {
    SetCaught(error, "tosgate_engine_reload_yaml");
    return -1;
  }
}

char* tosgate_engine_policy_revision(const tosgate_engine* engine) {
  if (!engine) return nullptr;
  try {
    auto snap = engine->engine->snapshot();
    return CopyString(snap ? snap->revision : std::string());
  } catch (...) {
    return nullptr;
  }
}

// ---- Checking ----

tosgate_decision* tosgate_check(tosgate_engine* engine, const char* method, const char* path,
                                const char* client_ip, const char* api_key,
                                const char* const* header_names, const char* const* header_values,
                                size_t header_count, const char* body_json, char** error) {
  if (!engine) {
    SetError(error, "tosgate_check: engine is NULL");
    return nullptr;
  }
  if (header_count > 0 && (!header_names || !header_values)) {
    SetError(error, "tosgate_check: header_count > 0 but the name or value array is NULL");
    return nullptr;
  }
  try {
    tosgate::api::RequestDescription desc;
    desc.method = Str(method, "POST");
    desc.path = Str(path, "/");
    desc.client_ip = Str(client_ip, "127.0.0.1");
    desc.key = api_key ? api_key : "";
    desc.headers.reserve(header_count);
    for (size_t i = 0; i < header_count; ++i)
      if (header_names[i])
        desc.headers.emplace_back(header_names[i], header_values[i] ? header_values[i] : "");
    desc.body = body_json ? body_json : "";
    return DecideDescribed(engine, desc, error);
  } catch (...) {
    SetCaught(error, "tosgate_check");
    return nullptr;
  }
}

tosgate_decision* tosgate_check_json(tosgate_engine* engine, const char* request_json,
                                     char** error) {
  if (!engine || !request_json) {
    SetError(error, engine ? "tosgate_check_json: request_json is NULL"
                           : "tosgate_check_json: engine is NULL");
    return nullptr;
  }
  try {
    // The members `tosgate check --request FILE` reads, read by the same code.
    tosgate::api::RequestDescription desc;
    if (tosgate::Status s = tosgate::api::DescriptionFromJson(request_json, &desc); !s.ok()) {
      SetError(error, "tosgate_check_json: " + s.message());
      return nullptr;
    }
    return DecideDescribed(engine, desc, error);
  } catch (...) {
    SetCaught(error, "tosgate_check_json");
    return nullptr;
  }
}

int tosgate_report_usage(tosgate_engine* engine, const char* decision_id, int64_t input_tokens,
                         int64_t output_tokens, char** error) {
  return tosgate::capi::ReportUsage(engine, decision_id, input_tokens, output_tokens,
                                    tosgate::engine::UsageSource::kExternal,
                                    "tosgate_report_usage", error);
}

// ---- Usage from responses ----

tosgate_usage_scanner* tosgate_usage_scanner_create(const char* content_type) {
  try {
    return new tosgate_usage_scanner(content_type ? content_type : "");
  } catch (...) {
    return nullptr;
  }
}

void tosgate_usage_scanner_feed(tosgate_usage_scanner* scanner, const char* bytes, size_t size) {
  if (!scanner || !bytes) return;
  try {
    scanner->scanner.Feed(std::string_view(bytes, size));
  } catch (...) {
  }
}

void tosgate_usage_scanner_finish(tosgate_usage_scanner* scanner, int64_t* input_tokens,
                                  int64_t* output_tokens) {
  tosgate::engine::Usage u;
  if (scanner) {
    try {
      u = scanner->scanner.Finish();
    } catch (...) {
    }
  }
  if (input_tokens) *input_tokens = u.input_tokens;
  if (output_tokens) *output_tokens = u.output_tokens;
}

void tosgate_usage_scanner_destroy(tosgate_usage_scanner* scanner) { delete scanner; }

// ---- Decisions ----

tosgate_effect tosgate_decision_effect(const tosgate_decision* decision) {
  if (!decision) return TOSGATE_ALLOW;
  switch (decision->d.effect) {
    case tosgate::Effect::kAllow: return TOSGATE_ALLOW;
    case tosgate::Effect::kThrottle: return TOSGATE_THROTTLE;
    case tosgate::Effect::kDeny: return TOSGATE_DENY;
  }
  return TOSGATE_DENY;
}

const char* tosgate_decision_effect_name(const tosgate_decision* decision) {
  if (!decision) return "";
  // EffectName views string literals, so data() is NUL-terminated.
  return tosgate::EffectName(decision->d.effect).data();
}

int tosgate_decision_enforced(const tosgate_decision* decision) {
  return decision && decision->d.enforced ? 1 : 0;
}

int tosgate_decision_status(const tosgate_decision* decision) {
  return decision ? decision->d.status : 0;
}

const char* tosgate_decision_reason(const tosgate_decision* decision) {
  return decision ? decision->d.reason.c_str() : "";
}

const char* tosgate_decision_id(const tosgate_decision* decision) {
  return decision ? decision->d.decision_id.c_str() : "";
}

const char* tosgate_decision_account(const tosgate_decision* decision) {
  return decision ? decision->d.account_id.c_str() : "";
}

const char* tosgate_decision_policy_revision(const tosgate_decision* decision) {
  return decision ? decision->d.policy_revision.c_str() : "";
}

size_t tosgate_decision_rule_count(const tosgate_decision* decision) {
  return decision ? decision->d.rule_ids.size() : 0;
}

const char* tosgate_decision_rule_id(const tosgate_decision* decision, size_t index) {
  if (!decision || index >= decision->d.rule_ids.size()) return nullptr;
  return decision->d.rule_ids[index].c_str();
}

int64_t tosgate_decision_delay_ms(const tosgate_decision* decision) {
  return decision ? decision->d.delay_ms : 0;
}

int64_t tosgate_decision_retry_after_s(const tosgate_decision* decision) {
  return decision ? decision->d.retry_after_s : 0;
}

size_t tosgate_decision_header_count(const tosgate_decision* decision) {
  return decision ? decision->rendered.headers.size() : 0;
}

const char* tosgate_decision_header_name(const tosgate_decision* decision, size_t index) {
  if (!decision || index >= decision->rendered.headers.size()) return nullptr;
  return decision->rendered.headers[index].first.c_str();
}

const char* tosgate_decision_header_value(const tosgate_decision* decision, size_t index) {
  if (!decision || index >= decision->rendered.headers.size()) return nullptr;
  return decision->rendered.headers[index].second.c_str();
}

const char* tosgate_decision_problem_json(const tosgate_decision* decision) {
  return decision ? decision->rendered.body.c_str() : "";
}

const char* tosgate_decision_explain(const tosgate_decision* decision) {
  if (!decision) return "";
  try {
    std::lock_guard lock(decision->explain_mu);
    if (!decision->explained) {
      decision->explain = decision->d.Explain();
      decision->explained = true;
    }
    return decision->explain.c_str();
  } catch (...) {
    return "";
  }
}

}  // extern "C"
