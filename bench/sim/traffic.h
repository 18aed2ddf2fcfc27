// The traffic simulator's model: who the accounts are (benign personas and
// campaign scenarios), when each sends its requests, and what each request
// looks like. Every draw comes from a stream derived from the seed, the
// account and the request's number, so the output depends only on the
// options, never on the order things are generated in.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "bench/sim/text.h"

namespace tosgate::sim {

enum class Persona : uint8_t {
  // Benign.
  kChat,
  kCoding,
  kClassify,
  kSupport,
  kSummarize,
  kEval,
  // Benign hard negatives (scenarios "benign-hard-*"): legitimate traffic
  // shaped like harvest; labelled "hard_negative": true and reported apart.
  kTutoring,
  kHarness,
  kLongform,
  kReasoner,
  // Campaigns.
  kHarvest,
  kCluster,
  kCot,
  kLogprob,
  kLowSlow,
  kCotParaphrase,
  kReconstruct,
  kImplicit,
  kRubric,
  kRewrite,
  kVolume,
  kBlended,
};
constexpr int kPersonas = 22;

std::string_view PersonaName(Persona p);  // the labels file's "scenario"
bool IsCampaign(Persona p);
bool IsHardNegative(Persona p);
// The campaign whose scenario name is `name`; false when there is none.
bool CampaignByName(std::string_view name, Persona* out);

struct Options {
  uint64_t seed = 1;
  int benign_accounts = 2000;
  int days = 2;
  double scale = 1.0;                // request volume of campaigns and benign pipelines
  int cluster_accounts = 220;        // accounts in the address-rotating cluster
  std::vector<Persona> campaigns;    // empty: every campaign
  bool no_campaigns = false;         // benign traffic only
  bool device_fingerprints = false;  // write accounts' device_fingerprint
  int64_t start_ms = 1764547200000;  // 2025-12-01T00:00:00Z
  Bank bank = Bank::kEval;           // paraphrase bank of every text
};

struct SimAccount {
  std::string id, org, tier, country, payment, device, key;
  int64_t created_ms = 0;
  Persona persona{};
  int variant = 0;               // which template of its family
  int tz_hours = 0;              // local time = UTC + tz
  bool anthropic = false;        // sends Anthropic Messages bodies
  std::vector<std::string> ips;  // its addresses; empty: rotates (cluster)
  std::string model;
  uint64_t campaign = 0;  // low-and-slow-blended: picks the campaign's shared instruction
  bool corpus = false;    // drawn for the text corpus, not traffic (Gen::compose in train)
};

struct Event {
  int64_t ts_ms;
  uint32_t account;
  uint32_t seq;  // the account's n-th request
};

class Simulation {
 public:
  explicit Simulation(const Options& o);

  const std::vector<SimAccount>& accounts() const { return accounts_; }
  // Every request, sorted by time (ties by account, then number).
  const std::vector<Event>& events() const { return events_; }

  // One capture line (without the newline) for `e`.
  std::string RenderRequest(const Event& e) const;
  std::string RenderAccount(const SimAccount& a) const;
  std::string RenderLabel(const SimAccount& a) const;

 private:
  void AddAccounts();
  void Schedule(uint32_t index);

  Options o_;
  std::vector<SimAccount> accounts_;
  std::vector<Event> events_;
};

// A JSON string literal for `s`, quotes included.
std::string JsonString(std::string_view s);

// The harvest-intent corpus (traffic_sim --corpus-out): `harvest` texts of
// campaign requests whose text carries the intent and `benign` texts of every
// benign persona, hard negatives included, one JSON line each:
// {"text": ..., "label": "harvest"|"benign", "family": "<scenario>/<template id>"}.
// Texts in `exclude` (each as its JSON string literal, as JsonString writes
// it) are never written: a dev split leaves out what its train split has.
std::vector<std::string> CorpusLines(Bank bank, uint64_t seed, int harvest, int benign,
                                     const std::unordered_set<std::string>& exclude = {});

}  // namespace tosgate::sim
