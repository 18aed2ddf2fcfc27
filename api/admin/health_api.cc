// /healthz, /readyz and /metrics.
#include "api/admin/handlers.h"

namespace tosgate::api::admin {

void AddHealthRoutes(Router& r, AdminServices* s) {
  r.Add({"GET", "/healthz", kPublic, "healthz",
         [](AdminRequest&) { return Json(200, {{"status", "ok"}}); }});
  r.Add({"GET", "/readyz", kPublic, "readyz", [s](AdminRequest&) {
           std::string reason;
           if (s->ready && !s->ready(&reason))
             return Json(503, {{"status", "not-ready"},
                               {"reason", reason.empty() ? "not ready" : reason}});
           auto snap = s->engine->snapshot();
           if (!snap)
             return Json(503, {{"status", "not-ready"}, {"reason", "no policy snapshot is published"}});
           nlohmann::json j = {{"status", "ready"}, {"policy_revision", snap->revision}};
           // A rejected reload leaves the previous set serving: still ready,
           // but say so, for whoever changed the files.
           if (s->metrics) {
             const std::string err = s->metrics->last_reload_error();
             j["policy_reload"] = err.empty() ? "ok" : "failed";
             if (!err.empty()) j["policy_reload_error"] = err;
           }
           return Json(200, j);
         }});
  r.Add({"GET", "/metrics", kAnyRole, "metrics", [s](AdminRequest&) {
           AdminResponse res;
           res.content_type = "text/plain; version=0.0.4; charset=utf-8";
           if (s->metrics_registry) {
             res.body = s->metrics_registry->Render();
           } else {
             AdminMetrics fallback;
             res.body = (s->metrics ? s->metrics : &fallback)->Render(*s->engine);
           }
           return res;
         }});
}

}  // namespace tosgate::api::admin
