// Policies: upload a bundle, validate it, activate a version atomically,
// list versions and activations, diff two versions, roll back.
//
// A bundle is JSON: {"files": {"<relative name>": "<content>", ...}}, the
// same (name, content) pairs policies::LoadPolicyFiles takes.
#include <mutex>

#include "api/admin/console_backtest.h"
#include "api/admin/diff.h"
#include "api/admin/handlers.h"
#include "policies/loader.h"
#include "storage/admin/policy_versions.h"

namespace tosgate::api::admin {
namespace {

constexpr size_t kMaxFiles = 500;

// A relative path of plain segments: no "..", no absolute or hidden parts,
// nothing a file system or a shell would read as more than a name.
bool SafeName(const std::string& name) {
  if (name.empty() || name.size() > 255 || name.front() == '/') return false;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string::npos) slash = name.size();
    const std::string seg = name.substr(start, slash - start);
    if (seg.empty() || seg.front() == '.') return false;
    for (char c : seg)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
    start = slash + 1;
  }
  return true;
}

nlohmann::json DiagnosticsJson(const std::vector<policies::Diagnostic>& ds, policies::Severity want) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : ds) {
    if (d.severity != want) continue;
    out.push_back({{"file", d.file}, {"line", d.line}, {"column", d.column}, {"key", d.key},
                   {"message", d.message}, {"text", d.ToString()}});
  }
  return out;
}

nlohmann::json VersionJson(const storage::PolicyVersion& v, bool files) {
  nlohmann::json j = {{"id", v.id},           {"author", v.author},     {"created_ms", v.created_ms},
                      {"sha256", v.sha256},   {"message", v.message},   {"revision", v.revision}};
  if (files) {
    nlohmann::json f = nlohmann::json::object();
    for (const auto& [n, c] : v.files) f[n] = c;
    j["files"] = f;
  }
  return j;
}

// Reads {"files": {...}} (and `extra` members) into *files.
bool ReadBundle(const AdminRequest& req, std::initializer_list<const char*> allowed,
                nlohmann::json* body, storage::PolicyFiles* files, AdminResponse* err) {
  if (!ParseJsonBody(req, allowed, body, err)) return false;
  auto it = body->find("files");
  if (it == body->end() || !it->is_object() || it->empty()) {
    *err = Problem(400, "bad-bundle", "\"files\" must be an object of file name -> YAML text");
    return false;
  }
  if (it->size() > kMaxFiles) {
    *err = Problem(400, "bad-bundle", "a bundle holds at most " + std::to_string(kMaxFiles) + " files");
    return false;
  }
  for (auto f = it->begin(); f != it->end(); ++f) {
    if (!SafeName(f.key())) {
      *err = Problem(400, "bad-file-name",
                     "file name \"" + f.key() + "\" must be a relative path of letters, digits, "
                     "'.', '_' and '-' (no '..', no leading '/' or '.')");
      return false;
    }
    if (!f->is_string()) {
      *err = Problem(400, "bad-bundle", "file \"" + f.key() + "\" must be a string");
      return false;
    }
    files->emplace_back(f.key(), f->get<std::string>());
  }
  return true;
}

AdminResponse InvalidPolicy(const policies::LoadResult& loaded) {
  AdminResponse r = Problem(422, "invalid-policy",
                            std::to_string(loaded.errors.size()) + " error(s) in the policy bundle");
  nlohmann::json j = nlohmann::json::parse(r.body);
  j["errors"] = DiagnosticsJson(loaded.errors, policies::Severity::kError);
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

class PoliciesApi {
 public:
  explicit PoliciesApi(AdminServices* s) : s_(s) {}

  // A bundle's `imports:` resolve packs as the server does; its `path:`
  // imports stay among the bundle's files.
  policies::LoadOptions LoadOptions() const {
    policies::LoadOptions options;
    options.packs = s_->packs;
    return options;
  }

  AdminResponse Validate(AdminRequest& req) {
    nlohmann::json body;
    storage::PolicyFiles files;
    AdminResponse err;
    if (!ReadBundle(req, {"files"}, &body, &files, &err)) return err;
    policies::LoadResult loaded = policies::LoadPolicyFiles(files, LoadOptions());
    nlohmann::json j = {{"valid", loaded.errors.empty() ? true : false}};
    bool has_error = false;
    for (const auto& d : loaded.errors) has_error |= d.severity == policies::Severity::kError;
    j["valid"] = !has_error && loaded.snapshot != nullptr;
    j["errors"] = DiagnosticsJson(loaded.errors, policies::Severity::kError);
    j["warnings"] = DiagnosticsJson(loaded.errors, policies::Severity::kWarning);
    if (loaded.snapshot) j["revision"] = loaded.snapshot->revision;
    j["sha256"] = storage::ContentHash(files);
    AdminResponse r = Json(200, j);
    r.read_only = true;
    return r;
  }

  // Recorded traffic (admin.backtest_capture) through a candidate, a bundle
  // or a stored version, and the serving set side by side: replay's report.
  AdminResponse Backtest(AdminRequest& req) {
    if (s_->backtest_capture.empty()) return NotConfigured("a backtest capture (admin.backtest_capture)");
    nlohmann::json body;
    storage::PolicyFiles files;
    AdminResponse err;
    if (!ParseJsonBody(req, {"files", "version"}, &body, &err)) return err;
    if (body.contains("version")) {
      if (body.contains("files")) return Problem(400, "bad-bundle", "give \"files\" or \"version\", not both");
      if (!body["version"].is_number_integer() || body["version"].get<int64_t>() <= 0)
        return Problem(400, "bad-id", "\"version\" must be a version id");
      if (!s_->versions) return NotConfigured("the policy versions store");
      auto v = s_->versions->Get(body["version"].get<int64_t>());
      if (!v.ok()) return StatusProblem(v.status());
      files = std::move(v->files);
    } else if (!ReadBundle(req, {"files"}, &body, &files, &err)) {
      return err;
    }
    policies::LoadResult loaded = policies::LoadPolicyFiles(files, LoadOptions());
    if (!loaded.snapshot) return InvalidPolicy(loaded);
    auto active = s_->engine->snapshot();
    if (!active) return Problem(409, "no-active-policy", "no policy set is serving to compare with");
    // One backtest at a time: each holds two engines and their feature logs
    // (~25 MB) and a worker for the length of the capture.
    std::unique_lock<std::mutex> running(backtest_mu_, std::try_to_lock);
    if (!running.owns_lock())
      return Problem(409, "backtest-running", "another backtest is running; try again when it has answered");
    auto report = RunBacktest({.capture = s_->backtest_capture, .active = active, .candidate = loaded.snapshot,
                               .accounts = s_->accounts});
    if (!report.ok()) return Problem(503, "backtest-unavailable", report.status().message());
    (*report)["active_revision"] = active->revision;
    (*report)["candidate_revision"] = loaded.snapshot->revision;
    AdminResponse r = JsonText(200, report->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    r.read_only = true;
    return r;
  }

  AdminResponse Upload(AdminRequest& req) {
    if (!s_->versions) return NotConfigured("the policy versions store");
    nlohmann::json body;
    storage::PolicyFiles files;
    AdminResponse err;
    if (!ReadBundle(req, {"files", "message", "activate"}, &body, &files, &err)) return err;
    if (body.contains("message") && !body["message"].is_string())
      return Problem(400, "bad-bundle", "\"message\" must be a string");
    if (body.contains("activate") && !body["activate"].is_boolean())
      return Problem(400, "bad-bundle", "\"activate\" must be true or false");
    policies::LoadResult loaded = policies::LoadPolicyFiles(files, LoadOptions());
    if (!loaded.snapshot) return InvalidPolicy(loaded);
    auto v = s_->versions->Add(req.caller.name, body.value("message", ""), loaded.snapshot->revision,
                               std::move(files));
    if (!v.ok()) return StatusProblem(v.status());
    bool activated = false;
    if (body.value("activate", false)) {
      std::lock_guard<std::mutex> lock(mu_);
      if (Status s = s_->versions->Activate(v->id, req.caller.name); !s.ok()) return StatusProblem(s);
      Publish(loaded.snapshot, "version " + std::to_string(v->id));
      activated = true;
    }
    AdminResponse r = Json(201, {{"version", VersionJson(*v, false)}, {"active", activated},
                                 {"warnings", DiagnosticsJson(loaded.errors, policies::Severity::kWarning)}});
    r.headers.emplace_back("Location", "/v1/admin/policies/" + std::to_string(v->id));
    r.audit_note = "version " + std::to_string(v->id) + (activated ? " uploaded and activated" : " uploaded");
    return r;
  }

  // Compiles and publishes version `id` in one step; the engine switches
  // with one pointer swap, so requests see the old set or the new one.
  AdminResponse ActivateVersion(int64_t id, const std::string& author, const char* kind) {
    if (!s_->versions) return NotConfigured("the policy versions store");
    auto v = s_->versions->Get(id);
    if (!v.ok()) return StatusProblem(v.status());
    policies::LoadResult loaded = policies::LoadPolicyFiles(v->files, LoadOptions());
    if (!loaded.snapshot) {
      if (s_->metrics) s_->metrics->RecordReload(false, "admin api", "version " + std::to_string(id) + " does not compile");
      return InvalidPolicy(loaded);
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (Status s = s_->versions->Activate(id, author, kind); !s.ok()) return StatusProblem(s);
    Publish(loaded.snapshot, "version " + std::to_string(id));
    AdminResponse r = Json(200, {{"active", id}, {"revision", loaded.snapshot->revision}, {"kind", kind}});
    r.audit_note = std::string(kind) + " to version " + std::to_string(id);
    return r;
  }

  AdminResponse Activate(AdminRequest& req) {
    int64_t id;
    if (!ParseId(req.Param("id"), &id)) return Problem(400, "bad-id", "a version id is a positive integer");
    nlohmann::json body;
    AdminResponse err;
    if (!ParseJsonBody(req, {}, &body, &err, /*empty_ok=*/true)) return err;
    return ActivateVersion(id, req.caller.name, "activate");
  }

  AdminResponse Rollback(AdminRequest& req) {
    if (!s_->versions) return NotConfigured("the policy versions store");
    nlohmann::json body;
    AdminResponse err;
    if (!ParseJsonBody(req, {"to"}, &body, &err, /*empty_ok=*/true)) return err;
    int64_t to = 0;
    if (body.contains("to")) {
      if (!body["to"].is_number_integer() || body["to"].get<int64_t>() <= 0)
        return Problem(400, "bad-id", "\"to\" must be a version id");
      to = body["to"].get<int64_t>();
    } else {
      auto prev = s_->versions->Previous();
      if (!prev.ok()) return StatusProblem(prev.status());
      if (!prev->has_value())
        return Problem(409, "nothing-to-roll-back-to", "no earlier version was ever active");
      to = **prev;
    }
    return ActivateVersion(to, req.caller.name, "rollback");
  }

  AdminResponse List(AdminRequest& req) {
    if (!s_->versions) return NotConfigured("the policy versions store");
    AdminResponse err;
    if (!CheckQuery(req, {"limit", "before"}, &err)) return err;
    int64_t limit = 50, before = 0;
    if (req.HasQuery("limit") && (!ParseId(req.Query("limit"), &limit) || limit > 1000))
      return Problem(400, "bad-parameter", "limit must be 1 to 1000");
    if (req.HasQuery("before") && !ParseId(req.Query("before"), &before))
      return Problem(400, "bad-parameter", "before must be a version id");
    auto list = s_->versions->List(static_cast<size_t>(limit), before);
    if (!list.ok()) return StatusProblem(list.status());
    auto active = s_->versions->Active();
    if (!active.ok()) return StatusProblem(active.status());
    nlohmann::json versions = nlohmann::json::array();
    for (const auto& v : *list) versions.push_back(VersionJson(v, false));
    nlohmann::json j = {{"versions", versions}};
    j["active"] = active->has_value() ? nlohmann::json(**active) : nlohmann::json(nullptr);
    auto snap = s_->engine->snapshot();
    j["serving_revision"] = snap ? snap->revision : "";
    if (static_cast<int64_t>(list->size()) == limit) j["next_before"] = list->back().id;
    return Json(200, j);
  }

  AdminResponse History(AdminRequest&) {
    if (!s_->versions) return NotConfigured("the policy versions store");
    auto h = s_->versions->History(200);
    if (!h.ok()) return StatusProblem(h.status());
    nlohmann::json out = nlohmann::json::array();
    for (const auto& a : *h)
      out.push_back({{"seq", a.seq}, {"version", a.version}, {"author", a.author},
                     {"time_ms", a.time_ms}, {"kind", a.kind}});
    return Json(200, {{"activations", out}});
  }

  AdminResponse Get(AdminRequest& req) {
    if (!s_->versions) return NotConfigured("the policy versions store");
    int64_t id;
    if (!ParseId(req.Param("id"), &id)) return Problem(400, "bad-id", "a version id is a positive integer");
    auto v = s_->versions->Get(id);
    if (!v.ok()) return StatusProblem(v.status());
    return Json(200, VersionJson(*v, true));
  }

  AdminResponse Diff(AdminRequest& req) {
    if (!s_->versions) return NotConfigured("the policy versions store");
    AdminResponse err;
    if (!CheckQuery(req, {"to"}, &err)) return err;
    int64_t from, to;
    if (!ParseId(req.Param("id"), &from) || !ParseId(req.Query("to"), &to))
      return Problem(400, "bad-id", "diff needs two version ids: /v1/admin/policies/{id}/diff?to={id}");
    auto a = s_->versions->Get(from);
    if (!a.ok()) return StatusProblem(a.status());
    auto b = s_->versions->Get(to);
    if (!b.ok()) return StatusProblem(b.status());
    AdminResponse r;
    r.content_type = "text/x-diff; charset=utf-8";
    r.body = DiffFileSets(a->files, b->files);
    return r;
  }

 private:
  void Publish(std::shared_ptr<engine::PolicySnapshot> snap, const std::string& what) {
    s_->engine->Publish(std::move(snap));
    if (s_->metrics) s_->metrics->RecordReload(true, "admin api: " + what, "");
  }

  AdminServices* s_;
  std::mutex mu_;  // one activation at a time: the store and the engine agree
  std::mutex backtest_mu_;
};

}  // namespace

void AddPolicyRoutes(Router& r, AdminServices* s) {
  auto api = std::make_shared<PoliciesApi>(s);
  auto bind = [api](AdminResponse (PoliciesApi::*m)(AdminRequest&)) {
    return [api, m](AdminRequest& req) { return ((*api).*m)(req); };
  };
  r.Add({"GET", "/v1/admin/policies", kAnyRole, "policies.list", bind(&PoliciesApi::List)});
  r.Add({"POST", "/v1/admin/policies", kAuthors, "policies.upload", bind(&PoliciesApi::Upload)});
  r.Add({"POST", "/v1/admin/policies/validate", kAuthors, "policies.validate", bind(&PoliciesApi::Validate)});
  r.Add({"POST", "/v1/admin/policies/backtest", kAuthors, "policies.backtest", bind(&PoliciesApi::Backtest)});
  r.Add({"POST", "/v1/admin/policies/rollback", kAuthors, "policies.rollback", bind(&PoliciesApi::Rollback)});
  r.Add({"GET", "/v1/admin/policies/history", kAnyRole, "policies.history", bind(&PoliciesApi::History)});
  r.Add({"GET", "/v1/admin/policies/{id}", kAnyRole, "policies.get", bind(&PoliciesApi::Get)});
  r.Add({"GET", "/v1/admin/policies/{id}/diff", kAnyRole, "policies.diff", bind(&PoliciesApi::Diff)});
  r.Add({"POST", "/v1/admin/policies/{id}/activate", kAuthors, "policies.activate", bind(&PoliciesApi::Activate)});
}

}  // namespace tosgate::api::admin
