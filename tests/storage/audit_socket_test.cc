// Audit records over a Unix socket to one writer (storage/audit_socket/):
// the framing keeps every field, a record is acknowledged only when the
// writer's sink accepted it, and a writer that is gone is Unavailable, not
// a silent success.
#include <doctest/doctest.h>

#include <mutex>
#include <string>
#include <vector>

#include "storage/audit_socket/socket_sink.h"
#include "temp_dir.h"

using tosgate::Status;
using tosgate::engine::AuditRecord;
using tosgate::storage::AuditSocketServer;
using tosgate::storage::DecodeAuditRecord;
using tosgate::storage::EncodeAuditRecord;
using tosgate::storage::SocketAuditSink;

namespace {

// The writer's store, in memory: keeps what it accepts, refuses on demand.
class FakeSink final : public tosgate::engine::AuditSink {
 public:
  Status Submit(AuditRecord r) override {
    std::lock_guard lock(mu);
    if (refuse) return Status::Unavailable("disk full");
    kept.push_back(std::move(r));
    return Status::Ok();
  }
  std::mutex mu;
  bool refuse = false;
  std::vector<AuditRecord> kept;
};

AuditRecord Sample(int i) {
  AuditRecord r;
  r.id = "019ac5a1e2f0a4c123b1612dd272d1371c" + std::to_string(10 + i);
  r.time_ms = 1765000000000 + i;
  r.request_id = "req-\"quoted\"\n";
  r.account = "acct_1";
  r.key_id = "key:f8dc9db173eec64b";
  r.client_ip = "203.0.113.7";
  r.method = "POST";
  r.path = "/v1/chat/completions";
  r.operation = "chat";
  r.model = "m";
  r.effect = tosgate::Effect::kThrottle;
  r.enforced = false;
  r.status = 429;
  r.reason = "rate-limited";
  r.rule_ids = {"rate.rpm", "budget.tpm"};
  r.matches = {{"rate.rpm", tosgate::Action::kThrottle, true, "used 3 of 2"}};
  r.risk = 0.25;
  r.policy_revision = "6d10a98fd6ba";
  r.prompt_sha256 = std::string(64, 'a');
  r.latency_us = 17;
  if (i % 2 == 0) {  // with and without trace context
    r.traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    r.tracestate = "congo=t61rcWkgMzE";
    r.cost_reserved_nano = 5'000'000;  // and cost
    r.cost_settled_nano = 1'200'000;
  }
  return r;
}

}  // namespace

TEST_CASE("audit socket: a record's every field survives the frame") {
  const AuditRecord in = Sample(1);
  AuditRecord out;
  REQUIRE(DecodeAuditRecord(EncodeAuditRecord(in), &out).ok());
  CHECK(EncodeAuditRecord(out) == EncodeAuditRecord(in));
  CHECK(out.request_id == in.request_id);
  CHECK(out.effect == in.effect);
  CHECK(out.matches.size() == 1);
  CHECK(out.matches[0].shadow);
  CHECK(out.rule_ids == in.rule_ids);
  const AuditRecord traced = Sample(0);
  REQUIRE(DecodeAuditRecord(EncodeAuditRecord(traced), &out).ok());
  CHECK(out.traceparent == traced.traceparent);
  CHECK(out.tracestate == traced.tracestate);
  CHECK(out.cost_reserved_nano == 5'000'000);
  CHECK(out.cost_settled_nano == 1'200'000);
  CHECK_FALSE(DecodeAuditRecord("[1]", &out).ok());
  CHECK_FALSE(DecodeAuditRecord("{\"id\": 3}", &out).ok());
}

// The frame carries every field of AuditRecord by name. A field added to the
// record changes its size: add it to EncodeAuditRecord and DecodeAuditRecord
// (storage/audit_socket/socket_sink.cc) and to Sample() above, then update
// the size here.
TEST_CASE("audit socket: the frame knows every field of AuditRecord") {
  CHECK_MESSAGE(sizeof(AuditRecord) == 576,
                "AuditRecord changed: carry the new field in the audit socket's frame");
}

TEST_CASE("audit socket: acknowledged only when the writer's sink accepted it") {
  tosgate::test::TempDir dir;
  const std::string path = dir.path() + "/audit.sock";
  FakeSink store;
  SocketAuditSink sink(path, std::chrono::milliseconds(2000));
  CHECK(sink.Submit(Sample(0)).code() == Status::Code::kUnavailable);  // no writer yet

  auto server = AuditSocketServer::Start(path, &store);
  REQUIRE(server.ok());
  for (int i = 0; i < 3; ++i) CHECK(sink.Submit(Sample(i)).ok());
  {
    std::lock_guard lock(store.mu);
    REQUIRE(store.kept.size() == 3);
    CHECK(store.kept[2].id == Sample(2).id);
    store.refuse = true;
  }
  CHECK(sink.Submit(Sample(3)).code() == Status::Code::kUnavailable);  // refused
  store.refuse = false;
  CHECK(sink.Submit(Sample(4)).ok());
  CHECK((*server)->records() == 4);

  // The writer goes away: not acknowledged; it comes back: reconnected.
  (*server)->Stop();
  CHECK_FALSE(sink.Submit(Sample(5)).ok());
  auto again = AuditSocketServer::Start(path, &store);
  REQUIRE(again.ok());
  CHECK(sink.Submit(Sample(6)).ok());
  std::lock_guard lock(store.mu);
  CHECK(store.kept.size() == 5);
  CHECK(store.kept.back().id == Sample(6).id);
}

TEST_CASE("audit socket: a frame is valid JSON whatever bytes a field holds") {
  AuditRecord in = Sample(1);
  in.matches[0].detail = std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ") + "bad:\xff\xc3(\xed\xa0\x80 ctl:\x01\x7f";
  in.reason = "tab\there \\ \"q\"";
  AuditRecord out;
  REQUIRE(DecodeAuditRecord(EncodeAuditRecord(in), &out).ok());
  // Valid UTF-8 stays as it is; each byte that is not becomes U+FFFD.
  CHECK(out.matches[0].detail ==
        std::string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 ") +
            "bad:\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd ctl:\x01\x7f");
  CHECK(out.reason == in.reason);
  CHECK(out.risk == in.risk);
}

TEST_CASE("audit socket, async: records wait for the writer, then every one arrives in order") {
  tosgate::test::TempDir dir;
  const std::string path = dir.path() + "/audit.sock";
  FakeSink store;
  SocketAuditSink sink(path, std::chrono::milliseconds(2000), SocketAuditSink::Mode::kAsync);
  // No writer yet: queued, not refused; a flush says they were not sent.
  for (int i = 0; i < 3; ++i) CHECK(sink.Submit(Sample(i)).ok());
  CHECK_FALSE(sink.Flush());

  auto server = AuditSocketServer::Start(path, &store);
  REQUIRE(server.ok());
  // Enough frames to fill the socket both ways many times over: the sender
  // reads the writer's answers while it sends, or this would never end.
  constexpr int kMany = 5000;
  int queued = 3;
  for (int i = 3; i < kMany; ++i) queued += sink.Submit(Sample(i)).ok();
  REQUIRE(queued == kMany);
  CHECK(sink.Flush());
  CHECK(sink.acknowledged() == kMany);
  CHECK(sink.refused() == 0);
  CHECK(sink.lost() == 0);
  std::lock_guard lock(store.mu);
  REQUIRE(store.kept.size() == kMany);
  for (int i = 0; i < kMany; i += 499) CHECK(store.kept[i].id == Sample(i).id);
}

TEST_CASE("audit socket, async: refusals are counted, and the sink flushes when destroyed") {
  tosgate::test::TempDir dir;
  const std::string path = dir.path() + "/audit.sock";
  FakeSink store;
  auto server = AuditSocketServer::Start(path, &store);
  REQUIRE(server.ok());
  {
    SocketAuditSink sink(path, std::chrono::milliseconds(2000), SocketAuditSink::Mode::kAsync);
    {
      std::lock_guard lock(store.mu);
      store.refuse = true;
    }
    for (int i = 0; i < 5; ++i) CHECK(sink.Submit(Sample(i)).ok());
    CHECK(sink.Flush());
    CHECK(sink.refused() == 5);
    {
      std::lock_guard lock(store.mu);
      store.refuse = false;
    }
    for (int i = 5; i < 8; ++i) CHECK(sink.Submit(Sample(i)).ok());
  }  // destroyed: what was queued is sent and answered first
  CHECK((*server)->records() == 3);
  std::lock_guard lock(store.mu);
  CHECK(store.kept.size() == 3);
}

TEST_CASE("audit socket: the writer's one-pass reader reads what nlohmann reads, or defers to it") {
  // As the encoder writes it, and with what JSON also allows: spaces, other
  // key orders, escapes the encoder does not write (\u0041, \/, \u20ac).
  const std::string head =
      R"({ "time_ms" : 5, "id":"a\/b\u0041", "request_id":"r", "account":"acct", "key_id":"k",)"
      R"( "org":"", "client_ip":"203.0.113.7", "method":"POST", "path":"/v1/x", "operation":"chat",)"
      R"( "model":"m", "kind":0, "effect":2, "enforced":false, "status":403, "reason":"caf\u00e9 \u20ac",)"
      R"( "rule_ids":["a","b"], "matches":[{"detail":"d","shadow":true,"action":2,"rule":"a"}],)"
      R"( "risk":0.5, "policy_revision":"p", "prompt_sha256":"", "latency_us":7)";
  AuditRecord out;
  REQUIRE(DecodeAuditRecord(head + "}", &out).ok());
  CHECK(out.id == "a/bA");
  CHECK(out.reason == "caf\xc3\xa9 \xe2\x82\xac");
  CHECK(out.effect == tosgate::Effect::kDeny);
  CHECK_FALSE(out.enforced);
  CHECK(out.matches.size() == 1);
  CHECK(out.matches[0].shadow);
  CHECK(out.matches[0].action == tosgate::Action::kDeny);
  CHECK(out.cost_reserved_nano == -1);
  REQUIRE(DecodeAuditRecord(head + R"(, "cost_reserved_nano": 9, "traceparent": "t"})", &out).ok());
  CHECK(out.cost_reserved_nano == 9);
  CHECK(out.traceparent == "t");
  // A required field missing, a value of another type, trailing bytes:
  // refused, as before.
  CHECK_FALSE(DecodeAuditRecord(R"({"id":"x"})", &out).ok());
  CHECK_FALSE(DecodeAuditRecord(head + R"(, "status": "403"})", &out).ok());
  CHECK_FALSE(DecodeAuditRecord(head + "} x", &out).ok());
  CHECK_FALSE(DecodeAuditRecord(head, &out).ok());
}
