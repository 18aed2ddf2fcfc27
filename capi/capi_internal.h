// What the C ABI's two files share: the handles' definitions and the error
// walls. tosgate_c.cc has configuration, engines and the reading of
// decisions; proxy_check.cc the entry points an embedding proxy calls per
// request (tosgate_check_request, tosgate_decision_headers, ...).
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/request/responses.h"
#include "engine/accounts.h"
#include "engine/engine.h"
#include "engine/state_store.h"
#include "storage/audit/sqlite/sink.h"
#include "storage/audit_socket/socket_sink.h"
#include "tosgate/clock.h"
#include "tosgate/decision.h"
#include "tosgate/request.h"
#include "tosgate/tosgate.h"

namespace tosgate::capi {

constexpr const char* kDefaultPolicyName = "policy.yaml";

// Where an engine's policies come from; reload reads it again.
struct PolicySource {
  std::string dir;
  std::string yaml;
  std::string name = kDefaultPolicyName;
  bool from_text = false;
};

// Replaces *error with `msg`. Never throws: it is called from catch blocks.
void SetError(char** error, const char* msg) noexcept;
void SetError(char** error, const std::string& msg) noexcept;
// For catch blocks: what went wrong, without throwing again.
void SetCaught(char** error, const char* where) noexcept;

// tosgate_report_usage and tosgate_report_relayed_usage (`fn` names the
// caller in errors).
int ReportUsage(tosgate_engine* e, const char* decision_id, int64_t input_tokens,
                int64_t output_tokens, tosgate::engine::UsageSource source, const char* fn,
                char** error);

// Decides `req` into a decision from the calling thread's spares (or a new
// one), rendered, its headers routed (tosgate_decision_headers) and what it
// awaits read: the one way every check entry point ends.
tosgate_decision* Decide(tosgate_engine* e, const Request& req);

}  // namespace tosgate::capi

struct tosgate_config {
  tosgate::capi::PolicySource policies;
  bool have_policies = false;
  size_t state_max_entries = 1'000'000;
  std::string accounts_file;
  std::string audit_path;
  bool audit_sync = false;
  void* shm_base = nullptr;  // tosgate_config_set_state_shm
  size_t shm_bytes = 0;
  std::string audit_socket;  // tosgate_config_set_audit_socket
  bool audit_socket_async = false;  // tosgate_config_set_audit_socket_async
};

struct tosgate_engine {
  tosgate::SystemClock clock;
  std::unique_ptr<tosgate::engine::StateStore> state;
  tosgate::engine::MemoryAccountDirectory accounts;
  std::unique_ptr<tosgate::storage::SqliteAuditSink> audit;
  std::unique_ptr<tosgate::storage::SocketAuditSink> audit_socket;  // or records to a writer
  std::unique_ptr<tosgate::engine::Engine> engine;
  // Serializes reloads, so that the source and the published policies agree.
  std::mutex reload_mu;
  tosgate::capi::PolicySource source;
};

// Reused: tosgate_decision_destroy keeps a few per thread for the next
// checks, whose rendering then refills the same strings instead of
// allocating (HttpResponse hands its header strings out again).
struct tosgate_decision {
  tosgate::Decision d;
  tosgate::api::HttpResponse rendered;  // headers and problem+json, as the gateway sends them
  std::vector<tosgate_header> routed;   // `rendered.headers` with lengths and destinations
  int awaits = 0;                       // TOSGATE_AWAITS_* bits
  // Explain() is costly and rarely read: made once, on demand.
  mutable std::mutex explain_mu;
  mutable bool explained = false;
  mutable std::string explain;
};
