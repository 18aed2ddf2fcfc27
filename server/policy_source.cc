#include "server/policy_source.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "policies/builtin/builtin_packs.h"
#include "server/default_pack.h"

namespace tosgate::server {

policies::LoadOptions PolicyLoadOptions() {
  static const policies::PackResolver* const kPacks = [] {
    const char* dir = std::getenv("TOSGATE_PACKS_DIR");
    if (!dir || !*dir) return &policies::BuiltinPacks();
    static const policies::DirPackResolver kDir(dir, &policies::BuiltinPacks());
    return static_cast<const policies::PackResolver*>(&kDir);
  }();
  policies::LoadOptions options;
  options.packs = kPacks;
  return options;
}

policies::LoadResult LoadPolicySource(const std::string& dir) {
  if (dir.empty()) return policies::LoadPolicyFiles(DefaultPackFiles(), PolicyLoadOptions());
  return policies::LoadPolicyDir(dir, PolicyLoadOptions());
}

size_t ReportPolicyErrors(const policies::LoadResult& r, std::ostream& out) {
  for (const policies::Diagnostic& d : r.errors) out << d.ToString() << "\n";
  if (!r.errors.empty())
    out << "tosgate: " << r.errors.size() << (r.errors.size() == 1 ? " error" : " errors")
        << " in policies\n";
  return r.errors.size();
}

std::string PolicyDirFingerprint(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::string out;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto size = it->file_size(ec);
    auto time = it->last_write_time(ec).time_since_epoch().count();
    out += it->path().string() + ':' + std::to_string(size) + ':' + std::to_string(time) + '\n';
  }
  if (ec) out += "error:" + ec.message();
  return out;
}

}  // namespace tosgate::server
