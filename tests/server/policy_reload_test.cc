// serve's policy reload (server/policy_reload.h) when the policy directory
// vanishes, empties or is caught half copied: the active snapshot stays,
// the failure is logged and counted, and requests keep being decided by it,
// also while reloads run.
#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "server/policy_reload.h"
#include "server/policy_source.h"
#include "engine/engine.h"
#include "tosgate/clock.h"

namespace tosgate::server {
namespace {

namespace fs = std::filesystem;

constexpr char kDeny[] = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: reload}
rules:
  - id: purpose.no-training
    kind: attribute
    when: {field: request.purpose, eq: model-training}
    action: deny
)";
constexpr char kExtra[] = R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: extra}
rules:
  - id: purpose.no-scraping
    kind: attribute
    when: {field: request.purpose, eq: scraping}
    action: deny
)";

struct Fixture {
  std::string dir;
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine{engine::EngineOptions{&clock, state.get(), nullptr, nullptr}};
  std::ostringstream log;
  std::unique_ptr<PolicyReloader> reloader;

  Fixture() {
    char tmpl[] = "/tmp/tosgate-reload-XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    dir = std::string(tmpl) + "/policies";
    fs::create_directory(dir);
    Write("base.yaml", kDeny);
    policies::LoadResult first = LoadPolicySource(dir);
    REQUIRE(first.errors.empty());
    engine.Publish(first.snapshot);
    reloader = std::make_unique<PolicyReloader>([this] { return LoadPolicySource(dir); },
                                                [this] { return PolicyDirFingerprint(dir); },
                                                engine, log);
  }
  ~Fixture() {
    std::error_code ec;
    fs::remove_all(fs::path(dir).parent_path(), ec);
  }
  void Write(const std::string& name, const std::string& content) {
    std::ofstream(dir + "/" + name) << content;
  }
  Effect Decide(const std::string& purpose) {
    Request r;
    r.method = "POST";
    r.path = "/v1/chat/completions";
    r.operation = "chat";  // the sets define no operations: named, not unclassified
    r.purpose = purpose;
    return engine.Check(r).effect;
  }
  std::string revision() { return engine.snapshot()->revision; }
};

TEST_CASE("reload: a vanished policy directory keeps the active revision, logged and counted") {
  Fixture f;
  const std::string before = f.revision();
  fs::remove_all(f.dir);
  CHECK_FALSE(f.reloader->Reload("SIGHUP"));
  CHECK(f.revision() == before);
  CHECK(f.reloader->rejected() == 1);
  CHECK(f.reloader->reloads() == 0);
  CHECK_MESSAGE(f.log.str().find("policy directory does not exist") != std::string::npos, f.log.str());
  CHECK(f.log.str().find("reload (SIGHUP) rejected, 1 error; revision " + before + " stays active") !=
        std::string::npos);
  CHECK(f.Decide("model-training") == Effect::kDeny);  // still enforced
  CHECK(f.Decide("chatbot") == Effect::kAllow);

  // An empty directory in its place is refused too, never an empty policy.
  fs::create_directory(f.dir);
  CHECK_FALSE(f.reloader->Reload("SIGHUP"));
  CHECK(f.log.str().find("no policy files") != std::string::npos);
  CHECK(f.Decide("model-training") == Effect::kDeny);

  // Back with one more rule: published.
  f.Write("base.yaml", kDeny);
  f.Write("extra.yaml", kExtra);
  CHECK(f.reloader->Reload("SIGHUP"));
  CHECK(f.revision() != before);
  CHECK(f.Decide("scraping") == Effect::kDeny);
  CHECK(f.reloader->rejected() == 2);
  CHECK(f.reloader->reloads() == 1);
}

TEST_CASE("reload: requests are decided by a whole snapshot while the directory comes and goes") {
  Fixture f;
  std::atomic<bool> stop{false};
  std::atomic<int> decided{0}, wrong{0};
  std::thread requests([&] {
    while (!stop.load()) {
      if (f.Decide("model-training") != Effect::kDeny) ++wrong;
      ++decided;
    }
  });
  for (int i = 0; i < 20; ++i) {
    if (i % 2 == 0) {
      fs::remove_all(f.dir);
    } else {
      fs::create_directory(f.dir);
      f.Write("base.yaml", kDeny);
    }
    (void)f.reloader->Reload("SIGHUP");
  }
  // Let the checker overlap the reloads at least a little, bounded.
  for (int spin = 0; decided.load() < 100 && spin < 1'000'000; ++spin) std::this_thread::yield();
  stop = true;
  requests.join();
  CHECK(wrong.load() == 0);
  CHECK(decided.load() > 0);
  CHECK(f.reloader->rejected() == 10);
  CHECK(f.reloader->reloads() == 10);
}

TEST_CASE("reload: --watch loads a change only once it held still for a tick") {
  Fixture f;
  const std::string before = f.revision();
  CHECK_FALSE(f.reloader->WatchTick());  // nothing changed
  // Half way through a copy: the new rule file is there, changing.
  f.Write("extra.yaml", "apiVersion: tosgate/v1\nkind: Pol");
  CHECK_FALSE(f.reloader->WatchTick());  // changed since the last tick: wait
  f.Write("extra.yaml", kExtra);
  CHECK_FALSE(f.reloader->WatchTick());  // changed again: wait
  CHECK(f.revision() == before);
  CHECK(f.reloader->WatchTick());  // the same as a tick ago: load
  CHECK(f.Decide("scraping") == Effect::kDeny);
  CHECK_FALSE(f.reloader->WatchTick());  // loaded; nothing new
  CHECK(f.reloader->rejected() == 0);

  // The directory removed: once it stays gone, one rejected reload, logged.
  fs::remove_all(f.dir);
  CHECK_FALSE(f.reloader->WatchTick());
  CHECK_FALSE(f.reloader->WatchTick());
  CHECK_FALSE(f.reloader->WatchTick());
  CHECK(f.reloader->rejected() == 1);
  CHECK(f.Decide("scraping") == Effect::kDeny);
}

}  // namespace
}  // namespace tosgate::server
