// An admin server on loopback with one token per role, an in-memory policy
// versions store, an accounts registry and review queue in a temp dir, an
// audit store (SQLite) that also receives the admin events, and a FakeClock.
#pragma once

#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
#define CPPHTTPLIB_OPENSSL_SUPPORT
#endif
#ifndef CPPHTTPLIB_ZLIB_SUPPORT
#define CPPHTTPLIB_ZLIB_SUPPORT
#endif
#ifndef CPPHTTPLIB_BROTLI_SUPPORT
#define CPPHTTPLIB_BROTLI_SUPPORT
#endif
#include <doctest/doctest.h>
#include <httplib.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "api/admin/admin_server.h"
#include "api/admin/metrics.h"
#include "engine/sha256.h"
#include "storage/accounts/registry.h"
#include "policies/pack_resolver.h"
#include "storage/admin/policy_versions.h"
#include "storage/admin/review_queue.h"
#include "storage/audit/sqlite/sink.h"
#include "tests/api/test_engine.h"
#include "tests/storage/temp_dir.h"

namespace tosgate::test {

inline std::string TokenFor(api::admin::Role r) {
  return "tok-" + std::string(api::admin::RoleName(r));
}

// A small valid policy file.
inline std::string PolicyYaml(int rpm) {
  return "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\nrules:\n"
         "  - id: rate.rpm\n    kind: rate_limit\n    scope: [account]\n"
         "    limit: {requests: " + std::to_string(rpm) + ", per: 1m}\n    action: throttle\n";
}

struct AdminFixture {
  TempDir dir;
  TestEngine te;
  api::admin::AdminMetrics metrics;
  std::unique_ptr<storage::SqliteAuditSink> audit;
  std::unique_ptr<storage::PolicyVersions> versions;
  // One pack, "ops", that bundles may import (tests/admin/policies_test.cc).
  policies::MemoryPackResolver packs;
  std::unique_ptr<storage::AccountsRegistry> registry;
  std::unique_ptr<storage::ReviewQueue> reviews;
  std::unique_ptr<api::AdminServer> server;

  // `backtest_capture`: the traffic POST /v1/admin/policies/backtest replays.
  explicit AdminFixture(api::AdminServerOptions opts = {}, bool with_stores = true,
                        std::string backtest_capture = "") {
    if (with_stores) {
      storage::SqliteAuditOptions ao;
      ao.path = dir.path() + "/audit.db";
      ao.durability = storage::Durability::kSync;
      auto a = storage::SqliteAuditSink::Open(ao);
      REQUIRE_MESSAGE(a.ok(), a.status().ToString());
      audit = std::move(a).value();
      auto v = storage::PolicyVersions::Open(":memory:", &te.clock);
      REQUIRE(v.ok());
      versions = std::move(v).value();
      auto r = storage::AccountsRegistry::Open({.path = dir.path() + "/accounts.db", .clock = &te.clock});
      REQUIRE_MESSAGE(r.ok(), r.status().ToString());
      registry = std::move(r).value();
      auto q = storage::ReviewQueue::Open(dir.path() + "/accounts.db", &te.clock);
      REQUIRE(q.ok());
      reviews = std::move(q).value();
    }
    opts.listen = "127.0.0.1:0";
    opts.threads = 2;
    for (api::admin::Role r : api::admin::kAllRoles)
      opts.tokens.push_back({std::string(api::admin::RoleName(r)) + "-token",
                             engine::Sha256Hex(TokenFor(r)), r});
    api::admin::AdminServices s;
    s.engine = &te.engine;
    s.clock = &te.clock;
    s.audit = audit.get();
    s.versions = versions.get();
    packs.Add("ops", {{"ops.yaml", "apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: ops}\n"
                                   "operations:\n  chat: {methods: [POST], paths: [/v1/chat/completions]}\n"}});
    s.packs = &packs;
    s.registry = registry.get();
    s.reviews = reviews.get();
    s.audit_db = audit ? dir.path() + "/audit.db" : "";
    s.metrics = &metrics;
    s.backtest_capture = std::move(backtest_capture);
    auto srv = api::AdminServer::Start(opts, s);
    REQUIRE_MESSAGE(srv.ok(), srv.status().ToString());
    server = std::move(srv).value();
  }

  httplib::Client Client() const {
    httplib::Client c("127.0.0.1", server->port());
    c.set_read_timeout(10, 0);
    return c;
  }
  httplib::Headers Auth(api::admin::Role r) const {
    return {{"Authorization", "Bearer " + TokenFor(r)}};
  }
  // One request as `role`; body JSON for POST/PATCH.
  httplib::Result Call(api::admin::Role role, const std::string& method, const std::string& path,
                       const std::string& body = "") const {
    httplib::Client c = Client();
    const auto h = Auth(role);
    if (method == "GET") return c.Get(path.c_str(), h);
    if (method == "DELETE") return c.Delete(path.c_str(), h);
    if (method == "PATCH") return c.Patch(path.c_str(), h, body, "application/json");
    return c.Post(path.c_str(), h, body, "application/json");
  }
  static nlohmann::json J(const httplib::Result& r) {
    REQUIRE(r);
    return nlohmann::json::parse(r->body, nullptr, false);
  }
  // Decisions the audit store holds (admin events included), after a flush.
  uint64_t AuditRows() {
    REQUIRE(audit->Flush().ok());
    return audit->stats().written;
  }
};

}  // namespace tosgate::test
