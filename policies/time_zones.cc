#include "policies/time_zones.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace tosgate::policies {
namespace {

// Letters, digits, '_', '-', '+' in parts joined by '/', no part starting
// with '.': a name cannot leave the database directory.
bool ZoneName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') return false;
  bool part_start = true;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '+' || c == '/';
    if (!ok || (part_start && (c == '/' || c == '-'))) return false;
    part_start = c == '/';
  }
  return true;
}

}  // namespace

Result<std::shared_ptr<const engine::TimeZone>> LoadTimeZone(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC") return engine::TimeZone::Utc();
  if (!ZoneName(name))
    return Status::InvalidArgument("\"" + std::string(name) +
                                   "\" is not a time zone name such as Europe/Berlin");
  const char* dir = std::getenv("TZDIR");
  const std::string path =
      std::string(dir && *dir ? dir : "/usr/share/zoneinfo") + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  if (in) content << in.rdbuf();
  if (!in || content.str().empty())
    return Status::InvalidArgument("unknown time zone \"" + std::string(name) +
                                   "\" (not in the tz database at " +
                                   (dir && *dir ? dir : "/usr/share/zoneinfo") + ")");
  return engine::TimeZone::FromTzif(std::string(name), content.str());
}

}  // namespace tosgate::policies
