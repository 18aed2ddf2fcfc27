// POST /v1/admin/evaluate: what the gateway would decide for a described
// request, with the full explanation. By default on a scratch engine (the
// active snapshot, the same accounts, a throwaway state store, no audit), so
// counters, limits and the audit trail are untouched; ?commit=true (admin
// only) decides on the live engine, counted and recorded like any request.
#include <chrono>

#include "api/admin/handlers.h"
#include "api/request/request_description.h"

namespace tosgate::api::admin {
namespace {

nlohmann::json DecisionJson(const Decision& d) {
  nlohmann::json matches = nlohmann::json::array();
  for (const RuleMatch& m : d.matches)
    matches.push_back({{"rule", m.rule_id}, {"action", std::string(ActionName(m.action))},
                       {"shadow", m.shadow}, {"reason", m.reason}, {"detail", m.detail}});
  nlohmann::json headers = nlohmann::json::array();
  for (const auto& [k, v] : d.headers) headers.push_back({{"name", k}, {"value", v}});
  return {{"effect", std::string(EffectName(d.effect))},
          {"enforced", d.enforced},
          {"status", d.status},
          {"reason", d.reason},
          {"rules", d.rule_ids},
          {"matches", matches},
          {"headers", headers},
          {"retry_after_s", d.retry_after_s},
          {"risk", d.risk},
          {"decision_id", d.decision_id},
          {"policy_revision", d.policy_revision},
          {"account", d.account_id},
          {"operation", d.operation},
          {"fail_open", d.fail_open},
          {"explanation", d.Explain()}};
}

}  // namespace

void AddEvaluateRoutes(Router& r, AdminServices* s) {
  r.Add({"POST", "/v1/admin/evaluate", kAuthors | kAuditors, "evaluate", [s](AdminRequest& req) {
           AdminResponse err;
           if (!CheckQuery(req, {"commit"}, &err)) return err;
           const std::string commit_text = req.Query("commit", "false");
           if (commit_text != "true" && commit_text != "false")
             return Problem(400, "bad-parameter", "commit must be true or false");
           const bool commit = commit_text == "true";
           if (commit && req.caller.role != Role::kAdmin)
             return Problem(403, "forbidden", "only the admin role may evaluate with commit=true");
           nlohmann::json body;
           if (!ParseJsonBody(req, {"method", "path", "client_ip", "headers", "body", "key"}, &body, &err))
             return err;
           RequestDescription desc;
           if (Status st = DescriptionFromJson(req.body, &desc); !st.ok())
             return Problem(400, "bad-request-description", st.message());
           if (auto k = body.find("key"); k != body.end()) {
             if (!k->is_string()) return Problem(400, "bad-request-description", "\"key\" must be a string");
             desc.key = k->get<std::string>();
           }
           Request request;
           if (Status st = RequestFromDescription(desc, &request); !st.ok())
             return Problem(400, "bad-request-description", st.message());
           auto snap = s->engine->snapshot();
           if (!snap) return Problem(503, "not-ready", "no policy snapshot is published");
           const auto start = std::chrono::steady_clock::now();
           Decision d;
           if (commit) {
             d = s->engine->Check(request);
           } else {
             auto state = engine::NewMemoryStateStore({.max_entries = 4096, .shards = 1});
             engine::Engine scratch({s->clock, state.get(), nullptr, s->accounts});
             scratch.Publish(snap);
             d = scratch.Check(request);
           }
           const auto took = std::chrono::steady_clock::now() - start;
           nlohmann::json j = DecisionJson(d);
           j["committed"] = commit;
           j["evaluate_us"] = std::chrono::duration_cast<std::chrono::microseconds>(took).count();
           AdminResponse res = Json(200, j);
           res.read_only = !commit;
           res.audit_note = std::string(commit ? "committed " : "dry run ") +
                            std::string(EffectName(d.effect));
           return res;
         }});
}

}  // namespace tosgate::api::admin
