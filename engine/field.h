// Field names of the condition language and how to read them off a request.
//
// Four namespaces: request.*, account.*, body.*, time.*. ResolveField() is the
// one place that knows the names, so the loader, the schema test and the docs
// agree with the engine.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tosgate/request.h"

namespace tosgate::engine {

enum class FieldId : uint8_t {
  kRequestMethod, kRequestPath, kRequestOperation, kRequestPurpose,
  kRequestClientIp, kRequestHeader,
  kAccountId, kAccountOrg, kAccountTier, kAccountCountry, kAccountFlags,
  kAccountSuspended, kAccountCreated, kAccountKeyAge,
  kBodyModel, kBodyMaxTokens, kBodyN, kBodyStream, kBodyLogprobs,
  kBodyTopLogprobs, kBodyLogitBiasCount, kBodyToolsCount, kBodyMessageCount,
  kBodyPromptChars, kBodyApi, kBodyReasoningEffort, kBodyThinkingBudget, kBodyUser,
  kBodyTokenPrompt, kBodyUnscannedParts, kBodyBatchRequests, kBodyFilePurpose, kBodyUnread,
  kTimeHour, kTimeWeekday,
};

enum class ValueKind : uint8_t { kMissing, kBool, kNumber, kString, kStringList };

struct FieldRef {
  FieldId id = FieldId::kRequestMethod;
  std::string header;  // kRequestHeader only: the lower-case header name
  std::string name;    // as written, for explanations
  ValueKind kind = ValueKind::kString;  // what the field holds when present
};

// "request.header.x-foo" -> {kRequestHeader, "x-foo"}; nullopt if unknown.
std::optional<FieldRef> ResolveField(std::string_view name);
// Every field name (header fields as "request.header.<name>"), for docs/tests.
const std::vector<std::string>& AllFieldNames();

// A value read from a request; views point into the request or account.
struct Value {
  ValueKind kind = ValueKind::kMissing;
  bool b = false;
  double num = 0;
  std::string_view str;
  const std::vector<std::string>* list = nullptr;
  std::string ToString() const;  // for explanations
};

// What conditions are evaluated against: the request, its resolved account
// and the wall time of the decision.
struct EvalContext {
  const Request& request;
  const Account& account;
  std::string_view operation;  // request.operation, or what the policy mapped it to
  int64_t wall_ms = 0;
  int64_t now_ns = 0;  // monotonic
};

Value ReadField(const FieldRef& f, const EvalContext& ctx);

}  // namespace tosgate::engine
