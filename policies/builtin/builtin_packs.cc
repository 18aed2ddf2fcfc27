#include "policies/builtin/builtin_packs.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "policies/builtin/builtin_pack_data.h"

namespace tosgate::policies {
namespace {

class BuiltinResolver : public PackResolver {
 public:
  bool Find(std::string_view name, PackFiles* files) const override {
    files->clear();
    for (const BuiltinPackFile& f : BuiltinPackData())
      if (f.pack == name)
        files->emplace_back(std::string(f.path),
                            std::string(f.begin, static_cast<size_t>(f.end - f.begin)));
    return !files->empty();
  }
  std::vector<std::string> Names() const override {
    std::vector<std::string> out;
    for (const BuiltinPackFile& f : BuiltinPackData())
      if (out.empty() || out.back() != f.pack) out.emplace_back(f.pack);
    return out;
  }
};

}  // namespace

const PackResolver& BuiltinPacks() {
  static const BuiltinResolver kPacks;
  return kPacks;
}

bool DirPackResolver::Find(std::string_view name, PackFiles* files) const {
  namespace fs = std::filesystem;
  files->clear();
  const bool plain = !name.empty() && name.find('/') == name.npos && name.front() != '.';
  std::error_code ec;
  const fs::path root = fs::path(dir_) / std::string(name);
  if (plain && fs::is_directory(root, ec)) {
    for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string base = it->path().filename().string();
      if (!base.empty() && base.front() == '.') {
        if (it->is_directory(ec)) it.disable_recursion_pending();
        continue;
      }
      if (!it->is_regular_file(ec)) continue;
      std::ifstream in(it->path(), std::ios::binary);
      std::ostringstream content;
      content << in.rdbuf();
      files->emplace_back(it->path().lexically_relative(root).generic_string(), content.str());
    }
    std::sort(files->begin(), files->end());
    if (!files->empty()) return true;
  }
  return fallback_ && fallback_->Find(name, files);
}

std::vector<std::string> DirPackResolver::Names() const {
  namespace fs = std::filesystem;
  std::vector<std::string> out = fallback_ ? fallback_->Names() : std::vector<std::string>{};
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec) && it->path().filename().string().front() != '.')
      out.push_back(it->path().filename().string());
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace tosgate::policies
