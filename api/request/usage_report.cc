#include "api/request/usage_report.h"

#include <nlohmann/json.hpp>

#include "api/request/usage_scanner.h"
#include "engine/sha256.h"

namespace tosgate::api {

namespace {

int64_t* CountField(const std::string& name, engine::Usage* u) {
  if (name == "input_tokens") return &u->input_tokens;
  if (name == "output_tokens") return &u->output_tokens;
  if (name == "cached_input_tokens") return &u->cached_input_tokens;
  if (name == "cache_write_tokens") return &u->cache_write_tokens;
  if (name == "reasoning_tokens") return &u->reasoning_tokens;
  return nullptr;
}

}  // namespace

Status ParseUsageReport(std::string_view body, std::string* decision_id, engine::Usage* usage) {
  using json = nlohmann::json;
  *usage = {};
  decision_id->clear();
  // The server caps the body (kMaxUsageReportBytes); this is for callers in
  // process, and keeps the depth a parse can reach small too.
  if (body.size() > kMaxUsageReportBytes)
    return Status::InvalidArgument("the usage report is larger than " +
                                   std::to_string(kMaxUsageReportBytes) + " bytes");
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("the usage report is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("the usage report must be a JSON object");
  engine::Usage own;
  ProviderUsage provider;
  bool has_provider = false;
  for (const auto& [name, value] : j.items()) {
    if (name == "decision_id") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty())
        return Status::InvalidArgument("decision_id must be a non-empty string");
      if (value.get_ref<const std::string&>().size() > kMaxDecisionIdChars)
        return Status::InvalidArgument("decision_id is longer than " +
                                       std::to_string(kMaxDecisionIdChars) + " characters");
      *decision_id = value.get<std::string>();
    } else if (int64_t* count = CountField(name, &own)) {
      if (value.is_null()) continue;
      // is_number_integer() is also true of unsigned values past INT64_MAX,
      // which get<int64_t>() would wrap to negative: read unsigned apart.
      const bool whole = value.is_number_integer() &&
                         (value.is_number_unsigned() || value.get<int64_t>() >= 0);
      if (!whole) return Status::InvalidArgument(name + " must be a whole number >= 0");
      if (value.is_number_unsigned() ? value.get<uint64_t>() > uint64_t(kMaxReportedTokens)
                                     : value.get<int64_t>() > kMaxReportedTokens)
        return Status::InvalidArgument(name + " must be at most " +
                                       std::to_string(kMaxReportedTokens));
      *count = value.get<int64_t>();
    } else if (name == "usage" || name == "usageMetadata") {
      // The upstream's own usage object, as it came: the gateway normalizes it.
      if (!value.is_object()) return Status::InvalidArgument(name + " must be an object");
      provider.Read(value, name == "usageMetadata");
      has_provider = true;
    } else {
      return Status::InvalidArgument(
          "unknown member \"" + name +
          "\"; expected decision_id, input_tokens, output_tokens, cached_input_tokens, "
          "cache_write_tokens, reasoning_tokens, usage or usageMetadata");
    }
  }
  if (has_provider) {
    // Counts given by name take precedence over the provider object's.
    const engine::Usage from = provider.Normalized();
    const std::pair<int64_t*, int64_t> merge[] = {
        {&own.input_tokens, from.input_tokens},
        {&own.output_tokens, from.output_tokens},
        {&own.cached_input_tokens, from.cached_input_tokens},
        {&own.cache_write_tokens, from.cache_write_tokens},
        {&own.reasoning_tokens, from.reasoning_tokens}};
    for (const auto& [dest, v] : merge)
      if (*dest < 0) *dest = std::min(v, kMaxReportedTokens);
  }
  *usage = own;
  if (decision_id->empty()) return Status::InvalidArgument("decision_id is required");
  return Status::Ok();
}

UsageRefusal MapUsageStatus(const Status& s) {
  switch (s.code()) {
    case Status::Code::kNotFound: return {404, "unknown-decision"};
    case Status::Code::kInvalidArgument: return {400, "bad-usage-report"};
    case Status::Code::kResourceExhausted:
    case Status::Code::kUnavailable:
    case Status::Code::kInternal:
    case Status::Code::kIoError:
    case Status::Code::kOk: return {503, "usage-failed"};
    default: return {409, "usage-observed-by-gateway"};
  }
}

bool IsSha256Hex(std::string_view s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  return true;
}

bool ControlTokenMatches(std::string_view presented, std::string_view sha256_hex) {
  // Both sides are 64 characters whatever was presented: hashing first makes
  // the comparison's length, and so its time, independent of the guess.
  const std::string got = engine::Sha256Hex(presented);
  if (got.size() != sha256_hex.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < got.size(); ++i)
    diff |= static_cast<unsigned char>(got[i] ^ sha256_hex[i]);
  return diff == 0;
}

}  // namespace tosgate::api
