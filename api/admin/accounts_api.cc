// Accounts, their keys and the review queue, over storage::AccountsRegistry
// and storage::ReviewQueue. Accounts are read and written in the accounts
// JSON shape (docs/accounts.md), validated by the same code as the file
// import (storage/accounts/account_json.h).

#include "api/admin/handlers.h"
#include "engine/accounts.h"
#include "engine/rules/cost_budget_spend.h"
#include "engine/usage.h"
#include "storage/accounts/account_json.h"
#include "storage/accounts/registry.h"
#include "storage/admin/review_queue.h"

namespace tosgate::api::admin {
namespace {


nlohmann::json AccountJson(const Account& a) {
  return nlohmann::json::parse(storage::AccountJsonLine(a), nullptr, false);
}

nlohmann::json KeyJson(const storage::ApiKeyRecord& k) {
  return {{"key_id", k.key_id}, {"account", k.account}, {"label", k.label},
          {"created_ms", k.created_ms}, {"revoked_ms", k.revoked_ms}};
}

nlohmann::json ReviewJson(const storage::ReviewItem& r) {
  return {{"id", r.id},           {"account", r.account},         {"rule_id", r.rule_id},
          {"detail", r.detail},   {"created_ms", r.created_ms},   {"resolved_ms", r.resolved_ms},
          {"resolved_by", r.resolved_by}, {"note", r.note}, {"open", r.resolved_ms == 0}};
}

// Amounts as decimal dollars ("12.50", engine::FormatUsd) beside exact
// nano-dollars; spent is null where the budget's meters are per ip, model
// or operation and no one of them is the account's.
nlohmann::json SpendJson(const std::string& account, const std::vector<engine::BudgetSpend>& rows) {
  nlohmann::json budgets = nlohmann::json::array();
  for (const engine::BudgetSpend& b : rows) {
    nlohmann::json j = {{"rule", b.rule_id},          {"tier", b.tier},
                        {"scope", b.scope},           {"limit_usd", engine::FormatUsd(b.limit)},
                        {"limit_nano", b.limit},      {"per", b.per},
                        {"timezone", b.timezone},     {"period_start", b.period_start},
                        {"resets_at", b.resets_at}};
    if (b.spent >= 0) {
      j["spent_usd"] = engine::FormatUsd(b.spent);
      j["spent_nano"] = b.spent;
      j["remaining_usd"] = engine::FormatUsd(std::max<int64_t>(0, b.limit - b.spent));
    } else {
      j["spent_usd"] = nullptr;
    }
    budgets.push_back(std::move(j));
  }
  return {{"account", account}, {"budgets", budgets}};
}

// used, remaining and reset_ms are null where not known (limits per ip,
// model or operation; a shared store that cannot count leases unasked).
nlohmann::json UsageJson(const std::string& account, const std::vector<engine::LimitUsage>& rows) {
  nlohmann::json limits = nlohmann::json::array();
  for (const engine::LimitUsage& u : rows) {
    auto known = [](int64_t v) { return v >= 0 ? nlohmann::json(v) : nlohmann::json(nullptr); };
    limits.push_back({{"rule", u.rule_id},          {"kind", u.kind},
                      {"unit", u.unit},             {"scope", u.scope},
                      {"limit", u.limit},           {"amount", u.amount},
                      {"used", known(u.used)},      {"remaining", known(u.remaining)},
                      {"reset_ms", known(u.reset_ms)}, {"override", u.overridden}});
  }
  return {{"account", account}, {"limits", limits}};
}

class AccountsApi {
 public:
  explicit AccountsApi(AdminServices* s) : s_(s) {}

  AdminResponse List(AdminRequest& req) {
    if (!s_->registry) return NotConfigured("the accounts registry");
    AdminResponse err;
    if (!CheckQuery(req, {"after", "limit"}, &err)) return err;
    int64_t limit = 100;
    if (req.HasQuery("limit") && (!ParseId(req.Query("limit"), &limit) || limit > 1000))
      return Problem(400, "bad-parameter", "limit must be 1 to 1000");
    auto page = s_->registry->ListAccounts(req.Query("after"), static_cast<size_t>(limit));
    if (!page.ok()) return StatusProblem(page.status());
    nlohmann::json list = nlohmann::json::array();
    for (const Account& a : page->accounts) list.push_back(AccountJson(a));
    nlohmann::json j = {{"accounts", list}};
    if (!page->next_after.empty()) j["next_after"] = page->next_after;
    return Json(200, j);
  }

  AdminResponse Get(AdminRequest& req) {
    if (!s_->registry) return NotConfigured("the accounts registry");
    auto a = s_->registry->GetAccount(req.Param("id"));
    if (!a.ok()) return StatusProblem(a.status());
    return Json(200, AccountJson(*a));
  }

  // Spend to date against each cost budget of the policy served now.
  AdminResponse Spend(AdminRequest& req) {
    if (!s_->registry) return NotConfigured("the accounts registry");
    auto a = s_->registry->GetAccount(req.Param("id"));
    if (!a.ok()) return StatusProblem(a.status());
    std::shared_ptr<const engine::PolicySnapshot> snap = s_->engine->snapshot();
    if (!snap) return Problem(503, "not-configured", "no policy is loaded");
    auto rows = engine::AccountSpend(*snap, s_->engine->state_store(), *a, s_->clock->wall_ms(),
                                     s_->clock->monotonic_ns());
    if (!rows.ok()) return StatusProblem(rows.status());
    return Json(200, SpendJson(a->id, *rows));
  }

  // Usage against each rate limit and token budget of the policy served
  // now, read without counting (engine/usage.h).
  AdminResponse Usage(AdminRequest& req) {
    if (!s_->registry) return NotConfigured("the accounts registry");
    auto a = s_->registry->GetAccount(req.Param("id"));
    if (!a.ok()) return StatusProblem(a.status());
    std::shared_ptr<const engine::PolicySnapshot> snap = s_->engine->snapshot();
    if (!snap) return Problem(503, "not-configured", "no policy is loaded");
    auto rows = engine::AccountUsage(*snap, s_->engine->state_store(), *a, s_->clock->wall_ms(),
                                     s_->clock->monotonic_ns());
    if (!rows.ok()) return StatusProblem(rows.status());
    return Json(200, UsageJson(a->id, *rows));
  }

  AdminResponse Create(AdminRequest& req) {
    if (!s_->registry) return NotConfigured("the accounts registry");
    nlohmann::json body;
    AdminResponse err;
    if (!ParseJsonBody(req, {"id", "org", "tier", "country", "flags", "created",
                             "payment_fingerprint", "key_ids", "suspended", "limit_overrides"},
                       &body, &err))
      return err;
    Account a;
    if (std::string why = storage::ParseAccountJson(req.body, &a); !why.empty())
      return Problem(400, "bad-account", why);
    if (Status s = s_->registry->AddAccount(a, "admin api"); !s.ok()) return StatusProblem(s);
    auto stored = s_->registry->GetAccount(a.id);
    if (!stored.ok()) return StatusProblem(stored.status());
    AdminResponse r = Json(201, AccountJson(*stored));
    r.headers.emplace_back("Location", "/v1/admin/accounts/" + a.id);
    r.audit_note = "created " + a.id;
    return r;
  }

  // Members given replace the account's; the rest stay. Checked as a whole
  // account line, so a patch can make nothing a file import would refuse.
  AdminResponse Patch(AdminRequest& req) {
    if (!s_->registry) return NotConfigured("the accounts registry");
    nlohmann::json patch;
    AdminResponse err;
    if (!ParseJsonBody(req, {"org", "tier", "country", "flags", "payment_fingerprint", "suspended",
                             "limit_overrides"},
                       &patch, &err))
      return err;
    std::string why;
    Status s = s_->registry->UpdateAccount(req.Param("id"), [&](Account* a) {
      nlohmann::json merged = AccountJson(*a);
      merged.erase("key_ids");
      for (auto it = patch.begin(); it != patch.end(); ++it) merged[it.key()] = *it;
      Account next;
      why = storage::ParseAccountJson(merged.dump(), &next);
      if (!why.empty()) return Status::InvalidArgument(why);
      next.id = a->id;
      next.key_ids = a->key_ids;
      *a = std::move(next);
      return Status::Ok();
    });
    if (!why.empty()) return Problem(400, "bad-account", why);
    if (!s.ok()) return StatusProblem(s);
    AdminResponse r = Get(req);
    r.audit_note = "updated " + req.Param("id") + ": " + patch.dump();
    return r;
  }

  AdminResponse Suspend(AdminRequest& req, bool suspended) {
    if (!s_->registry) return NotConfigured("the accounts registry");
    nlohmann::json body;
    AdminResponse err;
    if (!ParseJsonBody(req, {"note"}, &body, &err, /*empty_ok=*/true)) return err;
    Status s = s_->registry->UpdateAccount(req.Param("id"), [&](Account* a) {
      a->suspended = suspended;
      return Status::Ok();
    });
    if (!s.ok()) return StatusProblem(s);
    AdminResponse r = Get(req);
    r.audit_note = std::string(suspended ? "suspended " : "unsuspended ") + req.Param("id") +
                   (body.contains("note") && body["note"].is_string() ? ": " + body["note"].get<std::string>() : "");
    return r;
  }

  AdminResponse Keys(AdminRequest& req) {
    if (!s_->registry) return NotConfigured("the accounts registry");
    if (auto a = s_->registry->GetAccount(req.Param("id")); !a.ok()) return StatusProblem(a.status());
    auto keys = s_->registry->ListKeys(req.Param("id"));
    if (!keys.ok()) return StatusProblem(keys.status());
    nlohmann::json list = nlohmann::json::array();
    for (const auto& k : *keys) list.push_back(KeyJson(k));
    return Json(200, {{"keys", list}});
  }

  // The secret is in this answer only; the registry keeps its SHA-256.
  AdminResponse IssueKey(AdminRequest& req) {
    if (!s_->registry) return NotConfigured("the accounts registry");
    nlohmann::json body;
    AdminResponse err;
    if (!ParseJsonBody(req, {"label"}, &body, &err, /*empty_ok=*/true)) return err;
    if (body.contains("label") && !body["label"].is_string())
      return Problem(400, "bad-request", "\"label\" must be a string");
    auto secret = storage::NewKeySecret();
    if (!secret.ok()) return StatusProblem(secret.status());
    const std::string key_id = engine::KeyId(*secret);
    if (Status s = s_->registry->AddKey(req.Param("id"), key_id, body.value("label", "")); !s.ok())
      return StatusProblem(s);
    AdminResponse r = Json(201, {{"key", *secret}, {"key_id", key_id}, {"account", req.Param("id")},
                                 {"note", "the key is shown once; only its SHA-256 is stored"}});
    r.headers.emplace_back("Cache-Control", "no-store");
    r.audit_note = "issued key " + key_id.substr(0, 16) + " to " + req.Param("id");
    return r;
  }

  AdminResponse RevokeKey(AdminRequest& req) {
    if (!s_->registry) return NotConfigured("the accounts registry");
    if (!storage::IsKeyId(req.Param("key_id")))
      return Problem(400, "bad-key-id", "a key id is 64 lower-case hex digits (SHA-256 of the key)");
    auto k = s_->registry->RevokeKey(req.Param("key_id"));
    if (!k.ok()) return StatusProblem(k.status());
    AdminResponse r = Json(200, KeyJson(*k));
    r.audit_note = "revoked key " + k->key_id.substr(0, 16) + " of " + k->account;
    return r;
  }

  AdminResponse Reviews(AdminRequest& req) {
    if (!s_->reviews) return NotConfigured("the review queue");
    AdminResponse err;
    if (!CheckQuery(req, {"status", "after", "limit"}, &err)) return err;
    const std::string status = req.Query("status", "open");
    if (status != "open" && status != "all") return Problem(400, "bad-parameter", "status must be open or all");
    int64_t limit = 100, after = 0;
    if (req.HasQuery("limit") && (!ParseId(req.Query("limit"), &limit) || limit > 1000))
      return Problem(400, "bad-parameter", "limit must be 1 to 1000");
    if (req.HasQuery("after") && !ParseId(req.Query("after"), &after))
      return Problem(400, "bad-parameter", "after must be a review entry id");
    auto list = s_->reviews->List(status == "open", static_cast<size_t>(limit), after);
    if (!list.ok()) return StatusProblem(list.status());
    nlohmann::json items = nlohmann::json::array();
    for (const auto& it : *list) items.push_back(ReviewJson(it));
    nlohmann::json j = {{"items", items}};
    if (static_cast<int64_t>(list->size()) == limit) j["next_after"] = list->back().id;
    return Json(200, j);
  }

  AdminResponse Resolve(AdminRequest& req) {
    if (!s_->reviews) return NotConfigured("the review queue");
    int64_t id;
    if (!ParseId(req.Param("id"), &id)) return Problem(400, "bad-id", "a review entry id is a positive integer");
    nlohmann::json body;
    AdminResponse err;
    if (!ParseJsonBody(req, {"note"}, &body, &err)) return err;
    if (!body.contains("note") || !body["note"].is_string() || body["note"].get<std::string>().empty())
      return Problem(400, "bad-request", "\"note\" is required: say what was decided and why");
    auto item = s_->reviews->Resolve(id, req.caller.name, body["note"].get<std::string>());
    if (!item.ok()) return StatusProblem(item.status());
    AdminResponse r = Json(200, ReviewJson(*item));
    r.audit_note = "resolved review " + std::to_string(id) + " of " + item->account;
    return r;
  }

 private:
  AdminServices* s_;
};

}  // namespace

void AddAccountRoutes(Router& r, AdminServices* s) {
  auto api = std::make_shared<AccountsApi>(s);
  auto bind = [api](AdminResponse (AccountsApi::*m)(AdminRequest&)) {
    return [api, m](AdminRequest& req) { return ((*api).*m)(req); };
  };
  r.Add({"GET", "/v1/admin/accounts", kReaders, "accounts.list", bind(&AccountsApi::List)});
  r.Add({"POST", "/v1/admin/accounts", kAdmins, "accounts.create", bind(&AccountsApi::Create)});
  r.Add({"GET", "/v1/admin/accounts/{id}", kReaders, "accounts.get", bind(&AccountsApi::Get)});
  r.Add({"GET", "/v1/admin/accounts/{id}/spend", kReaders, "accounts.spend", bind(&AccountsApi::Spend)});
  r.Add({"GET", "/v1/admin/accounts/{id}/usage", kReaders, "accounts.usage", bind(&AccountsApi::Usage)});
  r.Add({"PATCH", "/v1/admin/accounts/{id}", kAdmins, "accounts.update", bind(&AccountsApi::Patch)});
  r.Add({"POST", "/v1/admin/accounts/{id}/suspend", kAdmins, "accounts.suspend",
         [api](AdminRequest& req) { return api->Suspend(req, true); }});
  r.Add({"POST", "/v1/admin/accounts/{id}/unsuspend", kAdmins, "accounts.unsuspend",
         [api](AdminRequest& req) { return api->Suspend(req, false); }});
  r.Add({"GET", "/v1/admin/accounts/{id}/keys", kAuditors, "keys.list", bind(&AccountsApi::Keys)});
  r.Add({"POST", "/v1/admin/accounts/{id}/keys", kAdmins, "keys.issue", bind(&AccountsApi::IssueKey)});
  r.Add({"DELETE", "/v1/admin/keys/{key_id}", kAdmins, "keys.revoke", bind(&AccountsApi::RevokeKey)});
  r.Add({"GET", "/v1/admin/review", kAuditors, "review.list", bind(&AccountsApi::Reviews)});
  r.Add({"POST", "/v1/admin/review/{id}/resolve", kAdmins, "review.resolve", bind(&AccountsApi::Resolve)});
}

}  // namespace tosgate::api::admin
