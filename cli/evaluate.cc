#include "cli/evaluate.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

namespace tosgate::cli {
namespace {

using json = nlohmann::json;
using ordered = nlohmann::ordered_json;

// Issue 5's targets.
constexpr double kMinCaughtShare = 0.95;
constexpr double kMaxBenignShare = 0.003;
constexpr int64_t kMaxMedianBefore = 200;

// The value at quantile q (nearest rank) of sorted `v`; -1 when empty.
int64_t Quantile(const std::vector<int64_t>& v, double q) {
  if (v.empty()) return -1;
  size_t i = static_cast<size_t>(q * static_cast<double>(v.size()) + 0.999999);
  i = std::clamp<size_t>(i, 1, v.size());
  return v[i - 1];
}

std::string Percent(double share) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f%%", 100.0 * share);
  return buf;
}

std::string Count(int64_t n) { return n < 0 ? "-" : std::to_string(n); }

ordered CountJson(int64_t n) { return n < 0 ? ordered(nullptr) : ordered(n); }

bool Matches(const std::vector<std::string>& patterns, const std::string& id) {
  for (const std::string& p : patterns) {
    if (!p.empty() && p.back() == '*' ? id.starts_with(std::string_view(p).substr(0, p.size() - 1))
                                      : id == p)
      return true;
  }
  return false;
}

}  // namespace

double Evaluation::HardShare(const Targets& t) {
  return t.hard_accounts
             ? static_cast<double>(t.hard_flagged) / static_cast<double>(t.hard_accounts)
             : 0.0;
}

Status Evaluation::LoadLabels(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot read labels file");
  labels_path_ = path;
  std::string line;
  for (size_t lineno = 1; std::getline(in, line); ++lineno) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(lineno) + ": ";
    const json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object())
      return Status::InvalidArgument(where + "not a JSON object");
    auto account = j.find("account"), label = j.find("label"), scenario = j.find("scenario");
    if (account == j.end() || !account->is_string() || account->get<std::string>().empty())
      return Status::InvalidArgument(where + "\"account\" must be a non-empty string");
    if (label == j.end() || !label->is_string() ||
        (label->get<std::string>() != "benign" && label->get<std::string>() != "campaign"))
      return Status::InvalidArgument(where + "\"label\" must be \"benign\" or \"campaign\"");
    if (scenario != j.end() && !scenario->is_string())
      return Status::InvalidArgument(where + "\"scenario\" must be a string");
    const bool campaign = label->get<std::string>() == "campaign";
    auto hard_it = j.find("hard_negative");
    if (hard_it != j.end() && !hard_it->is_boolean())
      return Status::InvalidArgument(where + "\"hard_negative\" must be true or false");
    const bool hard = hard_it != j.end() && hard_it->get<bool>();
    if (hard && campaign)
      return Status::InvalidArgument(where + "a campaign account cannot be a hard negative");
    // Without a scenario an account is scored under its label.
    std::string name = scenario != j.end() ? scenario->get<std::string>() : "";
    if (name.empty()) name = label->get<std::string>();

    size_t index = 0;
    while (index < scenarios_.size() && scenarios_[index].name != name) ++index;
    if (index == scenarios_.size()) scenarios_.push_back({name, campaign, hard});
    if (scenarios_[index].campaign != campaign)
      return Status::InvalidArgument(where + "scenario \"" + name +
                                     "\" holds both benign and campaign accounts");
    if (scenarios_[index].hard != hard)
      return Status::InvalidArgument(where + "scenario \"" + name +
                                     "\" holds both hard negatives and other accounts");
    if (!accounts_.emplace(account->get<std::string>(), Account{index}).second)
      return Status::InvalidArgument(where + "account \"" + account->get<std::string>() +
                                     "\" is labelled twice");
    ++scenarios_[index].accounts;
  }
  return Status::Ok();
}

std::vector<std::string> Evaluation::SetDetectors(const engine::PolicySnapshot& snapshot,
                                                  const DetectionSpec& spec) {
  detectors_.clear();
  detector_ids_.clear();
  for (const auto& rule : snapshot.rules) {
    const engine::RuleCommon& c = rule->common();
    if (std::find(spec.kinds.begin(), spec.kinds.end(), c.kind) != spec.kinds.end() ||
        Matches(spec.rules, c.id)) {
      detectors_.insert(c.id);
      detector_ids_.push_back(c.id);
    }
  }
  return detector_ids_;
}

void Evaluation::Observe(const std::string& account, const Decision& d) {
  auto it = accounts_.find(account);
  if (it == accounts_.end()) {
    ++unlabelled_requests_;
    return;
  }
  Account& a = it->second;
  Scenario& s = scenarios_[a.scenario];
  if (a.before_detection < 0) {
    for (const RuleMatch& m : d.matches) {
      if (detectors_.count(m.rule_id) == 0) continue;
      a.before_detection = static_cast<int64_t>(a.requests);
      if (s.before_detection < 0) s.before_detection = static_cast<int64_t>(s.requests);
      break;
    }
  }
  ++a.requests;
  ++s.requests;
}

Evaluation::Summary Evaluation::Summarize(size_t scenario) const {
  Summary out;
  std::vector<int64_t> before;
  for (const auto& [id, a] : accounts_) {
    if (a.scenario != scenario) continue;
    if (a.requests == 0) {
      ++out.silent;
      continue;
    }
    ++out.active;
    if (a.before_detection >= 0) {
      ++out.detected;
      before.push_back(a.before_detection);
    }
  }
  std::sort(before.begin(), before.end());
  out.share =
      out.active ? static_cast<double>(out.detected) / static_cast<double>(out.active) : 0.0;
  out.median = Quantile(before, 0.5);
  out.p90 = Quantile(before, 0.9);
  return out;
}

Evaluation::Targets Evaluation::CheckTargets() const {
  Targets t;
  std::vector<int64_t> campaign_before;  // never caught: after everything else
  for (size_t i = 0; i < scenarios_.size(); ++i) {
    const Summary s = Summarize(i);
    if (scenarios_[i].hard) {
      t.hard_accounts += s.active;
      t.hard_flagged += s.detected;
      continue;
    }
    if (!scenarios_[i].campaign) {
      t.benign_accounts += s.active;
      t.benign_flagged += s.detected;
      continue;
    }
    if (s.active == 0) continue;
    if (t.lowest_scenario.empty() || s.share < t.lowest_share) {
      t.lowest_scenario = scenarios_[i].name;
      t.lowest_share = s.share;
    }
    const int64_t b = scenarios_[i].before_detection;
    campaign_before.push_back(b < 0 ? INT64_MAX : b);
  }
  t.caught_ok = t.lowest_share >= kMinCaughtShare;
  t.benign_share = t.benign_accounts ? static_cast<double>(t.benign_flagged) /
                                           static_cast<double>(t.benign_accounts)
                                     : 0.0;
  t.benign_ok = t.benign_share <= kMaxBenignShare;
  std::sort(campaign_before.begin(), campaign_before.end());
  // The median campaign: the lower middle one when there is an even number.
  if (!campaign_before.empty()) {
    const int64_t m = campaign_before[(campaign_before.size() - 1) / 2];
    t.median_before = m == INT64_MAX ? -1 : m;
    t.speed_ok = m < kMaxMedianBefore;
  }
  return t;
}

void Evaluation::PrintText(std::ostream& out) const {
  out << "\nevaluation against " << labels_path_ << "\n  detection rules: ";
  if (detector_ids_.empty()) out << "(none: nothing can be detected)";
  for (size_t i = 0; i < detector_ids_.size(); ++i) out << (i ? ", " : "") << detector_ids_[i];
  out << "\n";
  char row[200];
  for (const bool campaign : {true, false}) {
    if (campaign) {
      std::snprintf(row, sizeof row, "\n%-26s %8s %7s %8s %9s %13s %12s\n", "campaign scenarios",
                    "accounts", "caught", "share", "requests", "before-first", "per-acct p50/p90");
    } else {
      std::snprintf(row, sizeof row, "\n%-26s %8s %7s %8s %9s\n", "benign personas", "accounts",
                    "flagged", "share", "requests");
    }
    out << row;
    bool any = false;
    for (size_t i = 0; i < scenarios_.size(); ++i) {
      if (scenarios_[i].campaign != campaign) continue;
      any = true;
      const Summary s = Summarize(i);
      const Scenario& sc = scenarios_[i];
      if (campaign) {
        std::snprintf(
            row, sizeof row, "  %-24s %8llu %7llu %8s %9llu %13s %8s/%s\n", sc.name.c_str(),
            static_cast<unsigned long long>(s.active), static_cast<unsigned long long>(s.detected),
            Percent(s.share).c_str(), static_cast<unsigned long long>(sc.requests),
            Count(sc.before_detection).c_str(), Count(s.median).c_str(), Count(s.p90).c_str());
      } else {
        std::snprintf(row, sizeof row, "  %-24s %8llu %7llu %8s %9llu\n", sc.name.c_str(),
                      static_cast<unsigned long long>(s.active),
                      static_cast<unsigned long long>(s.detected), Percent(s.share).c_str(),
                      static_cast<unsigned long long>(sc.requests));
      }
      out << row;
      if (s.silent) out << "    (" << s.silent << " labelled accounts sent no request)\n";
    }
    if (!any) out << "  (none)\n";
  }
  const Targets t = CheckTargets();
  std::snprintf(row, sizeof row, "  %-24s %8llu %7llu %8s\n", "all benign",
                static_cast<unsigned long long>(t.benign_accounts),
                static_cast<unsigned long long>(t.benign_flagged), Percent(t.benign_share).c_str());
  out << row;
  if (t.hard_accounts) {
    std::snprintf(row, sizeof row, "  %-24s %8llu %7llu %8s\n", "hard negatives",
                  static_cast<unsigned long long>(t.hard_accounts),
                  static_cast<unsigned long long>(t.hard_flagged),
                  Percent(HardShare(t)).c_str());
    out << row;
  }
  if (unlabelled_requests_)
    out << "requests of unlabelled accounts: " << unlabelled_requests_ << "\n";

  out << "\ntargets:\n  " << (t.caught_ok ? "met    " : "NOT MET")
      << "  >= 95% of campaign accounts caught in every "
      << "campaign scenario";
  if (!t.lowest_scenario.empty())
    out << " (lowest: " << t.lowest_scenario << " " << Percent(t.lowest_share) << ")";
  out << "\n  " << (t.benign_ok ? "met    " : "NOT MET") << "  <= 0.3% of benign accounts flagged ("
      << Percent(t.benign_share) << ")\n  " << (t.speed_ok ? "met    " : "NOT MET")
      << "  median campaign caught within its first 200 requests (median requests before first "
         "detection: "
      << (t.median_before < 0 ? std::string("never caught") : std::to_string(t.median_before))
      << ")\n";
  if (t.hard_accounts)
    out << "  report   hard negatives flagged, apart from the benign target: " << t.hard_flagged
        << " of " << t.hard_accounts << " (" << Percent(HardShare(t)) << ")\n";
}

ordered Evaluation::Json() const {
  ordered j;
  j["labels"] = labels_path_;
  j["detection_rules"] = detector_ids_;
  ordered list = ordered::array();
  for (size_t i = 0; i < scenarios_.size(); ++i) {
    const Summary s = Summarize(i);
    const Scenario& sc = scenarios_[i];
    ordered e;
    e["scenario"] = sc.name;
    e["label"] = sc.campaign ? "campaign" : "benign";
    if (sc.hard) e["hard_negative"] = true;
    e["accounts"] = s.active;
    e["accounts_without_requests"] = s.silent;
    e["detected"] = s.detected;
    e["detected_share"] = s.share;
    e["requests"] = sc.requests;
    e["requests_before_first_detection"] = CountJson(sc.before_detection);
    e["account_requests_before_detection_p50"] = CountJson(s.median);
    e["account_requests_before_detection_p90"] = CountJson(s.p90);
    list.push_back(std::move(e));
  }
  j["scenarios"] = std::move(list);
  const Targets t = CheckTargets();
  j["benign"] = {{"accounts", t.benign_accounts},
                 {"flagged", t.benign_flagged},
                 {"flagged_share", t.benign_share}};
  if (t.hard_accounts)
    j["hard_negatives"] = {{"accounts", t.hard_accounts},
                           {"flagged", t.hard_flagged},
                           {"flagged_share", HardShare(t)}};
  j["unlabelled_requests"] = unlabelled_requests_;
  ordered targets;
  targets["campaign_accounts_caught"] = {{"met", t.caught_ok},
                                         {"min_share", kMinCaughtShare},
                                         {"lowest_scenario", t.lowest_scenario},
                                         {"lowest_share", t.lowest_share}};
  targets["benign_flagged"] = {
      {"met", t.benign_ok}, {"max_share", kMaxBenignShare}, {"share", t.benign_share}};
  targets["median_campaign_requests_before_detection"] = {
      {"met", t.speed_ok}, {"max", kMaxMedianBefore}, {"median", CountJson(t.median_before)}};
  j["targets"] = std::move(targets);
  return j;
}

}  // namespace tosgate::cli
