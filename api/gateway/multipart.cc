#include "api/gateway/multipart.h"

namespace tosgate::api {

// Placeholder so callers link while the reader is written.
bool IsMultipartFormData(std::string_view) { return false; }
Status SplitMultipart(std::string_view, std::string_view, std::vector<MultipartPart>* parts,
                      const MultipartLimits&) {
  parts->clear();
  return Status::InvalidArgument("multipart bodies are not read yet");
}
Status ParseJsonLinesBodies(std::string_view, RequestBody* out) {
  *out = RequestBody{};
  return Status::InvalidArgument("JSON Lines files are not read yet");
}
Status ParseMultipartBody(std::string_view, std::string_view, RequestBody* out) {
  *out = RequestBody{};
  return Status::InvalidArgument("multipart bodies are not read yet");
}

}  // namespace tosgate::api
