// AuditSink: where every decision goes. The engine builds one AuditRecord per
// decision and submits it; the sink owns durability (storage/ has SQLite).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>

#include "tosgate/status.h"

namespace tosgate::engine {

struct AuditRecord {
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
  std::string effect;       // allow | throttle | deny
  bool enforced = true;
  int status = 200;
  std::string reason;
  std::string rule_ids;     // JSON array of the deciding rule ids
  std::string matches;      // JSON array of every matched rule, shadow too
  double risk = 0;
  std::string policy_revision;
  std::string prompt_sha256;  // empty when there was no prompt
  int64_t latency_us = 0;
};

class AuditSink {
 public:
  virtual ~AuditSink() = default;
  // Accepts the record or says why it cannot (queue full past the wait,
  // store unavailable). Safe to call from many threads.
  virtual Status Submit(AuditRecord record) = 0;

  // Submits `record` and calls `done` once with the outcome. A sink that
  // can tell when the record is durable (storage/audit/sqlite/sink.h) calls it
  // then, possibly on its own thread; the default calls it at once with
  // Submit's Status. `done` must be quick and must not call back into the
  // sink's blocking methods.
  virtual void SubmitThen(AuditRecord record, std::function<void(Status)> done) {
    done(Submit(std::move(record)));
  }
};

}  // namespace tosgate::engine
