#include "api/request/usage_report.h"

#include <nlohmann/json.hpp>

#include "engine/sha256.h"

namespace tosgate::api {

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
  for (const auto& [name, value] : j.items()) {
    if (name == "decision_id") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty())
        return Status::InvalidArgument("decision_id must be a non-empty string");
      if (value.get_ref<const std::string&>().size() > kMaxDecisionIdChars)
        return Status::InvalidArgument("decision_id is longer than " +
                                       std::to_string(kMaxDecisionIdChars) + " characters");
      *decision_id = value.get<std::string>();
    } else if (name == "input_tokens" || name == "output_tokens") {
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
      (name == "input_tokens" ? usage->input_tokens : usage->output_tokens) = value.get<int64_t>();
    } else {
      return Status::InvalidArgument("unknown member \"" + name +
                                     "\"; expected decision_id, input_tokens, output_tokens");
    }
  }
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
