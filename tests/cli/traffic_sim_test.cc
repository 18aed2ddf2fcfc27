// bench/traffic_sim: seeded and reproducible, and its files follow the
// formats of docs/replay.md so that `tosgate replay` reads them as they are.
#include <doctest/doctest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "run_support.h"

#ifdef TOSGATE_TRAFFIC_SIM

using nlohmann::json;
using tosgate::test::RunResult;
using tosgate::test::TempDir;

namespace {

std::string Slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<json> JsonLines(const std::string& path) {
  std::ifstream f(path);
  std::vector<json> out;
  for (std::string l; std::getline(f, l);) out.push_back(json::parse(l));
  return out;
}

RunResult RunSim(const std::string& args) {
  std::string cmd = std::string(TOSGATE_TRAFFIC_SIM) + " " + args + " </dev/null 2>&1";
  RunResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// One small simulation, shared by the tests that only read it.
const std::string& SmallRun() {
  static const std::string dir = [] {
    std::string d = TempDir();
    const RunResult r = RunSim("--small --seed 7 --out " + d);
    INFO(r.out);
    REQUIRE(r.exit_code == 0);
    return d;
  }();
  return dir;
}

}  // namespace

TEST_CASE("traffic_sim: the same seed writes the same bytes, another seed other traffic") {
  const std::string a = SmallRun(), b = TempDir(), c = TempDir();
  REQUIRE(RunSim("--small --seed 7 --quiet --out " + b).exit_code == 0);
  REQUIRE(RunSim("--small --seed 8 --quiet --out " + c).exit_code == 0);
  for (const char* f : {"/capture.jsonl", "/accounts.jsonl", "/labels.jsonl"}) {
    CAPTURE(f);
    const std::string bytes = Slurp(a + f);
    CHECK(bytes.size() > 100);
    CHECK(bytes == Slurp(b + f));
    // Labels name accounts by number, so only the traffic and the keys change.
    if (std::string(f) != "/labels.jsonl") CHECK(bytes != Slurp(c + f));
  }
}

TEST_CASE("traffic_sim: capture, accounts and labels follow the traffic-file contract") {
  const std::string dir = SmallRun();
  const auto accounts = JsonLines(dir + "/accounts.jsonl");
  const auto labels = JsonLines(dir + "/labels.jsonl");
  const auto capture = JsonLines(dir + "/capture.jsonl");
  REQUIRE(capture.size() > 1000);

  std::map<std::string, std::string> account_of_key;
  std::set<std::string> ids;
  for (const json& a : accounts) {
    CAPTURE(a.dump());
    for (const char* k : {"id", "org", "tier", "country", "payment_fingerprint"})
      CHECK(a.at(k).is_string());
    CHECK(a.at("flags").is_array());
    CHECK(a.at("created").is_number_integer());
    REQUIRE(a.at("keys").size() == 1);
    CHECK(ids.insert(a["id"].get<std::string>()).second);
    account_of_key[a["keys"][0].get<std::string>()] = a["id"];
  }
  std::map<std::string, std::string> scenario_of;
  for (const json& l : labels) {
    CAPTURE(l.dump());
    CHECK(ids.count(l.at("account").get<std::string>()) == 1);
    CHECK((l.at("label") == "benign" || l.at("label") == "campaign"));
    scenario_of[l["account"]] = l.at("scenario");
  }
  CHECK(scenario_of.size() == ids.size());  // every account is labelled, once

  int64_t last_ts = 0;
  std::map<std::string, size_t> requests_of_scenario;
  std::map<std::string, std::set<std::string>> nets_of_scenario;
  for (const json& r : capture) {
    CAPTURE(r.dump());
    REQUIRE(r.at("ts").is_number_integer());
    CHECK(r["ts"].get<int64_t>() >= last_ts);
    last_ts = r["ts"];
    CHECK(r.at("method") == "POST");
    const std::string path = r.at("path");
    CHECK((path == "/v1/chat/completions" || path == "/v1/messages"));
    for (const auto& [name, value] : r.at("headers").items()) {
      CHECK(name.find_first_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string::npos);
      CHECK(value.is_string());
    }
    const std::string auth = r["headers"].at("authorization");
    REQUIRE(auth.rfind("Bearer ", 0) == 0);
    const auto owner = account_of_key.find(auth.substr(7));
    REQUIRE(owner != account_of_key.end());
    const json& body = r.at("body");
    CHECK(body.at("model").is_string());
    CHECK(body.at("messages").size() >= 1);
    if (path == "/v1/messages") CHECK(body.at("max_tokens").is_number_integer());
    CHECK(r.at("usage").at("input_tokens").get<int64_t>() > 0);
    CHECK(r["usage"].at("output_tokens").get<int64_t>() > 0);
    const std::string scenario = scenario_of[owner->second];
    ++requests_of_scenario[scenario];
    const std::string ip = r.at("client_ip");
    nets_of_scenario[scenario].insert(ip.substr(0, ip.rfind('.')));
    if (scenario == "logprob-harvest") {
      CHECK(body.at("logprobs") == true);
      CHECK(body.at("top_logprobs") == 20);
    }
  }
  // Every persona and every campaign sends traffic.
  for (const char* s : {"chat-user", "coding-assistant", "classification-pipeline", "support-bot",
                        "batch-summarizer", "eval-logprobs", "bulk-harvest", "cluster-rotation",
                        "cot-elicitation", "logprob-harvest", "low-and-slow", "cot-paraphrase",
                        "reasoning-reconstruction", "implicit-harvest", "rubric-grading",
                        "rewrite-harvest", "high-volume-varied", "low-and-slow-blended",
                        "benign-hard-tutoring", "benign-hard-eval-harness",
                        "benign-hard-longform-writer", "benign-hard-reasoning-user"}) {
    CAPTURE(s);
    CHECK(requests_of_scenario[s] > 0);
  }
  // The cluster rotates within exactly three /24s.
  CHECK(nets_of_scenario["cluster-rotation"].size() == 3);
}

TEST_CASE("traffic_sim: the cluster has 200+ accounts sharing cards; --scenario picks campaigns") {
  std::map<std::string, int> accounts_of;
  std::set<std::string> cluster;
  for (const json& l : JsonLines(SmallRun() + "/labels.jsonl")) {
    ++accounts_of[l["scenario"]];
    if (l["scenario"] == "cluster-rotation") {
      CHECK(l["label"] == "campaign");
      cluster.insert(l["account"]);
    }
  }
  CHECK(accounts_of["cluster-rotation"] >= 200);
  CHECK(accounts_of["bulk-harvest"] == 1);
  CHECK(accounts_of["chat-user"] >= 50);
  std::set<std::string> cards;
  for (const json& a : JsonLines(SmallRun() + "/accounts.jsonl"))
    if (cluster.count(a["id"])) cards.insert(a["payment_fingerprint"]);
  CHECK(cards.size() * 5 <= cluster.size());

  const std::string dir = TempDir();
  REQUIRE(RunSim("--small --quiet --scenario bulk-harvest --scenario=cot-elicitation --out " + dir)
              .exit_code == 0);
  std::set<std::string> campaigns;
  for (const json& l : JsonLines(dir + "/labels.jsonl"))
    if (l["label"] == "campaign") campaigns.insert(l["scenario"]);
  CHECK(campaigns == std::set<std::string>{"bulk-harvest", "cot-elicitation"});

  // Device fingerprints only on request; the cluster's machines are shared.
  for (const json& a : JsonLines(dir + "/accounts.jsonl")) CHECK(!a.contains("device_fingerprint"));
  const std::string devices_dir = TempDir();
  REQUIRE(RunSim("--small --quiet --scenario cluster-rotation --device-fingerprints --out " +
                 devices_dir)
              .exit_code == 0);
  std::map<std::string, std::string> scenario_of;
  for (const json& l : JsonLines(devices_dir + "/labels.jsonl"))
    scenario_of[l["account"]] = l["scenario"];
  std::set<std::string> cluster_devices, benign_devices;
  size_t benign = 0;
  for (const json& a : JsonLines(devices_dir + "/accounts.jsonl")) {
    const bool in_cluster = scenario_of[a["id"]] == "cluster-rotation";
    (in_cluster ? cluster_devices : benign_devices)
        .insert(a.at("device_fingerprint").get<std::string>());
    benign += in_cluster ? 0 : 1;
  }
  CHECK(cluster_devices.size() * 10 <= cluster.size());
  CHECK(benign_devices.size() == benign);

  const RunResult bad = RunSim("--small --scenario no-such-thing --out " + dir);
  CHECK(bad.exit_code == 2);
  CHECK(bad.out.find("unknown scenario 'no-such-thing'") != std::string::npos);
  CHECK(RunSim("--small").exit_code == 2);  // no --out
  const RunResult zero_days = RunSim("--days 0 --out " + dir);
  CHECK(zero_days.exit_code == 2);
  CHECK(zero_days.out.find("bad value for --days: '0'") != std::string::npos);
  // --small only sets defaults: what is given beside it counts, in any order.
  REQUIRE(RunSim("--benign-accounts 0 --small --quiet --scenario bulk-harvest --out " + dir)
              .exit_code == 0);
  CHECK(JsonLines(dir + "/labels.jsonl").size() == 1);
}

TEST_CASE("traffic_sim output replays cleanly through tosgate with its accounts and labels") {
  const std::string dir = SmallRun();
  const RunResult r = tosgate::test::RunTosgate(
      "replay --policies " TOSGATE_SOURCE_DIR "/policies/packs/default --capture " + dir +
      "/capture.jsonl --accounts " + dir + "/accounts.jsonl --labels " + dir +
      "/labels.jsonl --json --analyzer-every 3600");  // the day's analyzer runs hourly: 2 minutes less
  INFO(r.out.substr(0, 2000));
  REQUIRE(r.exit_code == 0);
  const json j = json::parse(r.out.substr(r.out.find('{')));
  CHECK(j["lines_skipped"] == 0);
  CHECK(j["requests"].get<size_t>() == JsonLines(dir + "/capture.jsonl").size());
  CHECK(j["evaluation"]["unlabelled_requests"] == 0);
  CHECK(j["evaluation"]["scenarios"].size() == 22);
  CHECK(j["evaluation"]["hard_negatives"]["accounts"].get<int>() >= 3);
}

TEST_CASE("traffic_sim: the train and eval banks write different texts from the same seed") {
  const std::string train = TempDir(), eval = TempDir();
  REQUIRE(RunSim("--small --seed 7 --quiet --bank train --out " + train).exit_code == 0);
  REQUIRE(RunSim("--small --seed 7 --quiet --bank=eval --out " + eval).exit_code == 0);
  // eval is the default bank.
  CHECK(Slurp(eval + "/capture.jsonl") == Slurp(SmallRun() + "/capture.jsonl"));
  CHECK(Slurp(train + "/capture.jsonl") != Slurp(eval + "/capture.jsonl"));
  CHECK(Slurp(train + "/labels.jsonl") == Slurp(eval + "/labels.jsonl"));
  // No user text of one bank appears in the other.
  auto texts = [](const std::string& dir) {
    std::set<std::string> out;
    for (const json& r : JsonLines(dir + "/capture.jsonl"))
      for (const json& m : r["body"]["messages"])
        if (m["role"] == "user" && m["content"].get<std::string>().size() > 40)
          out.insert(m["content"].get<std::string>());
    return out;
  };
  const auto a = texts(train), b = texts(eval);
  size_t shared = 0;
  for (const std::string& t : a) shared += b.count(t);
  CHECK(a.size() > 1000);
  CHECK(shared == 0);
  CHECK(RunSim("--small --bank test --out " + train).exit_code == 2);
}

TEST_CASE("traffic_sim: the new campaigns' request shapes and account layout") {
  const std::string dir = SmallRun();
  std::map<std::string, std::string> scenario_of;
  for (const json& l : JsonLines(dir + "/labels.jsonl")) {
    scenario_of[l["account"]] = l["scenario"];
    const bool hard = l["scenario"].get<std::string>().rfind("benign-hard-", 0) == 0;
    CHECK(l.value("hard_negative", false) == hard);
    if (hard) CHECK(l["label"] == "benign");
  }
  std::map<std::string, std::string> account_of_key, payment_of;
  for (const json& a : JsonLines(dir + "/accounts.jsonl")) {
    account_of_key[a["keys"][0]] = a["id"];
    payment_of[a["id"]] = a["payment_fingerprint"];
  }
  std::map<std::string, int> requests_of;
  std::map<std::string, std::set<std::string>> ips_of;
  for (const json& r : JsonLines(dir + "/capture.jsonl")) {
    const std::string account =
        account_of_key[r["headers"]["authorization"].get<std::string>().substr(7)];
    ++requests_of[account];
    ips_of[account].insert(r["client_ip"]);
    if (scenario_of[account] != "implicit-harvest") continue;
    CAPTURE(r.dump());
    const json& body = r["body"];
    CHECK(body.at("temperature") == 1.0);
    CHECK(body.at("max_tokens").get<int>() >= 16000);
    if (r["path"] == "/v1/messages") {
      CHECK(body.at("thinking").at("budget_tokens").get<int>() >= 8000);
    } else {
      CHECK((body.contains("reasoning_effort") || body.contains("reasoning")));
      CHECK(body.at("n").get<int>() > 1);
    }
  }
  // low-and-slow-blended: ten accounts of 20-45 requests, no address or card shared.
  std::set<std::string> ips, cards;
  int blended = 0;
  for (const auto& [account, scenario] : scenario_of) {
    if (scenario != "low-and-slow-blended") continue;
    ++blended;
    CHECK(requests_of[account] >= 20);
    CHECK(requests_of[account] <= 45);
    for (const std::string& ip : ips_of[account]) CHECK(ips.insert(ip).second);
    CHECK(cards.insert(payment_of[account]).second);
  }
  CHECK(blended == 10);
}

TEST_CASE("traffic_sim --corpus-out: labelled texts of every family, banks disjoint") {
  const std::string dir = TempDir();
  REQUIRE(RunSim("--corpus-out " + dir + "/train.jsonl --bank train --seed 1 --corpus-harvest 400 "
                 "--corpus-benign 600 --quiet")
              .exit_code == 0);
  REQUIRE(RunSim("--corpus-out " + dir + "/test.jsonl --bank eval --seed 1 --corpus-harvest 400 "
                 "--corpus-benign 600 --quiet")
              .exit_code == 0);
  std::map<std::string, std::set<std::string>> families;  // per file
  std::map<std::string, std::set<std::string>> texts;
  for (const char* name : {"train", "test"}) {
    std::map<std::string, int> labels;
    std::set<std::string> scenarios;
    for (const json& l : JsonLines(dir + "/" + name + ".jsonl")) {
      ++labels[l.at("label").get<std::string>()];
      const std::string family = l.at("family");
      families[name].insert(family);
      scenarios.insert(family.substr(0, family.find('/')));
      CHECK(texts[name].insert(l.at("text").get<std::string>()).second);
    }
    CAPTURE(name);
    CHECK(labels["harvest"] == 400);
    CHECK(labels["benign"] == 600);
    for (const char* s : {"bulk-harvest", "cluster-rotation", "cot-elicitation", "low-and-slow",
                          "cot-paraphrase", "reasoning-reconstruction", "rubric-grading",
                          "rewrite-harvest", "high-volume-varied", "low-and-slow-blended",
                          "benign-hard-tutoring", "benign-hard-eval-harness",
                          "benign-hard-longform-writer", "benign-hard-reasoning-user",
                          "chat-user", "coding-assistant"})
      CHECK(scenarios.count(s) == 1);
  }
  for (const std::string& f : families["test"]) CHECK(families["train"].count(f) == 0);
  for (const std::string& t : texts["test"]) CHECK(texts["train"].count(t) == 0);
}

TEST_CASE("the committed harvest corpus is what the documented commands write") {
  // docs/traffic-simulator.md, "The harvest-intent corpus": regenerate after
  // changing a generator, and say so in the commit.
  const std::string dir = TempDir(), src = TOSGATE_SOURCE_DIR "/tests/corpora/harvest/";
  REQUIRE(RunSim("--quiet --corpus-out " + dir + "/train.jsonl --bank train --seed 1 "
                 "--corpus-harvest 2000 --corpus-benign 6000")
              .exit_code == 0);
  REQUIRE(RunSim("--quiet --corpus-out " + dir + "/dev.jsonl --bank train --seed 2 "
                 "--corpus-harvest 500 --corpus-benign 1500 --corpus-exclude " + src + "train.jsonl")
              .exit_code == 0);
  REQUIRE(RunSim("--quiet --corpus-out " + dir + "/test.jsonl --bank eval --seed 3 "
                 "--corpus-harvest 1000 --corpus-benign 3000")
              .exit_code == 0);
  for (const char* f : {"train.jsonl", "dev.jsonl", "test.jsonl"}) {
    CAPTURE(f);
    const std::string committed = Slurp(src + f);
    CHECK(committed.size() > 100000);
    CHECK(committed == Slurp(dir + "/" + f));
  }
}

#endif  // TOSGATE_TRAFFIC_SIM
