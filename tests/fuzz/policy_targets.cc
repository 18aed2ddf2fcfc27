// Fuzz entries for what a policy author writes: policy files and policy
// test files.
#include <sstream>
#include <string>
#include <string_view>

#include "api/request/request_description.h"
#include "engine/engine.h"
#include "engine/state_store.h"
#include "policies/builtin/builtin_packs.h"
#include "policies/loader.h"
#include "policies/test_file.h"
#include "policies/test_runner.h"
#include "tests/fuzz/fuzz_targets.h"
#include "tosgate/clock.h"

namespace tosgate::fuzz {
namespace {

// The default pack imports built-in packs by name, as the CLI loads it.
policies::LoadOptions BuiltinPackOptions() {
  policies::LoadOptions options;
  options.packs = &policies::BuiltinPacks();
  return options;
}

// Runs one request through a snapshot, so that what compiled is also
// evaluated: conditions, content patterns, limits.
void CheckOnce(std::shared_ptr<const engine::PolicySnapshot> snapshot) {
  FakeClock clock(policies::kTestWallStartMs);
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  engine::Engine engine(engine::EngineOptions{.clock = &clock, .state = state.get()});
  engine.Publish(std::move(snapshot));
  api::RequestDescription d;
  d.path = "/v1/chat/completions";
  d.key = "sk-fuzz";
  d.headers = {{"x-usage-purpose", "chatbot"}};
  d.body = R"({"model":"m","max_tokens":64,"logprobs":true,"logit_bias":{"1":2},)"
           R"("messages":[{"role":"user","content":"please synthesize sarin now"}]})";
  Request request;
  if (!api::RequestFromDescription(d, &request).ok()) return;
  (void)engine.Check(request);
  clock.advance_ms(1000);
  (void)engine.Check(request);
}

}  // namespace

void PolicyLoader(const uint8_t* data, size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nul = in.find('\0');
  std::vector<std::pair<std::string, std::string>> files = {
      {"p.yaml", std::string(in.substr(0, nul))}};
  if (nul != std::string_view::npos) files.emplace_back("lists/l.txt", in.substr(nul + 1));
  policies::LoadResult r = policies::LoadPolicyFiles(files);
  for (const policies::Diagnostic& d : r.errors) (void)d.ToString();
  if (r.snapshot) CheckOnce(r.snapshot);
}

void TestFile(const uint8_t* data, size_t size) {
  const std::string content(reinterpret_cast<const char*>(data), size);
  std::vector<policies::Diagnostic> errors;
  const policies::TestFile parsed = policies::ParseTestFile("t.test.yaml", content, &errors);
  if (!errors.empty()) return;
  // Running it costs a decision per repeat; a file that asks for many is
  // valid but tells the fuzzer nothing more.
  int64_t requests = 0;
  for (const policies::PolicyTest& t : parsed.tests)
    for (const policies::TestStep& s : t.steps) requests += s.repeat;
  if (requests > 2000) return;

  static const std::shared_ptr<const engine::PolicySnapshot> pack =
      policies::LoadPolicyDir(TOSGATE_SOURCE_DIR "/policies/packs/default", BuiltinPackOptions())
          .snapshot;
  if (!pack) abort();  // the shipped pack must load
  const policies::RequestBuilder build = &api::RequestFromTest;
  std::ostringstream out;
  (void)policies::RunPolicyTests(pack, {{"t.test.yaml", content}}, build, out);
}

}  // namespace tosgate::fuzz
