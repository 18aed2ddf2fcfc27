// multipart/form-data request bodies (RFC 7578), read strictly and within
// bounds, so that a file upload's text is scanned like a JSON body's.
//
// OpenAI's POST /v1/files uploads a batch input (purpose=batch) or a
// fine-tuning set (purpose=fine-tune) as a `file` part holding JSON Lines:
// each line a batch request {"custom_id", "method", "url", "body": {...}}
// or a training example ({"messages": [...]}, {"prompt", "completion"}, or a
// preference example). ParseMultipartBody turns such an upload into one
// RequestBody aggregating every line's texts (engine::ParseBody per body,
// engine::MergeBody to aggregate), so content rules see them all.
//
// Pure functions over plain values, no I/O and no Boost. Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "tosgate/request.h"
#include "tosgate/status.h"

namespace tosgate::api {

struct MultipartLimits {
  size_t max_parts = 32;
  size_t max_header_bytes = 8192;  // one part's header block
};

// One part of a form; `data` views into the body it was split from.
struct MultipartPart {
  std::string name;           // Content-Disposition name
  std::string filename;       // Content-Disposition filename; empty when none
  bool has_filename = false;  // a file part, even with filename=""
  std::string content_type;   // the part's Content-Type, lower case; empty when none
  std::string_view data;
};

// True when the media type (parameters aside, case-insensitive) is
// multipart/form-data.
bool IsMultipartFormData(std::string_view content_type);

// Splits a multipart/form-data body. The boundary comes from the
// Content-Type's boundary parameter (1-70 characters, quoted or not).
// InvalidArgument, naming the problem, for anything an upstream could read
// differently: no or a bad boundary, bytes before the first delimiter, a
// delimiter not followed by CRLF or "--", a line ending other than CRLF in
// part headers, folded or malformed header lines, a part without
// `Content-Disposition: form-data; name=...`, a repeated header, a
// Content-Transfer-Encoding other than 7bit/8bit/binary, two parts with the
// same name, a missing close delimiter, anything after it but one CRLF, and
// more parts or header bytes than `limits`. Linear in the body size.
Status SplitMultipart(std::string_view content_type, std::string_view body,
                      std::vector<MultipartPart>* parts, const MultipartLimits& limits = {});

// Reads a JSON Lines file of request bodies into *out (reset first): each
// non-blank line a JSON object, either a batch request line whose `body`
// object is a request body, or a fine-tuning example read as a body itself.
// Texts of every line are aggregated (engine::MergeBody); batch_requests
// counts the lines. InvalidArgument naming the line for a line that is not
// a JSON object, has a duplicate key, has a `body` that is not an object,
// or (not a batch line) holds no messages, prompt or input to read; for
// lines naming different models; or for an empty file.
Status ParseJsonLinesBodies(std::string_view jsonl, RequestBody* out);

// What the front end calls for a multipart/form-data body: fills *out
// (reset first), with out->api = "files". Reads
//   - the `file` part: JSON Lines of request bodies (ParseJsonLinesBodies);
//   - text fields: `purpose` (out->file_purpose), `model`, `prompt` (user
//     text, as in audio transcriptions and image edits).
// Refuses (InvalidArgument, naming the problem) a form SplitMultipart
// refuses, a form without a file part, more than one file part, and a file
// part that is not JSON Lines of request bodies (audio, images, PDFs: the
// front end then refuses the request, or passes it with
// Request::body_unread set, per gateway.unreadable_body).
Status ParseMultipartBody(std::string_view content_type, std::string_view body, RequestBody* out);

}  // namespace tosgate::api
