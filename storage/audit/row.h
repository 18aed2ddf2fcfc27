// AuditRow: an audit record as the stores keep it, every field as the text
// or number of its column, and ToAuditRow, the one place a typed
// engine::AuditRecord becomes those columns. Both stores (SQLite and
// PostgreSQL) render through it at Submit, the hash chain
// (storage/audit/chain.h) covers its fields, and what is read back from a
// store is an AuditRow again: rows written by older versions, or edited by
// someone, are kept as they are, never parsed into the typed record.
//
// The rendering is a stored format: the chain of every existing database
// depends on its bytes (tests/storage/audit_columns_test.cc pins them).
//
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/audit_sink.h"

namespace tosgate::storage {

struct AuditRow {
  std::string id;           // decision id
  int64_t time_ms = 0;      // wall clock
  std::string request_id;
  std::string account;
  std::string key_id;       // already hashed; never the key
  std::string org;
  std::string client_ip;
  std::string method;
  std::string path;
  std::string operation;
  std::string model;
  std::string effect;       // allow | throttle | deny | usage | admin
  bool enforced = true;
  int status = 200;
  std::string reason;
  std::string rule_ids;     // JSON array of the deciding rule ids
  std::string matches;      // JSON array of every matched rule, shadow too
  double risk = 0;
  std::string policy_revision;
  std::string prompt_sha256;  // empty when there was no prompt
  int64_t latency_us = 0;
  // W3C trace context, empty for records without (and for every record
  // written before it was added); after latency_us in the chain, and only
  // when either is set, so that older chains verify unchanged.
  std::string traceparent;
  std::string tracestate;
  // Cost budgets (nano-dollars), -1 without; after the trace context in
  // the chain, and only when either is set.
  int64_t cost_reserved_nano = -1;
  int64_t cost_settled_nano = -1;
};

// ["id1","id2"]: JSON strings, no spaces.
std::string RuleIdsJson(const std::vector<std::string>& ids);
// [{"rule":..,"action":..,"shadow":true|false,"detail":..},...], no spaces.
std::string MatchesJson(const std::vector<engine::AuditMatch>& matches);

// `record` as its columns: effect as its word (engine::EffectWord), rule ids
// and matches as the JSON above.
AuditRow ToAuditRow(engine::AuditRecord record);

}  // namespace tosgate::storage
