#include "api/request/responses.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "engine/json_util.h"

namespace tosgate::api {
namespace {

// Whether `v` has a control character (below 0x20, or 0x7f), eight bytes
// at a time: (x - 0x20..) & ~x & 0x80.. is non-zero exactly when a byte of x
// is below 0x20, and the same of x ^ 0x7f.. when one is 0x7f. Rendering
// cleans every header of every decision, and a byte at a time was most of
// its cost (~12 instructions a byte).
constexpr uint64_t kOnes = 0x0101010101010101ULL, kHigh = 0x8080808080808080ULL;

bool HasControl(std::string_view v) {
  const auto any = [](uint64_t x) {
    const uint64_t del = x ^ (0x7f * kOnes);
    return ((((x - 0x20 * kOnes) & ~x) | ((del - kOnes) & ~del)) & kHigh) != 0;
  };
  const size_t n = v.size();
  if (n < 8) {
    for (const char c : v)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
    return false;
  }
  uint64_t x;
  for (size_t i = 0; i + 8 < n; i += 8) {
    std::memcpy(&x, v.data() + i, sizeof x);
    if (any(x)) return true;
  }
  // The last eight bytes, overlapping the words before: no byte-wise tail.
  std::memcpy(&x, v.data() + n - 8, sizeof x);
  return any(x);
}

// `v` with every control character (CR and LF above all) removed, into
// `out`, reusing its buffer.
void AssignSafe(std::string* out, std::string_view v) {
  out->clear();
  if (!HasControl(v)) {
    // clear + append: a capacity check and a copy (assign's replace path
    // checks for overlap first, ~2x the instructions for a short value).
    out->append(v);
    return;
  }
  size_t start = 0;
  for (size_t i = 0; i < v.size(); ++i) {
    const char c = v[i];
    if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) continue;
    out->append(v.data() + start, i - start);
    start = i + 1;
  }
  out->append(v.data() + start, v.size() - start);
}

// A header whose name and value are `name` and `value` cleaned.
void AddSafe(HttpResponse* r, std::string_view name, std::string_view value) {
  auto& h = r->AddHeader();
  AssignSafe(&h.first, name);
  AssignSafe(&h.second, value);
}

bool HasHeader(const HttpResponse& r, std::string_view name) {
  for (const auto& [k, v] : r.headers) {
    if (k.size() != name.size()) continue;
    bool same = std::equal(k.begin(), k.end(), name.begin(),
                           [](char a, char b) { return (a | 0x20) == (b | 0x20); });
    if (same) return true;
  }
  return false;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

}  // namespace

void HttpResponse::Clear() {
  status = 200;
  content_type.clear();
  // A response has a dozen headers at most; more spares would only be kept.
  constexpr size_t kMaxSpare = 32;
  for (auto& h : headers) {
    if (spare_.size() >= kMaxSpare) break;
    spare_.push_back(std::move(h));
  }
  headers.clear();
  body.clear();
}

std::pair<std::string, std::string>& HttpResponse::AddHeader() {
  if (spare_.empty()) return headers.emplace_back();
  headers.push_back(std::move(spare_.back()));
  spare_.pop_back();
  return headers.back();
}

std::string_view StatusTitle(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 429:
      return "Too many requests";  // as documented since the first release
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
  }
  return "Error";
}

std::string_view DecisionTitle(const Decision& d) {
  if (d.effect == Effect::kThrottle) return StatusTitle(429);
  if (d.status == 401 || d.status == 503) return StatusTitle(d.status);
  return "Request denied by policy";
}

std::string ProblemJson(const Decision& d) {
  const bool throttle = d.effect == Effect::kThrottle;
  // A calendar budget (cost_budget) says which budget and when it resets.
  const RuleMatch* budget = nullptr;
  for (const RuleMatch& m : d.matches)
    if (!m.resets_at.empty() && !m.shadow && !d.rule_ids.empty() && m.rule_id == d.rule_ids[0])
      budget = &m;
  std::string out = "{\"type\":";
  engine::AppendJsonString(&out, budget     ? "https://tosgate.dev/problems/" + budget->reason
                                 : throttle ? "https://tosgate.dev/problems/quota-exceeded"
                                            : "https://tosgate.dev/problems/" +
                                                  (d.reason.empty() ? std::string("denied")
                                                                    : d.reason));
  out += ",\"title\":";
  engine::AppendJsonString(&out, DecisionTitle(d));
  out += ",\"status\":" + std::to_string(d.status);
  out += ",\"detail\":";
  std::string detail = "Denied by " + (d.rule_ids.empty() ? std::string("policy") : d.rule_ids[0]);
  if (throttle) detail = "Rate limit exceeded; retry after " + std::to_string(d.retry_after_s) + "s";
  if (budget) detail = budget->detail;
  engine::AppendJsonString(&out, detail);
  out += ",\"reason\":";
  engine::AppendJsonString(&out, d.reason);
  const std::string rules = engine::JsonStringArray(d.rule_ids);
  out += ",\"rules\":" + rules;
  if (budget) {
    out += ",\"budget\":";
    engine::AppendJsonString(&out, budget->rule_id);
    out += ",\"resets_at\":";
    engine::AppendJsonString(&out, budget->resets_at);
  }
  out += ",\"decision_id\":";
  engine::AppendJsonString(&out, d.decision_id);
  if (throttle) {
    out += ",\"violated_policies\":" + rules;
    out += ",\"retry_after\":" + std::to_string(d.retry_after_s);
  }
  out += "}";
  return out;
}

void RenderDecision(const Decision& d, HttpResponse* out, ProxyDialect dialect) {
  out->Clear();
  const bool pass = d.effect == Effect::kAllow;
  int status = d.status;
  if (pass)
    status = 200;
  else if (status < 400 || status > 599)
    status = d.effect == Effect::kThrottle ? 429 : 403;
  out->status = status;

  AddSafe(out, "X-Tos-Decision", EffectName(d.effect));
  if (!d.decision_id.empty()) AddSafe(out, "X-Tos-Decision-Id", d.decision_id);
  for (const auto& [k, v] : d.headers) AddSafe(out, k, v);

  if (pass) {
    // For the upstream: who is calling and what they do, as tosgate saw it.
    if (!d.account_id.empty()) AddSafe(out, "X-Tos-Account", d.account_id);
    if (!d.operation.empty()) AddSafe(out, "X-Tos-Operation", d.operation);
    return;
  }
  if (!d.reason.empty()) AddSafe(out, "X-Tos-Reason", d.reason);
  if (!d.rule_ids.empty()) AddSafe(out, "X-Tos-Rule", Join(d.rule_ids));
  if (d.effect == Effect::kThrottle && !HasHeader(*out, "Retry-After")) {
    // Never invite an immediate retry loop: at least one second.
    out->headers.emplace_back("Retry-After", std::to_string(std::max<int64_t>(1, d.retry_after_s)));
  }
  out->headers.emplace_back("X-Tos-Status", std::to_string(status));
  out->content_type = "application/problem+json";
  out->body = ProblemJson(d);
  if (dialect == ProxyDialect::kNginx) {
    if (status != 401 && status != 403) out->status = 403;
    AddSafe(out, "X-Tos-Problem", out->body);
  }
}

void RenderError(int status, std::string_view reason, std::string_view detail, HttpResponse* out) {
  out->Clear();
  out->status = status;
  out->content_type = "application/problem+json";
  std::string& b = out->body;
  b = "{\"type\":";
  engine::AppendJsonString(&b, "https://tosgate.dev/problems/" + std::string(reason));
  b += ",\"title\":";
  engine::AppendJsonString(&b, StatusTitle(status));
  b += ",\"status\":" + std::to_string(status);
  b += ",\"detail\":";
  engine::AppendJsonString(&b, detail);
  b += ",\"reason\":";
  engine::AppendJsonString(&b, reason);
  b += "}";
}

}  // namespace tosgate::api
