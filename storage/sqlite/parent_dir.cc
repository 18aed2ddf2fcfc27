#include "storage/sqlite/parent_dir.h"

#include <filesystem>
#include <system_error>

namespace tosgate::storage {

Status EnsureParentDir(const std::string& path) {
  const std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) return Status::Ok();
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace tosgate::storage
