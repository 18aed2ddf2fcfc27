// Audit fields are bounded: a client cannot write the body limit into every
// record through the model, request id, path or any other field it sends.
#include "storage/audit/fields.h"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "audit_test_support.h"
#include "storage/audit/reader.h"
#include "storage/audit/verify.h"
#include "storage/audit/postgres/sink.h"
#include "temp_dir.h"

namespace tosgate::storage {
namespace {

using audit_test::OpenSink;
using audit_test::Rec;

const std::string kEllipsis = "\xe2\x80\xa6";

bool ValidUtf8(const std::string& s) {
  std::string copy = s;
  return !MakeValidUtf8(&copy);
}

bool EndsWith(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

TEST_CASE("a field within its bound is kept byte for byte") {
  std::string s(kAuditTextMax, 'm');
  CHECK(!BoundAuditText(&s, kAuditTextMax));
  CHECK(s == std::string(kAuditTextMax, 'm'));
}

TEST_CASE("a 100 KB field is cut to its bound with a marker saying how much went") {
  const std::string big(100 * 1024, 'x');
  std::string s = big;
  REQUIRE(BoundAuditText(&s, kAuditTextMax));
  CHECK(s.size() <= kAuditTextMax);
  const size_t kept = s.find(kEllipsis);
  REQUIRE(kept != std::string::npos);
  CHECK(s.substr(0, kept) == big.substr(0, kept));
  CHECK(s.substr(kept) == kEllipsis + "[+" + std::to_string(big.size() - kept) + " bytes]");
}

TEST_CASE("the cut falls on a UTF-8 character boundary") {
  for (const std::string ch : {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"}) {
    for (size_t pad = 0; pad < 4; ++pad) {
      std::string s = std::string(pad, 'a');
      while (s.size() < 2000) s += ch;
      REQUIRE(BoundAuditText(&s, kAuditTextMax));
      CHECK(s.size() <= kAuditTextMax);
      CHECK_MESSAGE(ValidUtf8(s), "char of " << ch.size() << " bytes after " << pad);
    }
  }
}

TEST_CASE("every client field of a record is bounded, the path at 1024") {
  AuditRow r = ToAuditRow(Rec("d1"));
  const std::string big(100 * 1024, 'q');
  for (std::string* f : {&r.request_id, &r.account, &r.key_id, &r.org, &r.client_ip, &r.method,
                         &r.operation, &r.model, &r.reason, &r.path})
    *f = big;
  BoundAuditRecord(&r);
  for (const std::string* f : {&r.request_id, &r.account, &r.key_id, &r.org, &r.client_ip,
                               &r.method, &r.operation, &r.model, &r.reason}) {
    CHECK(f->size() <= kAuditTextMax);
    CHECK(f->find(kEllipsis + "[+") != std::string::npos);
  }
  CHECK(r.path.size() <= kAuditPathMax);
  CHECK(r.path.size() > kAuditTextMax);
  CHECK(EndsWith(r.path, " bytes]"));
  CHECK(r.id == "d1");
}

TEST_CASE("oversized rule matches stay valid JSON within their bound") {
  AuditRow r = ToAuditRow(Rec("d1"));
  nlohmann::json matches = nlohmann::json::array();
  for (int i = 0; i < 400; ++i)
    matches.push_back({{"rule", "r" + std::to_string(i)},
                       {"action", "deny"},
                       {"shadow", false},
                       {"detail", std::string(5000, 'z')}});
  r.matches = matches.dump();
  BoundAuditRecord(&r);
  CHECK(r.matches.size() <= kAuditJsonMax);
  const auto back = nlohmann::json::parse(r.matches, nullptr, false);
  REQUIRE(!back.is_discarded());
  REQUIRE(back.is_array());
  CHECK(back[0]["rule"] == "r0");
  CHECK(back[0]["detail"].get<std::string>().size() <= kAuditTextMax);
  CHECK(back.back().get<std::string>().find("elements]") != std::string::npos);
}

TEST_CASE("the SQLite store keeps a 100 KB model bounded with the marker, and verifies") {
  test::TempDir dir;
  const std::string path = dir.File("audit.db");
  engine::AuditRecord r = Rec("d1");
  r.model = std::string(100 * 1024, 'g');
  r.request_id = std::string(50 * 1024, 'i');
  {
    auto sink = OpenSink({.path = path});
    REQUIRE(sink->Submit(r).ok());
    REQUIRE(sink->Close().ok());
  }
  DecisionQuery all;
  all.limit = 0;
  auto rows = ReadDecisions(path, all);
  REQUIRE(rows.ok());
  REQUIRE(rows->size() == 1);
  const AuditRow& got = (*rows)[0].record;
  CHECK(got.model.size() <= kAuditTextMax);
  CHECK(got.model.rfind("ggg", 0) == 0);
  CHECK(got.model.find(kEllipsis + "[+") != std::string::npos);
  CHECK(got.request_id.size() <= kAuditTextMax);
  auto v = VerifyAuditStore(path);
  REQUIRE(v.ok());
  CHECK(v->ok);
}

}  // namespace
}  // namespace tosgate::storage
