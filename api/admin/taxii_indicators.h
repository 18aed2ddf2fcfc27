// Confirmed campaigns, gathered from tosgate's own stores and written as a
// STIX 2.1 bundle (policies/stix.h): for `tosgate indicators export`, the
// admin API's /v1/admin/indicators/export and the TAXII collection.
//
// Which accounts: review-queue entries resolved as distillation (the
// resolution note starts with "distillation", any case), and, with
// min_risk > 0, accounts whose decisions in the audit store carry a match of
// `rule` at that risk or above. Which observables: the accounts' address
// ranges (from the audit store's client addresses, ip/24 and /48 by
// default) shared by at least `min_range_accounts` of them, and keyed
// hashes of their payment and device fingerprints (the accounts registry).
// Accounts that share a range or a fingerprint form one campaign. With the
// process's IndicatorEvidence (a `record: true` indicators rule) and a key,
// also the campaign's harvest templates - prompt SimHashes that recur, within
// template_distance bits, across min_range_accounts or more confirmed
// accounts, exported keyed (engine/indicators/request_print.h); accounts
// sharing one are one campaign - and its request shapes: profiles that are
// the most used of min_range_accounts or more confirmed accounts.
//
// What never leaves: account ids, prompt text or digests, raw addresses
// below the range, raw fingerprints, unkeyed SimHashes, model versions.
//
// Not thread-safe: one call at a time per set of stores.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "policies/stix.h"
#include "tosgate/status.h"

namespace tosgate::engine {
class IndicatorEvidence;
}  // namespace tosgate::engine

namespace tosgate::storage {
class AccountsRegistry;
class AuditReadStore;
class ReviewQueue;
}  // namespace tosgate::storage

namespace tosgate::api::admin {

struct IndicatorExportOptions {
  std::string rule;       // the competitor_training rule; empty: any rule
  double min_risk = 0;    // 0: review-queue confirmations only
  std::string key;        // the partners' HMAC key; empty: no fingerprints leave
  int v4_bits = 24, v6_bits = 48;
  int min_range_accounts = 2;
  int confidence = 70;
  policies::StixExportOptions stix;
  // The TAXII 2.1 collection (api/admin/taxii_collection.h) is written
  // afresh from the stores at most this often (a poll in between gets the
  // objects as last written).
  int64_t taxii_refresh_ms = 60'000;
  // Templates and shapes (above); null: none exported.
  const engine::IndicatorEvidence* evidence = nullptr;
  int template_distance = 12;
  size_t max_templates = 32;  // a campaign
  size_t max_shapes = 4;
};

// What a bundle holds, listed before it is written.
struct IndicatorExportSummary {
  size_t accounts = 0;  // confirmed accounts considered (never listed)
  size_t campaigns = 0;
  size_t ranges = 0, payments = 0, devices = 0;
  size_t templates = 0, shapes = 0;
  std::string Describe() const;  // several lines for a person
};

// Any of the stores may be null (that source is then skipped).
Status GatherCampaigns(storage::ReviewQueue* reviews, storage::AuditReadStore* audit,
                       storage::AccountsRegistry* registry, const IndicatorExportOptions& options,
                       std::vector<policies::StixCampaignExport>* campaigns,
                       IndicatorExportSummary* summary);

}  // namespace tosgate::api::admin
