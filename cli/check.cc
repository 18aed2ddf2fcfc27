// tosgate check: decides one request, described as one line of a traffic
// capture (method, path, client_ip, headers, body), against a policy set.
// Counters start empty, so only stateless rules and first hits show.
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "api/request/request_description.h"
#include "cli/commands.h"
#include "cli/policy_source.h"
#include "engine/engine.h"
#include "storage/accounts/cache.h"
#include "storage/accounts/file.h"

namespace tosgate::cli {
namespace {

nlohmann::json DecisionJson(const Decision& d) {
  nlohmann::json matches = nlohmann::json::array();
  for (const RuleMatch& m : d.matches)
    matches.push_back({{"rule", m.rule_id}, {"action", ActionName(m.action)}, {"shadow", m.shadow},
                       {"reason", m.reason}, {"detail", m.detail}, {"retry_after_ms", m.retry_after_ms}});
  nlohmann::json headers = nlohmann::json::object();
  for (const auto& [k, v] : d.headers) headers[k] = v;
  return {{"effect", EffectName(d.effect)}, {"enforced", d.enforced}, {"status", d.status},
          {"reason", d.reason},            {"rules", d.rule_ids},     {"matches", matches},
          {"headers", headers},            {"account", d.account_id}, {"operation", d.operation},
          {"policy_revision", d.policy_revision}, {"decision_id", d.decision_id}};
}

}  // namespace

int RunCheck(const Args& in) {
  Args args = in;
  bool bad = false;
  std::string dir, request_file, accounts_file, accounts_db;
  TakeFlag(&args, "--policies", &dir, &bad);
  const bool have_request = TakeFlag(&args, "--request", &request_file, &bad);
  TakeFlag(&args, "--accounts", &accounts_file, &bad);
  TakeFlag(&args, "--accounts-db", &accounts_db, &bad);
  const bool explain = TakeSwitch(&args, "--explain");
  const bool as_json = TakeSwitch(&args, "--json");
  if (bad || !have_request || !args.empty()) {
    std::cerr << "usage: tosgate check [--policies DIR] --request FILE [--accounts FILE | --accounts-db FILE]"
                 " [--explain] [--json]\n";
    return 2;
  }

  std::ifstream f(request_file);
  if (!f) {
    std::cerr << "tosgate check: cannot read " << request_file << "\n";
    return 2;
  }
  std::stringstream text;
  text << f.rdbuf();
  api::RequestDescription desc;
  if (Status s = api::DescriptionFromJson(text.str(), &desc); !s.ok()) {
    std::cerr << "tosgate check: " << request_file << ": " << s.message() << "\n";
    return 2;
  }

  Request req;
  if (Status s = api::RequestFromDescription(desc, &req); !s.ok()) {
    std::cerr << "tosgate check: " << request_file << ": " << s.message() << "\n";
    return 2;
  }

  policies::LoadResult loaded = LoadPolicySource(dir);
  if (ReportPolicyErrors(loaded)) return 2;
  engine::MemoryAccountDirectory accounts;
  if (!accounts_file.empty()) {
    auto list = storage::LoadAccountsJsonl(accounts_file);
    if (!list.ok()) {
      std::cerr << "tosgate check: " << list.status().message() << "\n";
      return 2;
    }
    accounts.Replace(std::move(list).value());
  }
  std::unique_ptr<storage::AccountsRegistry> registry;
  std::unique_ptr<storage::AccountsCache> cache;
  if (!accounts_db.empty()) {
    auto reg = storage::AccountsRegistry::Open({.path = accounts_db, .create = false});
    auto c = reg.ok() ? storage::AccountsCache::Create(reg->get())
                      : Result<std::unique_ptr<storage::AccountsCache>>(reg.status());
    if (!c.ok()) {
      std::cerr << "tosgate check: " << c.status().message() << "\n";
      return 2;
    }
    registry = std::move(reg).value();
    cache = std::move(c).value();
  }
  SystemClock clock;
  auto state = engine::NewMemoryStateStore();
  engine::Engine engine({&clock, state.get(), nullptr,
                         cache ? static_cast<engine::AccountDirectory*>(cache.get()) : &accounts});
  engine.Publish(loaded.snapshot);
  Decision d = engine.Check(req);

  if (as_json) {
    std::cout << DecisionJson(d).dump(2) << "\n";
  } else if (explain) {
    std::cout << d.Explain();
  } else {
    std::cout << EffectName(d.effect) << " " << d.status;
    if (!d.reason.empty()) std::cout << " " << d.reason;
    std::cout << "\n";
  }
  return 0;
}

}  // namespace tosgate::cli
