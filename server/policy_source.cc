#include "server/policy_source.h"

#include <algorithm>
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

std::vector<std::string> ImportedDirs(const std::string& dir, const policies::LoadResult& r) {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  if (dir.empty()) return out;
  std::error_code ec;
  const fs::path root = fs::weakly_canonical(dir, ec);
  for (const std::string& f : r.files) {
    if (f.rfind("pack:", 0) == 0) continue;  // built in
    const fs::path parent = fs::weakly_canonical(fs::path(f).parent_path(), ec);
    const fs::path inside = parent.lexically_relative(root);
    if (!inside.empty() && *inside.begin() != "..") continue;  // under dir: watched already
    out.push_back(parent.string());
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

// Each regular file's path, size and modification time under `dir`, as one
// string that changes when any of them does (Iterator: one level or all).
template <class Iterator>
std::string Fingerprint(const std::string& dir) {
  std::error_code ec;
  std::string out;
  for (Iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec)) continue;
    auto size = it->file_size(ec);
    auto time = it->last_write_time(ec).time_since_epoch().count();
    out += it->path().string() + ':' + std::to_string(size) + ':' + std::to_string(time) + '\n';
  }
  if (ec) out += "error:" + ec.message();
  return out;
}

}  // namespace

std::string PolicyDirFingerprint(const std::string& dir) {
  return Fingerprint<std::filesystem::recursive_directory_iterator>(dir);
}

std::string FolderFingerprint(const std::string& dir) {
  return Fingerprint<std::filesystem::directory_iterator>(dir);
}

}  // namespace tosgate::server
