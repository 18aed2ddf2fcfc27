// tosgate accounts spend: an account's spend to date against each cost
// budget of the policy a gateway serves, read where the gateways count it:
// the Redis of `state.backend: redis` (docs/cost-budgets.md). A gateway on
// the memory backend keeps its counts in its own process; its admin API
// answers the same (GET /v1/admin/accounts/ID/spend).

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/prices.h"
#include "engine/rules/cost_budget_spend.h"
#include "server/config.h"
#include "server/policy_source.h"
#include "server/state_backend.h"
#include "storage/accounts/registry.h"
#include "tosgate/clock.h"

namespace tosgate::cli {

int AccountsSpend(Args args, const std::string& db) {
  bool bad = false;
  std::string id, config;
  TakeFlag(&args, "--id", &id, &bad);
  TakeFlag(&args, "--config", &config, &bad);
  const bool json = TakeSwitch(&args, "--json");
  if (bad || !args.empty() || id.empty() || config.empty()) {
    std::cerr << "usage: tosgate accounts --db FILE spend --id ID --config FILE [--json]\n";
    return 2;
  }
  server::ServeConfig cfg;
  if (auto errors = server::LoadServeConfig(config, &cfg); !errors.empty()) {
    for (const auto& e : errors) std::cerr << e.ToString() << "\n";
    return 2;
  }
  if (cfg.state_backend != server::StateBackendKind::kRedis) {
    std::cerr << "tosgate accounts: " << config
              << " keeps counters in each gateway's memory (state.backend: memory); ask the "
                 "gateway's admin API: GET /v1/admin/accounts/"
              << id << "/spend\n";
    return 1;
  }
  policies::LoadResult loaded = server::LoadPolicySource(cfg.policies_dir);
  if (!loaded.errors.empty()) {
    for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
    return 1;
  }
  auto reg = storage::AccountsRegistry::Open({.path = db, .create = false});
  if (!reg.ok()) {
    std::cerr << "tosgate accounts: " << reg.status().message() << "\n";
    return 1;
  }
  auto account = (*reg)->GetAccount(id);
  if (!account.ok()) {
    std::cerr << "tosgate accounts: " << account.status().message() << "\n";
    return 1;
  }
  auto backend = server::StateBackend::Open(cfg);
  if (!backend.ok()) {
    std::cerr << "tosgate accounts: " << backend.status().message() << "\n";
    return 1;
  }
  SystemClock clock;
  auto rows = engine::AccountSpend(*loaded.snapshot, *(*backend)->store(), *account,
                                   clock.wall_ms(), clock.monotonic_ns());
  if (!rows.ok()) {
    std::cerr << "tosgate accounts: " << rows.status().message() << "\n";
    return 1;
  }
  if (json) {
    nlohmann::json budgets = nlohmann::json::array();
    for (const engine::BudgetSpend& b : *rows) {
      nlohmann::json j = {{"rule", b.rule_id}, {"tier", b.tier}, {"scope", b.scope},
                          {"limit_usd", engine::FormatUsd(b.limit)}, {"per", b.per},
                          {"timezone", b.timezone}, {"period_start", b.period_start},
                          {"resets_at", b.resets_at}};
      if (b.spent >= 0) j["spent_usd"] = engine::FormatUsd(b.spent);
      else j["spent_usd"] = nullptr;
      budgets.push_back(std::move(j));
    }
    std::cout << nlohmann::json{{"account", id}, {"budgets", budgets}}.dump() << "\n";
    return 0;
  }
  if (rows->empty()) std::cout << "no cost budget applies to " << id << " (tier " << account->tier << ")\n";
  for (const engine::BudgetSpend& b : *rows) {
    std::cout << b.rule_id << "  " << b.scope << "  ";
    if (b.spent >= 0) std::cout << "$" << engine::FormatUsd(b.spent);
    else std::cout << "(per ip, model or operation: not shown)";
    std::cout << " of $" << engine::FormatUsd(b.limit) << " per " << b.per << " (" << b.timezone
              << "), resets " << b.resets_at << "\n";
  }
  return 0;
}

}  // namespace tosgate::cli
