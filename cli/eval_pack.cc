// tosgate eval --policies DIR --data FILE.jsonl [--json]: how a policy set's
// prohibited-use rules do on a labelled corpus, end to end. Each line,
// {"text": "...", "label": "cbrn"} (or "labels": [...]; "benign" or none for
// a harmless prompt), is sent as a one-message chat request through the
// engine with the set, as its own account so that no limit or behaviour rule
// sees a pattern across lines.
//
// A prompt is caught for a category when a content or guard rule of that
// category matches it (shadow or enforced, deny, throttle or flag): the
// classifier's category when the classifier matched, else the rule id's
// last part ("prohibited.cbrn" -> cbrn; a rule id naming a longer or
// shorter form of a label, such as "prohibited.fraud" for fraud-scams,
// counts for that label). Per category: recall, the share blocked by any
// rule (a prompt denied for the wrong category is still refused), and
// precision (of the prompts a category's rules caught, the share labelled
// with it). For benign prompts: the share denied and the share flagged.
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cli/commands.h"
#include "server/policy_source.h"
#include "engine/body_parser.h"
#include "engine/engine.h"
#include "engine/state_store.h"
#include "tosgate/clock.h"

namespace tosgate::cli {
namespace {

constexpr std::string_view kClassifierPrefix = "classifier: category ";

// Rule ids of packs written before the categories were renamed.
constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
    {"child-safety", "child-sexual"}, {"cbrn-weapons", "cbrn"}};

struct Example {
  std::string text;
  std::set<std::string> labels;  // empty: benign
};

bool ReadCorpus(const std::string& path, std::vector<Example>* out, std::string* why) {
  std::ifstream in(path);
  if (!in) {
    *why = "cannot read " + path;
    return false;
  }
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string()) {
      *why = path + ":" + std::to_string(n) + ": expected {\"text\": \"...\", \"label\": \"...\"}";
      return false;
    }
    Example e;
    e.text = j["text"].get<std::string>();
    std::vector<std::string> labels;
    if (j.contains("label") && j["label"].is_string()) labels.push_back(j["label"]);
    if (j.contains("labels") && j["labels"].is_array())
      for (const auto& l : j["labels"])
        if (l.is_string()) labels.push_back(l);
    for (std::string& l : labels)
      if (!l.empty() && l != "benign" && l != "none") e.labels.insert(std::move(l));
    out->push_back(std::move(e));
  }
  return true;
}

// The category a match stands for, among `labels`; empty when none.
std::string CategoryOf(const RuleMatch& m, const std::set<std::string>& labels) {
  if (m.detail.rfind(kClassifierPrefix, 0) == 0) {
    const size_t start = kClassifierPrefix.size();
    return m.detail.substr(start, m.detail.find(',', start) - start);
  }
  std::string_view id = m.rule_id;
  if (size_t dot = id.rfind('.'); dot != std::string_view::npos) id.remove_prefix(dot + 1);
  if (labels.count(std::string(id))) return std::string(id);
  for (const auto& [from, to] : kAliases)
    if (id == from) return std::string(to);
  for (const std::string& l : labels)  // "fraud" <-> "fraud-scams"
    if (l.rfind(std::string(id) + "-", 0) == 0 || id.rfind(l + "-", 0) == 0) return l;
  return "";
}

struct Tally {
  int prompts = 0, caught = 0, blocked = 0;  // labelled with it
  int hits = 0, right_hits = 0;              // caught for it, and labelled with it
};

double Share(int n, int d) { return d ? static_cast<double>(n) / d : 0; }

// What one run over the corpus counted.
struct Report {
  std::string data;               // the corpus file
  std::set<std::string> labels;   // every label the corpus uses
  std::map<std::string, Tally> tally;  // per label
  int benign = 0, benign_denied = 0, benign_flagged = 0;
  int prohibited = 0, all_caught = 0, all_blocked = 0, unreadable = 0;
};

// `text` as a one-message chat request from its own account; false when the
// text cannot be sent as JSON.
bool ChatRequest(const engine::PolicySnapshot& snap, const std::string& text, size_t i, Request* req) {
  req->method = "POST";
  req->path = "/v1/chat/completions";
  const nlohmann::json body = {{"model", "eval"},
                               {"messages", {{{"role", "user"}, {"content", text}}}}};
  if (!engine::ParseBody(body.dump(), &req->body).ok()) return false;
  req->body.present = true;
  // A set without operations (a pack alone) still sees a chat request.
  if (snap.OperationFor(req->method, req->path).empty()) req->operation = "chat";
  Account a;
  a.id = "eval-" + std::to_string(i);
  a.tier = "pro";
  req->account = a;
  return true;
}

// One example's decision, counted: which categories caught it, whether it
// was denied or flagged by a content or guard rule (`detectors`).
void Count(const Example& e, const Decision& d, const std::set<std::string>& detectors,
           Report* r) {
  std::set<std::string> hit;  // categories that caught it
  bool denied = false, flagged = false;
  for (const RuleMatch& m : d.matches) {
    if (!detectors.count(m.rule_id)) continue;
    (m.action == Action::kFlag ? flagged : denied) = true;
    if (std::string c = CategoryOf(m, r->labels); !c.empty()) hit.insert(c);
  }
  for (const std::string& c : hit) {
    ++r->tally[c].hits;
    if (e.labels.count(c)) ++r->tally[c].right_hits;
  }
  if (e.labels.empty()) {
    ++r->benign;
    r->benign_denied += denied;
    r->benign_flagged += flagged && !denied;
    return;
  }
  ++r->prohibited;
  bool any_caught = false;
  for (const std::string& l : e.labels) {
    Tally& t = r->tally[l];
    ++t.prompts;
    t.caught += hit.count(l) > 0;
    t.blocked += denied || flagged;
    any_caught |= hit.count(l) > 0;
  }
  r->all_caught += any_caught;
  r->all_blocked += denied || flagged;
}

// Every example through an engine with the loaded set, a minute apart so
// that no rate cap interferes.
Report Measure(const policies::LoadResult& loaded, const std::vector<Example>& corpus) {
  Report r;
  for (const Example& e : corpus) r.labels.insert(e.labels.begin(), e.labels.end());
  std::set<std::string> detectors;  // ids of the content and guard rules
  for (const auto& rule : loaded.snapshot->rules)
    if (rule->common().kind == "content" || rule->common().kind == "guard")
      detectors.insert(rule->common().id);
  FakeClock clock{1'700'000'000'000};
  auto state = engine::NewMemoryStateStore();
  engine::MemoryAccountDirectory accounts;
  engine::Engine eng({&clock, state.get(), nullptr, &accounts});
  eng.Publish(loaded.snapshot);
  for (size_t i = 0; i < corpus.size(); ++i) {
    Request req;
    if (!ChatRequest(*loaded.snapshot, corpus[i].text, i, &req)) {
      ++r.unreadable;
      continue;
    }
    clock.advance_ms(60'000);
    Count(corpus[i], eng.Check(req), detectors, &r);
  }
  return r;
}

void PrintJson(const Report& r) {
  nlohmann::ordered_json cats = nlohmann::ordered_json::object();
  for (const auto& [label, t] : r.tally) {
    if (!r.labels.count(label)) continue;
    cats[label] = {{"prompts", t.prompts},
                   {"caught", t.caught},
                   {"recall", Share(t.caught, t.prompts)},
                   {"blocked", Share(t.blocked, t.prompts)},
                   {"hits", t.hits},
                   {"precision", Share(t.right_hits, t.hits)}};
  }
  nlohmann::ordered_json out = {{"data", r.data},
                                {"categories", cats},
                                {"prohibited",
                                 {{"prompts", r.prohibited},
                                  {"caught", r.all_caught},
                                  {"recall", Share(r.all_caught, r.prohibited)},
                                  {"blocked", Share(r.all_blocked, r.prohibited)}}},
                                {"benign",
                                 {{"prompts", r.benign},
                                  {"denied", r.benign_denied},
                                  {"flagged", r.benign_flagged},
                                  {"denied_share", Share(r.benign_denied, r.benign)},
                                  {"flagged_share", Share(r.benign_flagged, r.benign)}}},
                                {"unreadable", r.unreadable}};
  std::cout << out.dump(2) << "\n";
}

void PrintTable(const Report& r) {
  char buf[256];
  std::cout << "| category | prompts | caught | recall | blocked (any rule) | precision |\n"
               "|---|---:|---:|---:|---:|---:|\n";
  for (const auto& [label, t] : r.tally) {
    if (!r.labels.count(label)) continue;
    std::snprintf(buf, sizeof buf, "| %s | %d | %d | %.1f%% | %.1f%% | %.1f%% (%d/%d) |\n",
                  label.c_str(), t.prompts, t.caught, 100 * Share(t.caught, t.prompts),
                  100 * Share(t.blocked, t.prompts), 100 * Share(t.right_hits, t.hits),
                  t.right_hits, t.hits);
    std::cout << buf;
  }
  std::snprintf(buf, sizeof buf, "| all prohibited | %d | %d | %.1f%% | %.1f%% | |\n",
                r.prohibited, r.all_caught, 100 * Share(r.all_caught, r.prohibited),
                100 * Share(r.all_blocked, r.prohibited));
  std::cout << buf;
  std::snprintf(buf, sizeof buf,
                "\nbenign: %d prompts, %d denied (%.2f%%), %d flagged only (%.2f%%)\n", r.benign,
                r.benign_denied, 100 * Share(r.benign_denied, r.benign), r.benign_flagged,
                100 * Share(r.benign_flagged, r.benign));
  std::cout << buf;
  if (r.unreadable) std::cout << r.unreadable << " prompts could not be sent (not valid UTF-8?)\n";
}

}  // namespace

int RunEvalPolicies(const Args& in) {
  Args args = in;
  bool bad = false;
  std::string dir, data;
  const bool have_dir = TakeFlag(&args, "--policies", &dir, &bad);
  const bool have_data = TakeFlag(&args, "--data", &data, &bad);
  const bool as_json = TakeSwitch(&args, "--json");
  if (bad || !have_dir || !have_data || !args.empty()) {
    std::cerr << "usage: tosgate eval --policies DIR --data FILE.jsonl [--json]\n";
    return 2;
  }
  std::vector<Example> corpus;
  if (std::string why; !ReadCorpus(data, &corpus, &why)) {
    std::cerr << "tosgate eval: " << why << "\n";
    return 2;
  }
  policies::LoadResult loaded = server::LoadPolicySource(dir);
  if (server::ReportPolicyErrors(loaded)) return 2;
  Report r = Measure(loaded, corpus);
  r.data = data;
  if (as_json) {
    PrintJson(r);
  } else {
    PrintTable(r);
  }
  return 0;
}

}  // namespace tosgate::cli
