// The TAXII 2.1 poller (server/taxii_poller.h) against a TAXII server on
// loopback whose answers the test writes: pages by next and added_after,
// newer versions (revocation) replace older ones, expiry by the injected
// clock, and what a bad source sends (not JSON, the wrong media type,
// oversize, malformed and unknown objects, no answer at all) is refused or
// ignored with a message while the indicators fetched before stay; then an
// `indicators` rule reading the feed raises a request's account.
#include <doctest/doctest.h>

#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "engine/distill/behavior_store.h"
#include "engine/engine.h"
#include "engine/state_store.h"
#include "policies/loader.h"
#include "policies/stix.h"
#include "server/config.h"
#include "server/taxii_poller.h"
#include "tests/storage/temp_dir.h"
#include "tosgate/clock.h"

namespace tosgate::test {
namespace {

using nlohmann::json;
constexpr int64_t kT0 = 1'796'000'000'000;
constexpr int64_t kDay = 86'400'000;

// The objects of one campaign's bundle over `ranges`, valid ten days.
json Objects(const std::vector<std::string>& ranges, int64_t now, int confidence = 80) {
  policies::StixCampaignExport c;
  c.key = "k";
  c.name = "campaign A";
  c.confidence = confidence;
  c.address_ranges = ranges;
  policies::StixExportOptions o;
  o.producer = "A";
  o.now_ms = now;
  o.valid_for_ms = 10 * kDay;
  return json::parse(*policies::WriteStixBundle({c}, o))["objects"];
}

// A TAXII server whose pages the test sets: each GET of the objects
// endpoint answers the next queued (status, content type, body, header).
struct FakeTaxii {
  struct Answer {
    int status = 200;
    std::string type = "application/taxii+json;version=2.1";
    std::string body;
    std::string added_last;
  };
  httplib::Server server;
  std::thread thread;
  int port = 0;
  std::mutex mu;
  std::vector<Answer> answers;
  std::vector<std::string> queries, auth;

  FakeTaxii() {
    server.Get("/taxii2/r/collections/c1/objects/", [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard<std::mutex> lock(mu);
      std::string q;
      for (const auto& [k, v] : req.params) q += (q.empty() ? "" : "&") + k + "=" + v;
      queries.push_back(q);
      auth.push_back(req.get_header_value("Authorization"));
      if (answers.empty()) {
        res.status = 200;
        res.set_content("{\"more\": false}", "application/taxii+json;version=2.1");
        return;
      }
      Answer a = answers.front();
      answers.erase(answers.begin());
      res.status = a.status;
      if (!a.added_last.empty()) res.set_header("X-TAXII-Date-Added-Last", a.added_last);
      res.set_content(a.body, a.type.c_str());
    });
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::yield();
  }
  ~FakeTaxii() {
    server.stop();
    thread.join();
  }
  void Page(const json& objects, bool more, const std::string& next, int64_t added_last_ms) {
    json env = {{"more", more}, {"objects", objects}};
    if (!next.empty()) env["next"] = next;
    std::lock_guard<std::mutex> lock(mu);
    answers.push_back({200, "application/taxii+json;version=2.1", env.dump(), policies::StixTimestamp(added_last_ms)});
  }
  void Raw(Answer a) {
    std::lock_guard<std::mutex> lock(mu);
    answers.push_back(std::move(a));
  }
  server::TaxiiSourceConfig Source(const std::string& feed) const {
    server::TaxiiSourceConfig s;
    s.name = feed;
    s.url = "http://127.0.0.1:" + std::to_string(port) + "/taxii2/r/";
    s.collection = "c1";
    s.weight = 0.5;
    s.timeout = std::chrono::milliseconds(2000);
    return s;
  }
};

struct Log {
  std::mutex mu;
  std::string text;
  std::function<void(const std::string&)> sink() {
    return [this](const std::string& l) {
      std::lock_guard<std::mutex> lock(mu);
      text += l + "\n";
    };
  }
};

size_t InForce(const server::TaxiiPoller& p, int64_t now) {
  auto set = p.feed().set();
  if (!set) return 0;
  size_t n = 0;
  for (const auto& e : set->entries())
    if ((!e.valid_from_ms || now >= e.valid_from_ms) && (!e.valid_until_ms || now < e.valid_until_ms)) ++n;
  return n;
}

TEST_CASE("TAXII poller: pages by next, asks for what came after, keeps the newest version, drops the expired") {
  FakeTaxii taxii;
  FakeClock clock(kT0);
  Log log;
  const json all = Objects({"198.51.100.0/24", "192.0.2.0/24"}, kT0);  // 7 objects
  json first = json::array(), second = json::array();
  for (size_t i = 0; i < all.size(); ++i) (i < 4 ? first : second).push_back(all[i]);
  taxii.Page(first, true, "p2", kT0 + 4);
  taxii.Page(second, false, "", kT0 + 7);
  server::TaxiiPoller poller(taxii.Source("poll-pages"), "secret-token", &clock, log.sink());
  REQUIRE(poller.PollOnce().ok());
  CHECK(InForce(poller, kT0) == 2);
  CHECK(poller.feed().set()->entries()[0].weight == doctest::Approx(0.5 * 0.8));
  CHECK(poller.stats().objects == 7);
  REQUIRE(taxii.queries.size() == 2);
  CHECK(taxii.queries[0] == "");
  CHECK(taxii.queries[1].find("next=p2") != std::string::npos);
  CHECK(taxii.auth[0] == "Bearer secret-token");

  // The next poll asks for what was added after the last page; the partner
  // revokes one range (a newer version) and nothing else changes.
  json revoked = json::array();
  for (const json& o : all)
    if (o["type"] == "indicator" && o["pattern"].get<std::string>().find("192.0.2.0") != std::string::npos) {
      json r = o;
      r["revoked"] = true;
      r["modified"] = policies::StixTimestamp(kT0 + 1000);
      revoked.push_back(r);
    }
  REQUIRE(revoked.size() == 1);
  taxii.Page(revoked, false, "", kT0 + 8);
  // An older copy of an indicator arriving later does not undo it.
  taxii.Page(json::array({all[3]}), false, "", kT0 + 9);
  clock.advance_ms(60'000);
  REQUIRE(poller.PollOnce().ok());
  REQUIRE(poller.PollOnce().ok());
  CHECK(taxii.queries[2] == "added_after=" + policies::StixTimestamp(kT0 + 7));
  CHECK(InForce(poller, clock.wall_ms()) == 1);
  CHECK(log.text.find("revoked") != std::string::npos);

  // Eleven days on, the rest has expired: forgotten at the next poll.
  clock.advance_ms(11 * kDay);
  REQUIRE(poller.PollOnce().ok());
  CHECK(poller.feed().set()->size() == 0);
  CHECK(poller.stats().objects < 7);
}

TEST_CASE("TAXII poller: a bad answer is refused with a message and the indicators fetched before stay") {
  FakeTaxii taxii;
  FakeClock clock(kT0);
  Log log;
  server::TaxiiSourceConfig src = taxii.Source("poll-bad");
  src.max_bytes = 64 * 1024;
  taxii.Page(Objects({"198.51.100.0/24"}, kT0), false, "", kT0 + 1);
  server::TaxiiPoller poller(src, "", &clock, log.sink());
  REQUIRE(poller.PollOnce().ok());
  REQUIRE(InForce(poller, kT0) == 1);
  const auto before = poller.feed().set();

  auto refused = [&](FakeTaxii::Answer a, const std::string& why) {
    taxii.Raw(std::move(a));
    const Status s = poller.PollOnce();
    INFO(s.message());
    CHECK(!s.ok());
    CHECK(s.message().find(why) != std::string::npos);
    CHECK(poller.feed().set() == before);  // not rebuilt: the same set serves
  };
  refused({200, "application/taxii+json;version=2.1", "{not json", ""}, "not a TAXII envelope");
  refused({200, "text/html", "<html></html>", ""}, "text/html, not application/taxii+json");
  refused({401, "application/taxii+json;version=2.1", "{\"title\": \"no\"}", ""}, "HTTP 401");
  refused({200, "application/taxii+json;version=2.1", std::string(100 * 1024, ' '), ""}, "over max_bytes");
  refused({200, "application/taxii+json;version=2.1", "{\"more\": false, \"objects\": 7}", ""},
          "objects is not a list");
  CHECK(poller.stats().failures == 5);

  // Malformed patterns, unknown types and observables, a too-wide range:
  // each ignored with a message; the good indicator loads.
  json objs = Objects({"203.0.113.0/24"}, kT0);
  json bad = objs[3];  // the indicator
  REQUIRE(bad["type"] == "indicator");
  auto variant = [&](const std::string& id, const std::string& pattern) {
    json v = bad;
    v["id"] = "indicator--" + id;
    v["pattern"] = pattern;
    objs.push_back(v);
  };
  variant("00000000-0000-4000-8000-000000000001", "[ipv4-addr:value = '1.2.3.4' AND");
  variant("00000000-0000-4000-8000-000000000002", "[file:hashes.MD5 = 'abc']");
  variant("00000000-0000-4000-8000-000000000003", "[ipv4-addr:value ISSUBSET '10.0.0.0/4']");
  objs.push_back({{"type", "malware"}, {"id", "malware--00000000-0000-4000-8000-000000000004"}, {"spec_version", "2.1"}});
  taxii.Page(objs, false, "", kT0 + 2);
  REQUIRE(poller.PollOnce().ok());
  CHECK(InForce(poller, kT0) == 2);
  CHECK(poller.stats().ignored == 4);
  CHECK(log.text.find("malformed pattern") != std::string::npos);
  CHECK(log.text.find("file:hashes.MD5 is not one tosgate matches") != std::string::npos);
  CHECK(log.text.find("wider than /8") != std::string::npos);
  CHECK(log.text.find("type \"malware\" is not one tosgate reads") != std::string::npos);

  // A collection larger than max_objects keeps what fits, says so.
  server::TaxiiSourceConfig small = taxii.Source("poll-small");
  small.max_objects = 3;
  server::TaxiiPoller capped(small, "", &clock, log.sink());
  taxii.Page(Objects({"198.51.100.0/24"}, kT0), false, "", kT0 + 3);
  const Status s = capped.PollOnce();
  CHECK(s.message().find("over max_objects") != std::string::npos);
  CHECK(capped.stats().objects == 3);
}

TEST_CASE("TAXII poller: a source that never answers costs one timeout, not a stall") {
  // A socket that listens and never accepts: the connection is queued, the
  // answer never comes.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(listen(fd, 4) == 0);
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  server::TaxiiSourceConfig src;
  src.name = "poll-silent";
  src.url = "http://127.0.0.1:" + std::to_string(ntohs(a.sin_port)) + "/taxii2/r/";
  src.collection = "c1";
  src.timeout = std::chrono::milliseconds(100);
  FakeClock clock(kT0);
  Log log;
  server::TaxiiPoller poller(src, "", &clock, log.sink());
  const auto start = std::chrono::steady_clock::now();
  const Status s = poller.PollOnce();
  const auto took = std::chrono::steady_clock::now() - start;
  close(fd);
  CHECK(!s.ok());
  CHECK(s.message().find("request failed") != std::string::npos);
  CHECK(took < std::chrono::seconds(2));
  CHECK(poller.feed().set() == nullptr);
}

TEST_CASE("an indicators rule reading a feed: matches once the poller publishes, weighted by trust") {
  FakeTaxii taxii;
  FakeClock clock(kT0 + 1000);
  Log log;
  const std::string policy = std::string("apiVersion: tosgate/v1\nkind: Policy\nmetadata: {name: t}\n") +
                             "operations:\n  chat: {methods: [POST], paths: [/v1/chat/completions]}\n"
                             "rules:\n"
                             "  - id: intel\n    kind: indicators\n"
                             "    sources: [{name: a, feed: rule-feed, weight: 0.5}]\n"
                             "    raise: {rule: distill}\n";
  policies::LoadResult r = policies::LoadPolicyFiles({{"p.yaml", policy}});
  REQUIRE(r.snapshot);
  auto state = engine::NewMemoryStateStore();
  auto behavior = engine::NewMemoryBehaviorStore();
  engine::Engine eng(engine::EngineOptions{&clock, state.get(), nullptr, nullptr, 1000, behavior.get()});
  eng.Publish(r.snapshot);
  Request q;
  q.method = "POST";
  q.path = "/v1/chat/completions";
  q.client_ip = "198.51.100.23";
  Account account;
  account.id = "fresh-1";
  q.account = account;
  CHECK(eng.Check(q).matches.empty());  // nothing polled yet
  taxii.Page(Objects({"198.51.100.0/24"}, kT0), false, "", kT0 + 1);
  server::TaxiiPoller poller(taxii.Source("rule-feed"), "", &clock, log.sink());
  REQUIRE(poller.PollOnce().ok());
  Decision d = eng.Check(q);
  REQUIRE(d.matches.size() == 1);
  CHECK(d.matches[0].rule_id == "intel");
  CHECK(d.matches[0].detail.find("matches rule-feed's indicator") == 0);
  CHECK(d.matches[0].detail.find("weight 0.20") != std::string::npos);  // 0.5 trust x 0.8 x 0.5
  CHECK(d.effect == Effect::kAllow);
}

TEST_CASE("serve config: indicators.export and indicators.sources") {
  TempDir dir;
  const std::string path = dir.Write("c.yaml",
                                     "indicators:\n"
                                     "  export: {producer: A, rule: distill, min_risk: 0.9, refresh_seconds: 5}\n"
                                     "  sources:\n"
                                     "    - {name: a, url: 'http://127.0.0.1:9/taxii2/tosgate/', collection: c1,\n"
                                     "       weight: 0.7, interval_seconds: 30}\n"
                                     "    - {name: a, url: 'ftp://x/', collection: c}\n");
  server::ServeConfig cfg;
  std::vector<server::ConfigError> errors = server::LoadServeConfig(path, &cfg);
  std::string all;
  for (const auto& e : errors) all += e.ToString() + "\n";
  CHECK(all.find("indicators.sources[1].url: must start with http:// or https://") != std::string::npos);
  CHECK(all.find("indicators.sources[1].name: \"a\" is used twice") != std::string::npos);
  CHECK(errors.size() == 2);
  CHECK(cfg.indicators.publish.enabled);
  CHECK(cfg.indicators.publish.min_risk == 0.9);
  CHECK(cfg.indicators.publish.refresh == std::chrono::seconds(5));
  REQUIRE(cfg.indicators.sources.size() == 2);
  CHECK(cfg.indicators.sources[0].weight == 0.7);
  CHECK(cfg.indicators.sources[0].interval == std::chrono::seconds(30));
}

}  // namespace
}  // namespace tosgate::test
