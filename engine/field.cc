#include "engine/field.h"

#include <cstdio>

namespace tosgate::engine {
namespace {

struct FieldName {
  const char* name;
  FieldId id;
  ValueKind kind;
};

constexpr FieldName kFields[] = {
    {"request.method", FieldId::kRequestMethod, ValueKind::kString},
    {"request.path", FieldId::kRequestPath, ValueKind::kString},
    {"request.operation", FieldId::kRequestOperation, ValueKind::kString},
    {"request.purpose", FieldId::kRequestPurpose, ValueKind::kString},
    {"request.client_ip", FieldId::kRequestClientIp, ValueKind::kString},
    {"account.id", FieldId::kAccountId, ValueKind::kString},
    {"account.org", FieldId::kAccountOrg, ValueKind::kString},
    {"account.tier", FieldId::kAccountTier, ValueKind::kString},
    {"account.country", FieldId::kAccountCountry, ValueKind::kString},
    {"account.flags", FieldId::kAccountFlags, ValueKind::kStringList},
    {"account.suspended", FieldId::kAccountSuspended, ValueKind::kBool},
    {"account.created", FieldId::kAccountCreated, ValueKind::kNumber},
    {"account.key_age", FieldId::kAccountKeyAge, ValueKind::kNumber},
    {"body.model", FieldId::kBodyModel, ValueKind::kString},
    {"body.max_tokens", FieldId::kBodyMaxTokens, ValueKind::kNumber},
    {"body.n", FieldId::kBodyN, ValueKind::kNumber},
    {"body.stream", FieldId::kBodyStream, ValueKind::kBool},
    {"body.logprobs", FieldId::kBodyLogprobs, ValueKind::kBool},
    {"body.top_logprobs", FieldId::kBodyTopLogprobs, ValueKind::kNumber},
    {"body.logit_bias_count", FieldId::kBodyLogitBiasCount, ValueKind::kNumber},
    {"body.tools_count", FieldId::kBodyToolsCount, ValueKind::kNumber},
    {"body.message_count", FieldId::kBodyMessageCount, ValueKind::kNumber},
    {"body.prompt_chars", FieldId::kBodyPromptChars, ValueKind::kNumber},
    {"body.api", FieldId::kBodyApi, ValueKind::kString},
    {"body.reasoning_effort", FieldId::kBodyReasoningEffort, ValueKind::kString},
    {"body.thinking_budget", FieldId::kBodyThinkingBudget, ValueKind::kNumber},
    {"body.user", FieldId::kBodyUser, ValueKind::kString},
    {"body.token_prompt", FieldId::kBodyTokenPrompt, ValueKind::kBool},
    {"body.unscanned_parts", FieldId::kBodyUnscannedParts, ValueKind::kNumber},
    {"body.batch_requests", FieldId::kBodyBatchRequests, ValueKind::kNumber},
    {"body.file_purpose", FieldId::kBodyFilePurpose, ValueKind::kString},
    {"body.unread", FieldId::kBodyUnread, ValueKind::kBool},
    {"time.hour", FieldId::kTimeHour, ValueKind::kNumber},
    {"time.weekday", FieldId::kTimeWeekday, ValueKind::kNumber},
};

constexpr std::string_view kHeaderPrefix = "request.header.";

Value Str(std::string_view s) {
  Value v;
  v.kind = ValueKind::kString;
  v.str = s;
  return v;
}
Value Num(double d) {
  Value v;
  v.kind = ValueKind::kNumber;
  v.num = d;
  return v;
}
Value Bool(bool b) {
  Value v;
  v.kind = ValueKind::kBool;
  v.b = b;
  return v;
}
// Absent strings and unset numbers (-1) read as missing, so `exists` works.
Value StrOrMissing(std::string_view s) { return s.empty() ? Value{} : Str(s); }
Value NumOrMissing(int64_t n) { return n < 0 ? Value{} : Num(static_cast<double>(n)); }

}  // namespace

std::optional<FieldRef> ResolveField(std::string_view name) {
  if (name.size() > kHeaderPrefix.size() && name.substr(0, kHeaderPrefix.size()) == kHeaderPrefix) {
    FieldRef f;
    f.id = FieldId::kRequestHeader;
    f.kind = ValueKind::kString;
    f.name = std::string(name);
    for (char c : name.substr(kHeaderPrefix.size()))
      f.header.push_back(static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
    return f;
  }
  for (const FieldName& fn : kFields) {
    if (name == fn.name) return FieldRef{fn.id, "", std::string(name), fn.kind};
  }
  return std::nullopt;
}

const std::vector<std::string>& AllFieldNames() {
  static const std::vector<std::string>* names = [] {
    auto* v = new std::vector<std::string>();
    for (const FieldName& fn : kFields) v->push_back(fn.name);
    v->push_back("request.header.<name>");
    return v;
  }();
  return *names;
}

std::string Value::ToString() const {
  switch (kind) {
    case ValueKind::kMissing: return "(missing)";
    case ValueKind::kBool: return b ? "true" : "false";
    case ValueKind::kNumber: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.15g", num);
      return buf;
    }
    case ValueKind::kString: return "\"" + std::string(str) + "\"";
    case ValueKind::kStringList: {
      std::string out = "[";
      for (size_t i = 0; list && i < list->size(); ++i) out += (i ? ", " : "") + (*list)[i];
      return out + "]";
    }
  }
  return "?";
}

Value ReadField(const FieldRef& f, const EvalContext& ctx) {
  const Request& r = ctx.request;
  const Account& a = ctx.account;
  const RequestBody& b = r.body;
  switch (f.id) {
    case FieldId::kRequestMethod: return StrOrMissing(r.method);
    case FieldId::kRequestPath: return StrOrMissing(r.path);
    case FieldId::kRequestOperation: return StrOrMissing(ctx.operation);
    case FieldId::kRequestPurpose: return StrOrMissing(r.purpose);
    case FieldId::kRequestClientIp: return StrOrMissing(r.client_ip);
    case FieldId::kRequestHeader: {
      const std::string* h = r.header(f.header);
      return h ? Str(*h) : Value{};
    }
    case FieldId::kAccountId: return StrOrMissing(a.id);
    case FieldId::kAccountOrg: return StrOrMissing(a.org);
    case FieldId::kAccountTier: return StrOrMissing(a.tier);
    case FieldId::kAccountCountry: return StrOrMissing(a.country);
    case FieldId::kAccountFlags: {
      Value v;
      v.kind = ValueKind::kStringList;
      v.list = &a.flags;
      return v;
    }
    case FieldId::kAccountSuspended: return Bool(a.suspended);
    case FieldId::kAccountCreated:
      return a.created_ms > 0 ? Num(static_cast<double>(a.created_ms)) : Value{};
    case FieldId::kAccountKeyAge: {
      // Seconds since the key was created when the directory knows it (the
      // accounts registry does), else since the account was.
      const int64_t since = a.key_created_ms > 0 ? a.key_created_ms : a.created_ms;
      return since > 0 ? Num(static_cast<double>((ctx.wall_ms - since) / 1000)) : Value{};
    }
    case FieldId::kBodyModel: return b.present ? StrOrMissing(b.model) : Value{};
    case FieldId::kBodyMaxTokens: return b.present ? NumOrMissing(b.max_tokens) : Value{};
    case FieldId::kBodyN: return b.present ? NumOrMissing(b.n) : Value{};
    case FieldId::kBodyStream: return b.present ? Bool(b.stream) : Value{};
    case FieldId::kBodyLogprobs: return b.present ? Bool(b.logprobs) : Value{};
    case FieldId::kBodyTopLogprobs: return b.present ? NumOrMissing(b.top_logprobs) : Value{};
    case FieldId::kBodyLogitBiasCount:
      return b.present ? Num(static_cast<double>(b.logit_bias_count)) : Value{};
    case FieldId::kBodyToolsCount:
      return b.present ? Num(static_cast<double>(b.tools_count)) : Value{};
    case FieldId::kBodyMessageCount:
      return b.present ? Num(static_cast<double>(b.message_count)) : Value{};
    case FieldId::kBodyPromptChars:
      return b.present ? Num(static_cast<double>(b.prompt_chars)) : Value{};
    case FieldId::kBodyApi: return b.present ? StrOrMissing(b.api) : Value{};
    case FieldId::kBodyReasoningEffort: return b.present ? StrOrMissing(b.reasoning_effort) : Value{};
    case FieldId::kBodyThinkingBudget: return b.present ? NumOrMissing(b.thinking_budget) : Value{};
    case FieldId::kBodyUser: return b.present ? StrOrMissing(b.user) : Value{};
    case FieldId::kBodyTokenPrompt: return b.present ? Bool(b.token_prompt) : Value{};
    case FieldId::kBodyUnscannedParts:
      return b.present ? Num(static_cast<double>(b.unscanned_parts)) : Value{};
    case FieldId::kBodyBatchRequests:
      return b.present ? Num(static_cast<double>(b.batch_requests)) : Value{};
    case FieldId::kBodyFilePurpose: return b.present ? StrOrMissing(b.file_purpose) : Value{};
    // Whether a body arrived and went unread: true or false, body or not, so
    // that `body.unread: true` refuses exactly what the front end let pass.
    case FieldId::kBodyUnread: return Bool(r.body_unread);
    case FieldId::kTimeHour: {
      int64_t secs_of_day = ((ctx.wall_ms / 1000) % 86400 + 86400) % 86400;
      return Num(static_cast<double>(secs_of_day / 3600));
    }
    case FieldId::kTimeWeekday: {
      // ISO weekday, 1 = Monday ... 7 = Sunday. 1970-01-01 was a Thursday (4).
      int64_t days = ctx.wall_ms / 86'400'000;
      return Num(static_cast<double>(((days + 3) % 7 + 7) % 7 + 1));
    }
  }
  return Value{};
}

}  // namespace tosgate::engine
