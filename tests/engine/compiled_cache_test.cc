// Compiled pattern databases are reused: shared within a process while a
// snapshot holds one, loaded from the store across processes, and compiled
// again when the stored bytes are refused.
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include "engine/content/compiled_cache.h"
#include "engine/content/matcher.h"
#include "engine/normalize.h"

using namespace tosgate::engine;

namespace {

using Type = ContentPattern::Type;

// An in-memory store that counts its calls.
class MemoryStore : public PatternCacheStore {
 public:
  std::optional<std::string> Get(std::string_view key) override {
    ++gets;
    auto it = bytes.find(std::string(key));
    if (it == bytes.end()) return std::nullopt;
    return it->second;
  }
  void Put(std::string_view key, std::string_view b) override {
    ++puts;
    bytes[std::string(key)] = std::string(b);
  }
  std::map<std::string, std::string> bytes;
  int gets = 0, puts = 0;
};

// Installs a store for one test case and removes it after.
struct ScopedStore {
  explicit ScopedStore(std::shared_ptr<PatternCacheStore> s) { SetPatternCacheStore(std::move(s)); }
  ~ScopedStore() { SetPatternCacheStore(nullptr); }
};

std::unique_ptr<ContentDatabase> Compile(const std::vector<ContentPattern>& patterns) {
  std::string why;
  size_t bad = 0;
  auto db = ContentDatabase::Compile(patterns, &why, &bad);
  INFO(why);
  REQUIRE(db);
  return db;
}

std::vector<uint32_t> Match(const ContentDatabase& db, std::string_view text) {
  std::vector<ContentHit> hits;
  REQUIRE(db.Scan(NormalizeForMatch(text), &hits));
  std::vector<uint32_t> ids;
  for (const ContentHit& h : hits) ids.push_back(h.id);
  return ids;
}

// Patterns no other test case compiles, so that the process-wide cache
// starts cold for them.
std::vector<ContentPattern> Unique(const std::string& tag) {
  return {{"p", Type::kPhrase, "cache probe " + tag}, {"r", Type::kRegex, "probe\\s+" + tag + "\\s+again"}};
}

}  // namespace

TEST_CASE("the same patterns compiled while a database is alive share it") {
  const PatternCacheStats before = GetPatternCacheStats();
  auto a = Compile(Unique("alive"));
  auto b = Compile(Unique("alive"));
  const PatternCacheStats after = GetPatternCacheStats();
  CHECK(after.compiled - before.compiled == 1);
  CHECK(after.shared - before.shared == 1);
  CHECK(Match(*b, "a cache probe alive") == std::vector<uint32_t>{0});
  a.reset();  // b keeps the shared database alive
  CHECK(Match(*b, "probe alive again") == std::vector<uint32_t>{1});
  // Different flags or expressions are a different database.
  auto c = Compile({{"p", Type::kWord, "cache probe alive"}});
  CHECK(GetPatternCacheStats().compiled - before.compiled == 2);
}

TEST_CASE("one of the last four used is kept alive; an older one comes from the store") {
  auto store = std::make_shared<MemoryStore>();
  ScopedStore scoped(store);
  const PatternCacheStats before = GetPatternCacheStats();
  Compile(Unique("stored"));  // compiled and stored; no snapshot holds it
  CHECK(store->puts == 1);
  Compile(Unique("stored"));  // still among the recent
  CHECK(GetPatternCacheStats().shared - before.shared == 1);
  for (const char* other : {"o1", "o2", "o3", "o4"}) Compile(Unique(other));
  auto again = Compile(Unique("stored"));  // pushed out by four others
  const PatternCacheStats after = GetPatternCacheStats();
  CHECK(after.compiled - before.compiled == 5);
  CHECK(after.loaded - before.loaded == 1);
  CHECK(store->puts == 5);  // a load is not written back
  CHECK(Match(*again, "cache probe stored, probe stored again") == std::vector<uint32_t>{0, 1});
}

TEST_CASE("stored bytes Hyperscan refuses are compiled again and replaced") {
  auto store = std::make_shared<MemoryStore>();
  ScopedStore scoped(store);
  Compile(Unique("damaged"));
  REQUIRE(store->bytes.size() == 1);
  const std::string key = store->bytes.begin()->first;
  for (const char* other : {"d1", "d2", "d3", "d4"}) Compile(Unique(other));  // out of the recent
  std::string& bytes = store->bytes[key];
  const std::string good = bytes;
  bytes = bytes.substr(0, bytes.size() / 2);  // a truncated file
  const PatternCacheStats before = GetPatternCacheStats();
  auto db = Compile(Unique("damaged"));
  CHECK(GetPatternCacheStats().compiled - before.compiled == 1);
  CHECK(GetPatternCacheStats().loaded == before.loaded);
  CHECK(store->bytes[key] == good);  // rewritten whole
  CHECK(Match(*db, "cache probe damaged") == std::vector<uint32_t>{0});
}

TEST_CASE("a pattern Hyperscan rejects is reported and nothing is stored") {
  auto store = std::make_shared<MemoryStore>();
  ScopedStore scoped(store);
  std::string why;
  size_t bad = 99;
  auto db = ContentDatabase::Compile({{"ok", Type::kPhrase, "fine"}, {"bad", Type::kRegex, "(?<=a+)b"}},
                                     &why, &bad);
  CHECK_FALSE(db);
  CHECK(bad == 1);
  CHECK_FALSE(why.empty());
  CHECK(store->puts == 0);
}
