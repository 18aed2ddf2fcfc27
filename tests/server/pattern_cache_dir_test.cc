// The folder store of compiled pattern databases (server/pattern_cache_dir.h).
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "server/pattern_cache_dir.h"

namespace fs = std::filesystem;
using tosgate::server::MakePatternCacheDir;
using tosgate::server::PatternCacheDirFromEnv;

namespace {

fs::path FreshDir(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("tosgate-pattern-cache-" + name + "-" +
                                              std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

std::string Key(int i) { return std::string(63, 'a') + static_cast<char>('0' + i); }

}  // namespace

TEST_CASE("the folder store keeps what is put, creates its folder, and misses cleanly") {
  const fs::path dir = FreshDir("roundtrip") / "nested";
  auto store = MakePatternCacheDir(dir);
  CHECK_FALSE(store->Get(Key(1)).has_value());
  const std::string bytes("\0binary\xff", 8);
  store->Put(Key(1), bytes);
  REQUIRE(store->Get(Key(1)).has_value());
  CHECK(*store->Get(Key(1)) == bytes);
  // No temporary file is left beside the database.
  int files = 0;
  for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);
  fs::remove_all(dir.parent_path());
}

TEST_CASE("the folder store keeps at most its limit, the oldest removed first") {
  const fs::path dir = FreshDir("prune");
  auto store = MakePatternCacheDir(dir, 3);
  for (int i = 0; i < 5; ++i) {
    store->Put(Key(i), "db" + std::to_string(i));
    // Distinct write times, whatever the file system's resolution.
    fs::last_write_time(dir / ("hs-" + Key(i) + ".db"),
                        fs::file_time_type::clock::now() - std::chrono::hours(10 - i));
  }
  CHECK_FALSE(store->Get(Key(0)).has_value());
  CHECK_FALSE(store->Get(Key(1)).has_value());
  CHECK(store->Get(Key(4)).value_or("") == "db4");
  CHECK(store->Get(Key(2)).value_or("") == "db2");
  fs::remove_all(dir);
}

TEST_CASE("a folder that cannot be created is a miss, not an error") {
  auto store = MakePatternCacheDir("/proc/tosgate-cannot-exist/cache");
  store->Put(Key(1), "x");
  CHECK_FALSE(store->Get(Key(1)).has_value());
}

TEST_CASE("the environment names the folder, or turns the cache off") {
  const char* saved = std::getenv("TOSGATE_CACHE_DIR");
  const std::string keep = saved ? saved : "";
  setenv("TOSGATE_CACHE_DIR", "/tmp/x-cache", 1);
  CHECK(PatternCacheDirFromEnv().value_or("") == fs::path("/tmp/x-cache"));
  setenv("TOSGATE_CACHE_DIR", "", 1);
  CHECK_FALSE(PatternCacheDirFromEnv().has_value());
  unsetenv("TOSGATE_CACHE_DIR");
  setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  CHECK(PatternCacheDirFromEnv().value_or("") == fs::path("/tmp/xdg/tosgate"));
  unsetenv("XDG_CACHE_HOME");
  if (saved) setenv("TOSGATE_CACHE_DIR", keep.c_str(), 1);
}
