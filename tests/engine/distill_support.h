// Builders shared by the competitor_training tests: prompts from one
// template with a varying slot, unrelated prompts, and an engine with one
// competitor_training rule and a FakeClock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "engine/engine.h"
#include "engine/rules/competitor_training.h"
#include "test_support.h"

namespace tosgate::test {

inline const char* const kWords[] = {
    "river",  "market", "engine", "garden",  "planet", "violin", "harbor",  "protein",
    "window", "silver", "forest", "algebra", "copper", "tunnel", "lantern", "glacier",
    "pepper", "canyon", "magnet", "orchard", "saddle", "falcon", "quartz",  "ribbon",
    "meadow", "carbon", "dragon", "pillow",  "rocket", "summit", "velvet",  "walnut"};

struct Lcg {
  uint64_t s;
  explicit Lcg(uint64_t seed) : s(seed * 2654435761ULL + 1) {}
  uint32_t Next() {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(s >> 33);
  }
  const char* Word() { return kWords[Next() % 32]; }
};

// One template, a slot of two words.
inline std::string TemplatePrompt(Lcg& r) {
  return std::string(
             "You are a careful tutor. Read the question below and answer it fully, "
             "covering every relevant detail, and end with a one line summary of the "
             "answer for the student. Question: how does the ") +
         r.Word() + " relate to the " + r.Word() + " in everyday life?";
}

// Twenty words chosen at random: nothing in common with anything.
inline std::string RandomPrompt(Lcg& r) {
  std::string s;
  for (int i = 0; i < 20; ++i) s += std::string(r.Word()) + (i % 7 == 6 ? ". " : " ");
  return s + std::to_string(r.Next() % 1000);
}

inline Request DistillRequest(std::string account, std::string user_text,
                              std::string ip = "198.51.100.7") {
  Request r = ChatRequest(std::move(account));
  r.client_ip = std::move(ip);
  r.body.present = true;
  r.body.api = "chat";
  r.body.user_text = user_text;
  r.body.prompt_text = "user: " + user_text + "\n";
  r.body.prompt_chars = static_cast<int64_t>(r.body.prompt_text.size());
  r.body.message_count = 1;
  return r;
}

// A config with the built-in style lexicon reduced to two phrases.
inline engine::DistillConfig TestConfig() {
  engine::DistillConfig c;
  auto index = std::make_shared<engine::ContentIndex>();
  c.lexicon_first =
      index->Add({{"cot:0", engine::ContentPattern::Type::kPhrase, "step by step"},
                  {"cot:1", engine::ContentPattern::Type::kPhrase, "show your reasoning"}});
  c.lexicon_count = 2;
  std::string why;
  size_t bad = 0;
  REQUIRE(index->Build(&why, &bad));
  c.lexicon = index;
  c.thresholds = {0.5, 0.6, 0.7, 0.8, 0.95};
  c.throttle = engine::LimitSpec{engine::LimitKind::kWindow, 2, 60'000'000'000};
  return c;
}

inline std::shared_ptr<engine::PolicySnapshot> DistillSnapshot(engine::DistillConfig c,
                                                               std::string id = "distill") {
  auto snap = std::make_shared<engine::PolicySnapshot>();
  // Defines no operations: not about settings.unmatched_operation, which
  // would refuse every POST.
  snap->settings.unmatched_operation.deny = false;
  snap->revision = "r1";
  engine::RuleCommon common = Common(std::move(id), Action::kFlag);
  common.kind = "competitor_training";
  common.reason = "competitor-training";
  snap->rules.push_back(std::make_unique<engine::CompetitorTrainingRule>(common, std::move(c)));
  return snap;
}

// An engine over its own state with a FakeClock at 2026-01-01T00:00:00Z.
struct DistillRig {
  FakeClock clock{1'767'225'600'000};
  std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
  std::unique_ptr<engine::BehaviorStore> behavior;
  std::unique_ptr<engine::Engine> engine;
  explicit DistillRig(engine::DistillConfig c, engine::MemoryBehaviorOptions opts = {})
      : DistillRig(std::move(c), engine::NewMemoryBehaviorStore(opts)) {}
  DistillRig(engine::DistillConfig c, std::unique_ptr<engine::BehaviorStore> store)
      : behavior(std::move(store)) {
    engine = std::make_unique<engine::Engine>(
        engine::EngineOptions{&clock, state.get(), nullptr, nullptr, 1000, behavior.get()});
    engine->Publish(DistillSnapshot(std::move(c)));
  }
  Decision Check(const Request& r) { return engine->Check(r); }
};

inline const std::string* Header(const Decision& d, std::string_view name) {
  for (const auto& [k, v] : d.headers)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace tosgate::test
