// A connection's request handlers (session.h): routing, health, usage
// reports, the check and the inline proxy's decision and relay.
#include "api/gateway/session.h"

namespace tosgate::api::gateway_internal {

void Session::Handle(http::request<http::string_body>& req) {
  const std::string& prefix = shared_->options.forward_auth.path_prefix;
  std::string_view target(req.target().data(), req.target().size());
  std::string_view path = PathOf(target);
  if (path == "/healthz") return Health(req);
  const bool control = listener_ == Listener::kControl;
  const bool inline_mode = shared_->upstream.has_value();
  if (path == kUsagePath) {
    if (control || (!inline_mode && shared_->options.control_listen.empty())) return Usage(req);
    return NotOnThisPort();
  }
  if (UnderPrefix(path, prefix)) {
    if (control || !inline_mode) return Check(req, target);
    return NotOnThisPort();
  }
  if (inline_mode && !control) return Proxy(req, target);
  RenderError(404, "not-found", "no such endpoint; the check endpoint is " + prefix, &out_);
}

void Session::NotOnThisPort() {
  RenderError(404, "not-found",
              "no such endpoint on this port: usage reports (and, in inline mode, checks) are "
              "served on the gateway's control listener (gateway.control_listen)",
              &out_);
}

bool Session::IsControlPath(std::string_view path) const {
  return path == kUsagePath || UnderPrefix(path, shared_->options.forward_auth.path_prefix);
}

void Session::Health(http::request<http::string_body>& req) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    RenderError(405, "method-not-allowed", "/healthz answers GET and HEAD", &out_);
    out_.headers.emplace_back("Allow", "GET, HEAD");
    return;
  }
  out_.Clear();
  out_.content_type = "application/json";
  out_.body = R"({"status":"ok"})";
}

void Session::Usage(http::request<http::string_body>& req) {
  if (req.method() != http::verb::post) {
    RenderError(405, "method-not-allowed", "/v1/usage answers POST", &out_);
    out_.headers.emplace_back("Allow", "POST");
    return;
  }
  const std::string& token = shared_->options.control_token_sha256;
  if (!token.empty()) {
    auto it = req.find("x-tos-control-token");
    if (it == req.end() ||
        !ControlTokenMatches(std::string_view(it->value().data(), it->value().size()), token)) {
      Bump(shared_->counters.bad_requests);
      return RenderError(401, "unauthorized",
                         "a usage report needs the control token in X-Tos-Control-Token",
                         &out_);
    }
  }
  std::string decision_id;
  engine::Usage usage;
  if (Status s = ParseUsageReport(req.body(), &decision_id, &usage); !s.ok()) {
    Bump(shared_->counters.bad_requests);
    return RenderError(400, "bad-usage-report", s.message(), &out_);
  }
  if (Status s = shared_->engine.ReportUsage(decision_id, usage); !s.ok()) {
    const UsageRefusal r = MapUsageStatus(s);
    return RenderError(r.status, r.type, s.message(), &out_);
  }
  out_.Clear();
  out_.status = 204;
}

bool Session::TranslateRequest(http::request<http::string_body>& req, std::string_view target,
                               bool inline_mode) {
  in_.method.assign(req.method_string().data(), req.method_string().size());
  in_.target.assign(target);
  in_.inline_mode = inline_mode;
  // Assigned into the strings of the last request, whose capacity stays.
  size_t n = 0;
  for (const auto& f : req) {
    const beast::string_view name = f.name_string();
    if (n == in_.headers.size()) in_.headers.emplace_back();
    in_.headers[n].first.assign(name.data(), name.size());
    in_.headers[n].second.assign(f.value().data(), f.value().size());
    ++n;
  }
  in_.headers.resize(n);
  in_.body = std::move(req.body());
  const ForwardAuthConfig& cfg =
      inline_mode ? shared_->inline_auth : shared_->options.forward_auth;
  Refusal refusal;
  if (Translate(in_, cfg, &request_, inline_mode ? &fwd_ : nullptr, &refusal)) {
    // The gateway relays it and sees its usage: no report from elsewhere
    // may reconcile it (Engine::ReportUsage).
    request_.inline_proxy = inline_mode;
    // An OpenAI batch is counted from the input file's upload, if seen.
    if (!request_.body.batch_input_file.empty()) (void)shared_->batches.Fill(&request_.body);
    return true;
  }
  Bump(shared_->counters.bad_requests);
  RenderError(refusal.status, refusal.type, refusal.detail, &out_);
  return false;
}

void Session::Check(http::request<http::string_body>& req, std::string_view target) {
  if (!TranslateRequest(req, target, /*inline_mode=*/false)) return;
  const std::string* proxy = request_.header("x-tos-proxy");
  dialect_ = proxy && *proxy == "nginx" ? ProxyDialect::kNginx : ProxyDialect::kPlain;
  Decide(&Session::Answer);
}

void Session::Answer(Decision d) {
  delay_ms_ = d.delay_ms;
  RenderDecision(d, &out_, dialect_);
}

void Session::Proxy(http::request<http::string_body>& req, std::string_view target) {
  if (!TranslateRequest(req, target, /*inline_mode=*/true)) return;
  // /v1//usage, /v1/%75sage, http://h/v1/usage: a control endpoint once
  // canonical is not relayed either.
  if (IsControlPath(request_.path)) return NotOnThisPort();
  if (fwd_.target.empty() || fwd_.target.front() != '/') {
    // Translate always names a target; relaying without one would send
    // something other than what was decided.
    Bump(shared_->counters.internal_errors);
    return RenderError(500, "internal-error", "the request has no target to relay", &out_);
  }
  Decide(&Session::Relay);
}

void Session::Relay(Decision d) {
  RenderDecision(d, &out_, ProxyDialect::kPlain);
  if (d.effect != Effect::kAllow) return;  // answered here, as problem+json
  delay_ms_ = d.delay_ms;

  proxy::Exchange ex;
  ex.client = &stream_;
  ex.decision_id = d.decision_id;
  ex.batch = BatchWatch::For(request_, &shared_->batches);
  proxy::Outgoing o;
  o.method = request_.method;
  o.target = shared_->upstream->base_path + fwd_.target;
  o.forwarding = &fwd_;
  o.peer_trusted = request_.peer_trusted;
  o.peer_ip = in_.peer_ip;
  o.host_header = shared_->upstream->host_header;
  o.decision_headers = &out_.headers;
  std::shared_ptr<const engine::PolicySnapshot> snap;
  if (!request_.peer_trusted && (snap = shared_->engine.snapshot())) {
    o.identity_headers = {snap->identity.account_header, snap->identity.org_header,
                          snap->identity.tier_header};
  }
  proxy::BuildUpstreamRequest(parser_->get(), o, std::move(in_.body), &ex.request);
  for (const auto& [k, v] : out_.headers)
    if (k.rfind("RateLimit", 0) == 0 || k == "X-Tos-Decision-Id") ex.client_headers.emplace_back(k, v);
  relay_.emplace(std::move(ex));
}

void Session::StartRelay() {
  proxy::Exchange ex = std::move(*relay_);
  relay_.reset();
  ex.keep_alive_owner = shared_from_this();
  ex.done = [self = shared_from_this()](bool keep_alive) {
    Bump(self->shared_->counters.requests);
    if (!keep_alive || self->closing_ || self->shared_->stopping.load()) return self->Linger();
    self->first_ = false;
    self->ReadHeader();
  };
  proxy::Relay(std::move(ex), *shared_->upstream, *worker_->pool, shared_->engine,
               shared_->proxy_counters);
}

}  // namespace tosgate::api::gateway_internal
