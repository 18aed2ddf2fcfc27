// Scoring a replay against ground truth (`tosgate replay --labels FILE`).
//
// A labels file is JSON Lines, one account a line (docs/replay.md,
// "Evaluating detection"):  {"account": "acct_17", "label": "benign"|"campaign", "scenario": "support-bot"}
//
// An account counts as detected from the first candidate decision that
// carries a match (shadow or enforced, any action) of a detection rule: by
// default every rule of kind competitor_training. Per scenario the report
// gives the share of campaign accounts caught, how many of the scenario's
// requests came before its first detection, and the share of benign accounts
// flagged; then whether issue 5's targets are met. Benign accounts labelled
// "hard_negative": true (legitimate traffic shaped like a campaign) are
// reported apart and left out of the benign target. Not synchronized.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "engine/snapshot.h"
#include "tosgate/decision.h"
#include "tosgate/status.h"

namespace tosgate::cli {

// Which rules of the candidate count as detections: those whose kind is in
// `kinds`, and those whose id is in `rules` (an entry ending in '*' is a prefix).
struct DetectionSpec {
  std::vector<std::string> kinds{"competitor_training"};
  std::vector<std::string> rules;
};

class Evaluation {
 public:
  // Reads the labels; a bad line is an error naming FILE:LINE.
  Status LoadLabels(const std::string& path);
  // Picks the detection rules out of the candidate snapshot; returns their ids.
  std::vector<std::string> SetDetectors(const engine::PolicySnapshot& snapshot,
                                        const DetectionSpec& spec);
  // One replayed request of `account` and the candidate's decision for it.
  void Observe(const std::string& account, const Decision& d);

  void PrintText(std::ostream& out) const;
  nlohmann::ordered_json Json() const;

 private:
  struct Account {
    size_t scenario = 0;
    uint64_t requests = 0;
    int64_t before_detection = -1;  // its requests before the first detection; -1: never
  };
  struct Scenario {
    std::string name;
    bool campaign = false;
    bool hard = false;  // hard negatives: benign, reported apart
    uint64_t accounts = 0, requests = 0;
    int64_t before_detection = -1;  // the scenario's requests before its first detection
  };
  struct Summary {                                  // per scenario, worked out for the report
    uint64_t active = 0, detected = 0, silent = 0;  // silent: labelled, sent nothing
    double share = 0;
    int64_t median = -1, p90 = -1;  // over the detected accounts' before_detection
  };
  Summary Summarize(size_t scenario) const;
  struct Targets {
    bool caught_ok = true, benign_ok = true, speed_ok = true;
    std::string lowest_scenario;
    double lowest_share = 1, benign_share = 0;
    uint64_t benign_accounts = 0, benign_flagged = 0;
    uint64_t hard_accounts = 0, hard_flagged = 0;
    int64_t median_before = -1;  // -1: no campaign, or the median one was never caught
  };
  Targets CheckTargets() const;
  static double HardShare(const Targets& t);

  std::string labels_path_;
  std::vector<Scenario> scenarios_;  // in order of first appearance in the labels
  std::unordered_map<std::string, Account> accounts_;
  std::unordered_set<std::string> detectors_;
  std::vector<std::string> detector_ids_;
  uint64_t unlabelled_requests_ = 0;
};

}  // namespace tosgate::cli
