#include "api/gateway/usage_report.h"

#include <nlohmann/json.hpp>

namespace tosgate::api {

Status ParseUsageReport(std::string_view body, std::string* decision_id, engine::Usage* usage) {
  using json = nlohmann::json;
  // Depth and size are bounded by the server's body limit; a report is flat.
  const json j = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument("the usage report is not valid JSON");
  if (!j.is_object()) return Status::InvalidArgument("the usage report must be a JSON object");
  *usage = {};
  decision_id->clear();
  for (const auto& [name, value] : j.items()) {
    if (name == "decision_id") {
      if (!value.is_string() || value.get_ref<const std::string&>().empty())
        return Status::InvalidArgument("decision_id must be a non-empty string");
      *decision_id = value.get<std::string>();
    } else if (name == "input_tokens" || name == "output_tokens") {
      if (value.is_null()) continue;
      if (!value.is_number_integer() || value.get<int64_t>() < 0)
        return Status::InvalidArgument(name + " must be a whole number >= 0");
      (name == "input_tokens" ? usage->input_tokens : usage->output_tokens) = value.get<int64_t>();
    } else {
      return Status::InvalidArgument("unknown member \"" + name +
                                     "\"; expected decision_id, input_tokens, output_tokens");
    }
  }
  if (decision_id->empty()) return Status::InvalidArgument("decision_id is required");
  return Status::Ok();
}

}  // namespace tosgate::api
