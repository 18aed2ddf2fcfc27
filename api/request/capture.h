// Reading a traffic capture (docs/replay.md, "Capture format"): JSON Lines, one
// request per line,
//
//   {"ts": 1764331200123, "method": "POST", "path": "/v1/chat/completions",
//    "client_ip": "203.0.113.7", "headers": {"authorization": "Bearer ..."},
//    "body": {...}, "usage": {...}}
//
// `ts` (integer milliseconds since the Unix epoch) and `path` are required;
// the rest are optional. The file is streamed a line at a time, never loaded
// whole. Not synchronized: one reader per thread.
#pragma once

#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>

#include "api/request/request_description.h"

namespace tosgate::api {

struct CaptureLine {
  int64_t ts_ms = 0;
  api::RequestDescription request;
};

// Parses one capture line. On a problem returns false and says what in
// *problem (one short phrase, without file or line).
bool ParseCaptureLine(std::string_view text, CaptureLine* out, std::string* problem);

class CaptureReader {
 public:
  // Opens `path`; ok() is false when it cannot be read.
  explicit CaptureReader(const std::string& path);
  bool ok() const { return ok_; }
  uint64_t size_bytes() const { return size_; }
  uint64_t bytes_read() const { return bytes_read_; }
  int64_t line_number() const { return line_; }  // 1-based, of the last line returned

  // The next line that is not blank, in *text; false at the end of the file.
  bool Next(std::string* text);

 private:
  std::ifstream in_;
  bool ok_ = false;
  uint64_t size_ = 0;
  uint64_t bytes_read_ = 0;
  int64_t line_ = 0;
};

}  // namespace tosgate::api
