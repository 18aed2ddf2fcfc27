// The C ABI's per-request path for proxies that decide in process (the
// nginx module, tosgate-extauthz): a request from the proxy's own buffers,
// decisions reused per thread, headers routed once, and what an admitted
// request waits for. docs/nginx-module.md has the instruction counts this
// was cut against.
#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "api/request/forward_auth.h"
#include "api/request/request_description.h"
#include "capi/capi_internal.h"

namespace tosgate::capi {
namespace {

// A thread's spare decisions (tosgate_decision_destroy keeps them). Each
// holds a rendered answer's strings, so a check on this thread renders into
// them without allocating.
constexpr size_t kSpares = 4;
struct Spares {
  std::vector<tosgate_decision*> list;
  ~Spares();
};
thread_local Spares spares;
// Set once the thread's Spares is gone: a decision destroyed later (by a
// destructor running at the thread's or the program's exit) is freed.
thread_local bool spares_gone = false;
Spares::~Spares() {
  spares_gone = true;
  for (tosgate_decision* d : list) delete d;
}

bool Named(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(),
                    [](char x, char y) { return (x | 0x20) == (y | 0x20); });
}

// Where an embedding proxy puts a rendered header (tosgate_header::to).
unsigned Route(std::string_view name, bool allow) {
  unsigned to = 0;
  if (allow && name.size() > 6 && Named(name.substr(0, 6), "x-tos-")) to |= TOSGATE_HEADER_UPSTREAM;
  if (Named(name, "RateLimit-Policy") || Named(name, "RateLimit") ||
      Named(name, "X-Tos-Decision-Id") || (!allow && Named(name, "Retry-After")))
    to |= TOSGATE_HEADER_CLIENT;
  return to;
}

std::string_view View(const tosgate_str& s) {
  return s.data ? std::string_view(s.data, s.len) : std::string_view();
}

std::string_view Or(std::string_view s, std::string_view fallback) {
  return s.empty() ? fallback : s;
}

// The request as RequestFromDescription builds it from tosgate_check's
// arguments, into `in`, whose strings keep their buffers from the thread's
// last request.
void Fill(const tosgate_request& r, api::IncomingRequest* in) {
  in->method.assign(Or(View(r.method), "POST"));
  in->target.assign(Or(View(r.path), "/"));
  in->peer_ip.assign(Or(View(r.client_ip), "127.0.0.1"));
  in->inline_mode = true;
  size_t n = 0;
  auto next = [in, &n]() -> std::pair<std::string, std::string>& {
    if (n == in->headers.size()) in->headers.emplace_back();
    return in->headers[n++];
  };
  if (const std::string_view key = View(r.api_key); !key.empty()) {
    auto& h = next();
    h.first.assign("authorization");
    h.second.assign("Bearer ");
    h.second.append(key);
  }
  bool typed = false;
  for (size_t i = 0; i < r.header_count; ++i) {
    const std::string_view name = View(r.header_names[i]);
    // The body is the proxy's copy: the length the client sent may not be its.
    if (name.empty() || Named(name, "content-length")) continue;
    typed = typed || Named(name, "content-type");
    auto& h = next();
    h.first.assign(name);
    h.second.assign(View(r.header_values[i]));
  }
  const std::string_view body = View(r.body);
  if (!body.empty() && !typed) {
    auto& h = next();
    h.first.assign("content-type");
    h.second.assign("application/json");
  }
  in->headers.resize(n);
  in->body.assign(body);
}

}  // namespace

tosgate_decision* Decide(tosgate_engine* e, const Request& req) {
  std::unique_ptr<tosgate_decision> out;
  if (!spares_gone && !spares.list.empty()) {
    out.reset(spares.list.back());
    spares.list.pop_back();
  } else {
    out = std::make_unique<tosgate_decision>();
  }
  out->d = e->engine->Check(req);
  api::RenderDecision(out->d, &out->rendered);
  const bool allow = out->d.effect == Effect::kAllow;
  out->routed.clear();
  for (const auto& [k, v] : out->rendered.headers)
    out->routed.push_back({{k.c_str(), k.size()}, {v.c_str(), v.size()}, Route(k, allow)});
  out->awaits = allow ? static_cast<int>(e->engine->admissions().Awaits(out->d.decision_id)) : 0;
  return out.release();
}

}  // namespace tosgate::capi

extern "C" {

tosgate_decision* tosgate_check_request(tosgate_engine* engine, const tosgate_request* request,
                                        char** error) {
  using tosgate::capi::SetError;
  if (!engine || !request) {
    SetError(error, engine ? "tosgate_check_request: request is NULL"
                           : "tosgate_check_request: engine is NULL");
    return nullptr;
  }
  if (request->header_count > 0 && (!request->header_names || !request->header_values)) {
    SetError(error, "tosgate_check_request: header_count > 0 but the name or value array is NULL");
    return nullptr;
  }
  try {
    thread_local tosgate::api::IncomingRequest in;
    tosgate::capi::Fill(*request, &in);
    tosgate::Request req;
    tosgate::Status s = tosgate::api::RequestFromIncoming(in, &req);
    // A thread keeps no large body's buffer between requests.
    if (in.body.capacity() > (64u << 10)) in.body = std::string();
    if (!s.ok()) {
      SetError(error, "tosgate: bad request: " + s.message());
      return nullptr;
    }
    return tosgate::capi::Decide(engine, req);
  } catch (...) {
    tosgate::capi::SetCaught(error, "tosgate_check_request");
    return nullptr;
  }
}

void tosgate_decision_destroy(tosgate_decision* decision) {
  if (!decision) return;
  using tosgate::capi::spares;
  if (!tosgate::capi::spares_gone && spares.list.size() < tosgate::capi::kSpares) {
    try {
      decision->explained = false;
      decision->explain = std::string();
      spares.list.push_back(decision);
      return;
    } catch (...) {
    }
  }
  delete decision;
}

size_t tosgate_decision_headers(const tosgate_decision* decision, const tosgate_header** headers) {
  if (headers) *headers = decision && !decision->routed.empty() ? decision->routed.data() : nullptr;
  return decision ? decision->routed.size() : 0;
}

int tosgate_decision_awaits(const tosgate_decision* decision) {
  return decision ? decision->awaits : 0;
}

int tosgate_report_relayed_usage(tosgate_engine* engine, const char* decision_id,
                                 int64_t input_tokens, int64_t output_tokens, char** error) {
  return tosgate::capi::ReportUsage(engine, decision_id, input_tokens, output_tokens,
                                    tosgate::engine::UsageSource::kInlineProxy,
                                    "tosgate_report_relayed_usage", error);
}

}  // extern "C"
