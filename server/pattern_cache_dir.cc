#include "server/pattern_cache_dir.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

namespace tosgate::server {
namespace fs = std::filesystem;
namespace {

class PatternCacheDir : public engine::PatternCacheStore {
 public:
  PatternCacheDir(fs::path dir, size_t max_files) : dir_(std::move(dir)), max_files_(max_files) {}

  std::optional<std::string> Get(std::string_view key) override {
    std::ifstream in(PathFor(key), std::ios::binary);
    if (!in) return std::nullopt;
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) return std::nullopt;
    return bytes;
  }

  void Put(std::string_view key, std::string_view bytes) override {
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) return;
    const fs::path final_path = PathFor(key);
    // A name of this process's own: two processes storing the same key at
    // once each rename a whole file over the other's.
    fs::path tmp = final_path;
    tmp += ".tmp" + std::to_string(::getpid());
    {
      std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
      out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
      if (!out.flush()) {
        out.close();
        fs::remove(tmp, ec);
        return;
      }
    }
    fs::rename(tmp, final_path, ec);
    if (ec) {
      fs::remove(tmp, ec);
      return;
    }
    Prune();
  }

 private:
  fs::path PathFor(std::string_view key) const { return dir_ / ("hs-" + std::string(key) + ".db"); }

  // Keeps the newest max_files_ databases: policies that changed leave
  // their old databases behind, and nothing else would remove them.
  void Prune() {
    std::error_code ec;
    std::vector<std::pair<fs::file_time_type, fs::path>> files;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind("hs-", 0) != 0 || entry.path().extension() != ".db") continue;
      files.emplace_back(entry.last_write_time(ec), entry.path());
    }
    if (files.size() <= max_files_) return;
    std::sort(files.begin(), files.end());
    for (size_t i = 0; i + max_files_ < files.size(); ++i) fs::remove(files[i].second, ec);
  }

  fs::path dir_;
  size_t max_files_;
};

}  // namespace

std::optional<fs::path> PatternCacheDirFromEnv() {
  if (const char* dir = std::getenv("TOSGATE_CACHE_DIR")) {
    if (*dir == '\0') return std::nullopt;
    return fs::path(dir);
  }
  if (const char* xdg = std::getenv("XDG_CACHE_HOME"); xdg && *xdg == '/') {
    return fs::path(xdg) / "tosgate";
  }
  if (const char* home = std::getenv("HOME"); home && *home == '/') {
    return fs::path(home) / ".cache" / "tosgate";
  }
  return std::nullopt;
}

std::shared_ptr<engine::PatternCacheStore> MakePatternCacheDir(fs::path dir, size_t max_files) {
  return std::make_shared<PatternCacheDir>(std::move(dir), max_files);
}

void InstallPatternCacheFromEnv() {
  if (auto dir = PatternCacheDirFromEnv()) engine::SetPatternCacheStore(MakePatternCacheDir(*dir));
}

}  // namespace tosgate::server
