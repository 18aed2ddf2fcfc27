// The audit socket's frame (socket_sink.h): a record as one JSON object.
// Written by hand, straight into the sink's buffer: an nginx worker encodes
// one per request, and building an nlohmann::json object tree for it cost
// more than the rest of the audit path. Read back with nlohmann by the
// writer, which keeps the same fields by name.
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <iterator>
#include <system_error>
#include <nlohmann/json.hpp>

#include "engine/json_util.h"
#include "storage/audit_socket/socket_sink.h"

namespace tosgate::storage {
namespace {

using engine::AuditMatch;
using engine::AuditRecord;
using nlohmann::json;

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, r.ptr);
}

void AppendDouble(std::string* out, double v) {
  if (!std::isfinite(v)) v = 0;  // JSON has no NaN; a risk is 0..1
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest that reads back the same
  out->append(buf, r.ptr);
  if (std::memchr(buf, '.', r.ptr - buf) == nullptr && std::memchr(buf, 'e', r.ptr - buf) == nullptr)
    out->append(".0");  // stays a float for readers that care
}

// ,"key": and the value's writer; `key` is written as it is (a literal).
template <size_t N>
void Key(std::string* out, const char (&key)[N]) {
  char buf[N + 4];
  buf[0] = ',';
  buf[1] = '"';
  std::memcpy(buf + 2, key, N - 1);
  buf[N + 1] = '"';
  buf[N + 2] = ':';
  out->append(buf, N + 3);
}
template <size_t N>
void Field(std::string* out, const char (&key)[N], std::string_view v) {
  Key(out, key);
  engine::AppendJsonString(out, v);
}
template <size_t N>
void Field(std::string* out, const char (&key)[N], int64_t v) {
  Key(out, key);
  AppendInt(out, v);
}
template <size_t N>
void Field(std::string* out, const char (&key)[N], bool v) {
  Key(out, key);
  out->append(v ? "true" : "false");
}

}  // namespace

void AppendAuditRecordJson(std::string* out, const AuditRecord& r) {
  out->reserve(out->size() + 512);
  out->append("{\"id\":");
  engine::AppendJsonString(out, r.id);
  Field(out, "time_ms", r.time_ms);
  Field(out, "request_id", r.request_id);
  Field(out, "account", r.account);
  Field(out, "key_id", r.key_id);
  Field(out, "org", r.org);
  Field(out, "client_ip", r.client_ip);
  Field(out, "method", r.method);
  Field(out, "path", r.path);
  Field(out, "operation", r.operation);
  Field(out, "model", r.model);
  Field(out, "kind", int64_t{static_cast<int>(r.kind)});
  Field(out, "effect", int64_t{static_cast<int>(r.effect)});
  Field(out, "enforced", r.enforced);
  Field(out, "status", int64_t{r.status});
  Field(out, "reason", r.reason);
  Key(out, "rule_ids");
  out->push_back('[');
  for (size_t i = 0; i < r.rule_ids.size(); ++i) {
    if (i) out->push_back(',');
    engine::AppendJsonString(out, r.rule_ids[i]);
  }
  out->push_back(']');
  Key(out, "matches");
  out->push_back('[');
  for (size_t i = 0; i < r.matches.size(); ++i) {
    const AuditMatch& m = r.matches[i];
    out->append(i ? ",{\"rule\":" : "{\"rule\":");
    engine::AppendJsonString(out, m.rule_id);
    Field(out, "action", int64_t{static_cast<int>(m.action)});
    Field(out, "shadow", m.shadow);
    Field(out, "detail", m.detail);
    out->push_back('}');
  }
  out->push_back(']');
  Key(out, "risk");
  AppendDouble(out, r.risk);
  Field(out, "policy_revision", r.policy_revision);
  Field(out, "prompt_sha256", r.prompt_sha256);
  Field(out, "latency_us", r.latency_us);
  // Trace context and cost only when the record has them (most have none).
  if (!r.traceparent.empty()) Field(out, "traceparent", r.traceparent);
  if (!r.tracestate.empty()) Field(out, "tracestate", r.tracestate);
  if (r.cost_reserved_nano >= 0) Field(out, "cost_reserved_nano", r.cost_reserved_nano);
  if (r.cost_settled_nano >= 0) Field(out, "cost_settled_nano", r.cost_settled_nano);
  out->push_back('}');
}

void AppendAuditFrame(std::string* out, const AuditRecord& r) {
  const size_t at = out->size();
  out->append(4, '\0');
  AppendAuditRecordJson(out, r);
  const auto n = static_cast<uint32_t>(out->size() - at - 4);
  const char len[4] = {static_cast<char>(n & 0xff), static_cast<char>(n >> 8 & 0xff),
                       static_cast<char>(n >> 16 & 0xff), static_cast<char>(n >> 24 & 0xff)};
  out->replace(at, 4, len, 4);
}

std::string EncodeAuditRecord(const AuditRecord& r) {
  std::string out;
  out.reserve(512);
  AppendAuditRecordJson(&out, r);
  return out;
}

namespace {

// The writer's reader of the frames AppendAuditRecordJson writes: one pass,
// no DOM (nlohmann's cost 80,000 instructions a record, more than the
// writer's SQLite insert and hash chain together). Any JSON it does not
// expect (a key it does not know, a value of another type, an escape it
// does not read) makes it give up, and DecodeAuditRecord reads the frame
// with nlohmann instead, which decides and words the error.
class FrameReader {
 public:
  explicit FrameReader(std::string_view s) : s_(s) {}

  bool Record(AuditRecord* r) {
    if (!Eat('{')) return false;
    std::string key;
    unsigned seen = 0;
    bool first = true;
    while (!Eat('}')) {
      if (!first && !Eat(',')) return false;
      first = false;
      if (!String(&key) || !Eat(':')) return false;
      const int k = Field(key, r);
      if (k < 0) return false;
      seen |= 1u << k;
    }
    Ws();
    return i_ == s_.size() && (seen & kRequired) == kRequired;
  }

 private:
  static constexpr unsigned kRequired = (1u << 22) - 1;  // the fields numbered below 22

  // Reads the value of `key` into `r`: its number, or -1.
  int Field(const std::string& key, AuditRecord* r) {
    struct Text {
      const char* name;
      std::string AuditRecord::*field;
    };
    static constexpr Text kTexts[] = {
        {"id", &AuditRecord::id}, {"request_id", &AuditRecord::request_id},
        {"account", &AuditRecord::account}, {"key_id", &AuditRecord::key_id},
        {"org", &AuditRecord::org}, {"client_ip", &AuditRecord::client_ip},
        {"method", &AuditRecord::method}, {"path", &AuditRecord::path},
        {"operation", &AuditRecord::operation}, {"model", &AuditRecord::model},
        {"reason", &AuditRecord::reason}, {"policy_revision", &AuditRecord::policy_revision},
        {"prompt_sha256", &AuditRecord::prompt_sha256}};
    for (size_t n = 0; n < std::size(kTexts); ++n)
      if (key == kTexts[n].name) return String(&(r->*kTexts[n].field)) ? static_cast<int>(n) : -1;
    int64_t v = 0;
    if (key == "time_ms") return Int(&r->time_ms) ? 13 : -1;
    if (key == "kind") return Int(&v) && (r->kind = static_cast<engine::RecordKind>(v), true) ? 14 : -1;
    if (key == "effect") return Int(&v) && (r->effect = static_cast<Effect>(v), true) ? 15 : -1;
    if (key == "enforced") return Bool(&r->enforced) ? 16 : -1;
    if (key == "status") return Int(&v) && (r->status = static_cast<int>(v), true) ? 17 : -1;
    if (key == "rule_ids") return Strings(&r->rule_ids) ? 18 : -1;
    if (key == "matches") return Matches(&r->matches) ? 19 : -1;
    if (key == "risk") return Double(&r->risk) ? 20 : -1;
    if (key == "latency_us") return Int(&r->latency_us) ? 21 : -1;
    if (key == "traceparent") return String(&r->traceparent) ? 22 : -1;
    if (key == "tracestate") return String(&r->tracestate) ? 23 : -1;
    if (key == "cost_reserved_nano") return Int(&r->cost_reserved_nano) ? 24 : -1;
    if (key == "cost_settled_nano") return Int(&r->cost_settled_nano) ? 25 : -1;
    return -1;
  }

  bool Strings(std::vector<std::string>* out) {
    out->clear();
    if (!Eat('[')) return false;
    for (bool first = true; !Eat(']'); first = false)
      if ((!first && !Eat(',')) || !String(&out->emplace_back())) return false;
    return true;
  }

  bool Matches(std::vector<engine::AuditMatch>* out) {
    out->clear();
    if (!Eat('[')) return false;
    std::string key;
    for (bool first = true; !Eat(']'); first = false) {
      if ((!first && !Eat(',')) || !Eat('{')) return false;
      engine::AuditMatch& m = out->emplace_back();
      unsigned seen = 0;
      for (bool f = true; !Eat('}'); f = false) {
        if ((!f && !Eat(',')) || !String(&key) || !Eat(':')) return false;
        int64_t v = 0;
        if (key == "rule" && String(&m.rule_id)) seen |= 1;
        else if (key == "action" && Int(&v)) m.action = static_cast<Action>(v), seen |= 2;
        else if (key == "shadow" && Bool(&m.shadow)) seen |= 4;
        else if (key == "detail" && String(&m.detail)) seen |= 8;
        else return false;
      }
      if (seen != 15) return false;
    }
    return true;
  }

  void Ws() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\t' || s_[i_] == '\r')) ++i_;
  }
  bool Eat(char c) {
    Ws();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  bool Int(int64_t* out) {
    Ws();
    const auto r = std::from_chars(s_.data() + i_, s_.data() + s_.size(), *out);
    if (r.ec != std::errc()) return false;
    i_ = static_cast<size_t>(r.ptr - s_.data());
    return i_ == s_.size() || (s_[i_] != '.' && s_[i_] != 'e' && s_[i_] != 'E');
  }
  bool Double(double* out) {
    Ws();
    const auto r = std::from_chars(s_.data() + i_, s_.data() + s_.size(), *out);
    if (r.ec != std::errc()) return false;
    i_ = static_cast<size_t>(r.ptr - s_.data());
    return true;
  }
  bool Bool(bool* out) {
    Ws();
    if (s_.substr(i_, 4) == "true") return *out = true, i_ += 4, true;
    if (s_.substr(i_, 5) == "false") return *out = false, i_ += 5, true;
    return false;
  }
  // A string with the escapes the encoder writes; bytes past 0x7f must be
  // UTF-8, as for nlohmann. \u escapes other than \u00XX are left to it.
  bool String(std::string* out) {
    out->clear();
    if (!Eat('"')) return false;
    size_t run = i_;
    while (i_ < s_.size()) {
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        out->append(s_.data() + run, i_ - run);
        ++i_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        const size_t n = engine::Utf8Length(s_, i_);
        if (n == 0) return false;
        i_ += n;
        continue;
      }
      if (c != '\\') {
        ++i_;
        continue;
      }
      out->append(s_.data() + run, i_ - run);
      if (++i_ >= s_.size()) return false;
      switch (s_[i_++]) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'u': {
          if (i_ + 4 > s_.size() || s_[i_] != '0' || s_[i_ + 1] != '0') return false;
          const int hi = HexDigit(s_[i_ + 2]), lo = HexDigit(s_[i_ + 3]);
          if (hi < 0 || lo < 0 || hi > 7) return false;  // past U+007F: nlohmann's
          out->push_back(static_cast<char>(hi * 16 + lo));
          i_ += 4;
          break;
        }
        default: return false;
      }
      run = i_;
    }
    return false;
  }
  static int HexDigit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// The same, with nlohmann: what the first writers read, kept for any frame
// the FrameReader gives up on.
Status DecodeWithNlohmann(std::string_view text, AuditRecord* out);

}  // namespace

Status DecodeAuditRecord(std::string_view text, AuditRecord* out) {
  AuditRecord r;
  if (FrameReader(text).Record(&r)) {
    *out = std::move(r);
    return Status::Ok();
  }
  return DecodeWithNlohmann(text, out);
}

namespace {

Status DecodeWithNlohmann(std::string_view text, AuditRecord* out) {
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument("audit frame: not a JSON object");
  try {
    AuditRecord r;
    j.at("id").get_to(r.id);
    j.at("time_ms").get_to(r.time_ms);
    j.at("request_id").get_to(r.request_id);
    j.at("account").get_to(r.account);
    j.at("key_id").get_to(r.key_id);
    j.at("org").get_to(r.org);
    j.at("client_ip").get_to(r.client_ip);
    j.at("method").get_to(r.method);
    j.at("path").get_to(r.path);
    j.at("operation").get_to(r.operation);
    j.at("model").get_to(r.model);
    r.kind = static_cast<engine::RecordKind>(j.at("kind").get<int>());
    r.effect = static_cast<Effect>(j.at("effect").get<int>());
    j.at("enforced").get_to(r.enforced);
    j.at("status").get_to(r.status);
    j.at("reason").get_to(r.reason);
    j.at("rule_ids").get_to(r.rule_ids);
    for (const json& m : j.at("matches"))
      r.matches.push_back({m.at("rule").get<std::string>(),
                           static_cast<Action>(m.at("action").get<int>()),
                           m.at("shadow").get<bool>(), m.at("detail").get<std::string>()});
    j.at("risk").get_to(r.risk);
    j.at("policy_revision").get_to(r.policy_revision);
    j.at("prompt_sha256").get_to(r.prompt_sha256);
    j.at("latency_us").get_to(r.latency_us);
    r.traceparent = j.value("traceparent", std::string());
    r.tracestate = j.value("tracestate", std::string());
    r.cost_reserved_nano = j.value("cost_reserved_nano", int64_t{-1});
    r.cost_settled_nano = j.value("cost_settled_nano", int64_t{-1});
    *out = std::move(r);
    return Status::Ok();
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("audit frame: ") + e.what());
  }
}

}  // namespace

}  // namespace tosgate::storage
