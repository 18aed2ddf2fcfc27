// The console's files (console/src), compiled into the binary by
// console/embed.cmake: the admin server reads no file at run time.
#pragma once

#include <span>
#include <string_view>

namespace tosgate::api::admin {

struct ConsoleAsset {
  std::string_view path;          // relative to console/src: "app.js", "pages/review.js"
  std::string_view content_type;  // from the extension
  std::string_view data;
  std::string_view etag;          // the first 16 hex digits of the file's SHA-256
};

// Sorted by path; generated (console_assets.cc in the build tree).
std::span<const ConsoleAsset> ConsoleAssets();

}  // namespace tosgate::api::admin
