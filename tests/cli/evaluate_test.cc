// tosgate replay --labels: scoring detections per scenario against ground truth,
// on a capture small enough to count by hand.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "run_support.h"

using nlohmann::json;
using tosgate::test::RunTosgate;
using tosgate::test::TempDir;
using tosgate::test::WriteFile;

namespace {

constexpr int64_t kT0 = 1764331200000;

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// A request of `key`; `extra` adds body members.
std::string Line(int64_t i, const std::string& key, const std::string& extra = "",
                 const std::string& purpose = "") {
  return R"({"ts": )" + std::to_string(kT0 + i * 1000) +
         R"(, "method": "POST", "path": "/v1/chat/completions", "client_ip": "203.0.113.7", )"
         R"("headers": {"authorization": "Bearer sk-)" +
         key + "\"" + (purpose.empty() ? "" : R"(, "x-usage-purpose": ")" + purpose + "\"") +
         R"(}, "body": {"model": "m", "messages": [{"role": "user", "content": "hi"}])" + extra +
         "}}\n";
}

struct Fixture {
  std::string dir = TempDir();
  std::string Args(const std::string& more) const {
    return "replay --policies " + dir + "/policies --capture " + dir +
           "/capture.jsonl --accounts " + dir + "/accounts.jsonl --labels " + dir +
           "/labels.jsonl " + more;
  }
  Fixture() {
    std::filesystem::create_directories(dir + "/policies");
    // Two flag rules of kind attribute: one stands in for a detector, the
    // other must not count unless asked for.
    WriteFile(dir + "/policies/policy.yaml", R"(apiVersion: tosgate/v1
kind: Policy
metadata: {name: evaluation-test}
operations:
  chat: {methods: [POST], paths: [/v1/chat/completions]}
rules:
  - id: detect.top-logprobs
    kind: attribute
    when: {field: body.top_logprobs, gt: 10}
    action: flag
  - id: other.purpose
    kind: attribute
    when: {field: request.purpose, eq: model-training}
    action: flag
)");
    std::string accounts, labels;
    for (const char* id : {"c1", "c2", "c3", "c4", "b1", "b2", "b3", "b4"})
      accounts += R"({"id": ")" + std::string(id) +
                  R"(", "org": "o", "tier": "pro", "keys": ["sk-)" + id + "\"]}\n";
    WriteFile(dir + "/accounts.jsonl", accounts);
    WriteFile(dir + "/labels.jsonl",
              R"({"account": "c1", "label": "campaign", "scenario": "harvest"})"
              "\n"
              R"({"account": "c2", "label": "campaign", "scenario": "harvest"})"
              "\n"
              R"({"account": "c4", "label": "campaign", "scenario": "harvest"})"
              "\n"
              R"({"account": "c3", "label": "campaign", "scenario": "quiet"})"
              "\n"
              R"({"account": "b1", "label": "benign", "scenario": "chat"})"
              "\n"
              R"({"account": "b2", "label": "benign", "scenario": "chat"})"
              "\n"
              R"({"account": "b3", "label": "benign", "scenario": "chat"})"
              "\n"
              "\n"
              R"({"account": "b4", "label": "benign", "scenario": "pipeline"})"
              "\n");
    const std::string hit = R"(, "logprobs": true, "top_logprobs": 20)";
    WriteFile(dir + "/capture.jsonl",
              Line(0, "c1") + Line(1, "c2") + Line(2, "c1") +
                  Line(3, "c2", hit) +  // c2 caught after 1 of its own, 3 of harvest's
                  Line(4, "c1") + Line(5, "c1", hit) +  // c1 caught after 3
                  Line(6, "c3") + Line(7, "b1", hit) + Line(8, "b2") +
                  Line(9, "b3", "", "model-training") + Line(10, "b4") + Line(11, "nobody"));
  }
};

}  // namespace

TEST_CASE(
    "replay --labels counts caught campaign accounts, requests before detection and flagged benign "
    "ones") {
  const Fixture f;
  const auto r = RunTosgate(f.Args("--detect-rules 'detect.*'"));
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(Has(r.out, "requests: 12 (lines skipped: 0"));
  CHECK(Has(r.out, "  detection rules: detect.top-logprobs\n"));
  // harvest: c1 and c2 caught (c4 sent nothing); 3 of its requests came before
  // the first detection; per account 1 (c2) and 3 (c1).
  CHECK(Has(
      r.out,
      "  harvest                         2       2  100.00%         6             3        1/3\n"));
  CHECK(Has(r.out, "    (1 labelled accounts sent no request)\n"));
  CHECK(Has(
      r.out,
      "  quiet                           1       0    0.00%         1             -        -/-\n"));
  CHECK(Has(r.out, "  chat                            3       1   33.33%         3\n"));
  CHECK(Has(r.out, "  pipeline                        1       0    0.00%         1\n"));
  CHECK(Has(r.out, "  all benign                      4       1   25.00%\n"));
  CHECK(Has(r.out, "requests of unlabelled accounts: 1\n"));
  CHECK(Has(r.out,
            "NOT MET  >= 95% of campaign accounts caught in every campaign scenario (lowest: quiet "
            "0.00%)"));
  CHECK(Has(r.out, "NOT MET  <= 0.3% of benign accounts flagged (25.00%)"));
  // The median of two campaigns is the lower one: harvest, 3 requests.
  CHECK(Has(r.out,
            "met      median campaign caught within its first 200 requests (median requests before "
            "first detection: 3)"));
}

TEST_CASE("replay --labels --json gives the same figures for machines") {
  const Fixture f;
  const auto r = RunTosgate(f.Args("--detect-kinds attribute --json"));
  INFO(r.out);
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out);
  CHECK(j["requests"] == 12);
  const json& e = j["evaluation"];
  CHECK(e["detection_rules"] == json::array({"detect.top-logprobs", "other.purpose"}));
  REQUIRE(e["scenarios"].size() == 4);
  const json& harvest = e["scenarios"][0];
  CHECK(harvest["scenario"] == "harvest");
  CHECK(harvest["label"] == "campaign");
  CHECK(harvest["accounts"] == 2);
  CHECK(harvest["accounts_without_requests"] == 1);
  CHECK(harvest["detected"] == 2);
  CHECK(harvest["requests_before_first_detection"] == 3);
  CHECK(harvest["account_requests_before_detection_p50"] == 1);
  CHECK(harvest["account_requests_before_detection_p90"] == 3);
  CHECK(e["scenarios"][1]["requests_before_first_detection"].is_null());
  // With every attribute rule counting, b3's declared purpose flags it too.
  CHECK(e["scenarios"][2]["scenario"] == "chat");
  CHECK(e["scenarios"][2]["detected"] == 2);
  CHECK(e["benign"]["flagged"] == 2);
  CHECK(e["benign"]["accounts"] == 4);
  CHECK(e["unlabelled_requests"] == 1);
  CHECK(e["targets"]["campaign_accounts_caught"]["met"] == false);
  CHECK(e["targets"]["benign_flagged"]["met"] == false);
  CHECK(e["targets"]["median_campaign_requests_before_detection"]["median"] == 3);
  CHECK(e["targets"]["median_campaign_requests_before_detection"]["met"] == true);
}

TEST_CASE(
    "replay --labels counts competitor_training rules by default and says when there are none") {
  const Fixture f;
  const auto r = RunTosgate(f.Args(""));
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(Has(r.out, "no rule of the candidate counts as a detection"));
  CHECK(Has(r.out, "  detection rules: (none: nothing can be detected)\n"));
  CHECK(Has(r.out, "  all benign                      4       0    0.00%\n"));
}

TEST_CASE(
    "replay --labels refuses a bad labels file with its line, and detection flags without labels") {
  const Fixture f;
  WriteFile(f.dir + "/labels.jsonl", R"({"account": "c1", "label": "campaign"})"
                                     "\n"
                                     R"({"account": "c2", "label": "suspicious"})"
                                     "\n");
  auto r = RunTosgate(f.Args(""));
  CHECK(r.exit_code == 2);
  CHECK(Has(r.out, f.dir + "/labels.jsonl:2: \"label\" must be \"benign\" or \"campaign\""));

  WriteFile(f.dir + "/labels.jsonl", R"({"account": "c1", "label": "campaign", "scenario": "x"})"
                                     "\n"
                                     R"({"account": "c2", "label": "benign", "scenario": "x"})"
                                     "\n");
  r = RunTosgate(f.Args(""));
  CHECK(r.exit_code == 2);
  CHECK(Has(r.out, "labels.jsonl:2: scenario \"x\" holds both benign and campaign accounts"));

  r = RunTosgate("replay --policies " + f.dir + "/policies --capture " + f.dir +
                 "/capture.jsonl --detect-kinds x");
  CHECK(r.exit_code == 2);
  CHECK(Has(r.out, "usage: tosgate replay"));
}

TEST_CASE("replay --labels reports hard negatives apart from the benign target") {
  const Fixture f;
  // b1 (flagged) becomes a hard negative: the benign target no longer counts it.
  std::string labels = R"({"account": "c1", "label": "campaign", "scenario": "harvest"})"
                       "\n"
                       R"({"account": "b1", "label": "benign", "scenario": "benign-hard-tutoring", "hard_negative": true})"
                       "\n"
                       R"({"account": "b2", "label": "benign", "scenario": "chat"})"
                       "\n";
  WriteFile(f.dir + "/labels.jsonl", labels);
  auto r = RunTosgate(f.Args("--detect-rules 'detect.*'"));
  INFO(r.out);
  CHECK(r.exit_code == 0);
  CHECK(Has(r.out, "  benign-hard-tutoring            1       1  100.00%         1\n"));
  CHECK(Has(r.out, "  all benign                      1       0    0.00%\n"));
  CHECK(Has(r.out, "  hard negatives                  1       1  100.00%\n"));
  CHECK(Has(r.out, "met      <= 0.3% of benign accounts flagged (0.00%)"));
  CHECK(Has(r.out, "hard negatives flagged, apart from the benign target: 1 of 1 (100.00%)"));

  r = RunTosgate(f.Args("--detect-rules 'detect.*' --json"));
  const json j = json::parse(r.out.substr(r.out.find('{')))["evaluation"];
  CHECK(j["hard_negatives"]["flagged"] == 1);
  CHECK(j["benign"]["accounts"] == 1);
  CHECK(j["scenarios"][1]["hard_negative"] == true);
  CHECK(!j["scenarios"][2].contains("hard_negative"));

  WriteFile(f.dir + "/labels.jsonl",
            R"({"account": "c1", "label": "campaign", "hard_negative": true})"
            "\n");
  r = RunTosgate(f.Args(""));
  CHECK(r.exit_code == 2);
  CHECK(Has(r.out, "labels.jsonl:1: a campaign account cannot be a hard negative"));
  WriteFile(f.dir + "/labels.jsonl",
            R"({"account": "b1", "label": "benign", "hard_negative": "yes"})"
            "\n");
  r = RunTosgate(f.Args(""));
  CHECK(r.exit_code == 2);
  CHECK(Has(r.out, "labels.jsonl:1: \"hard_negative\" must be true or false"));
}
