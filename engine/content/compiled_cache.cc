#include "engine/content/compiled_cache.h"

#include <hs/hs.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <limits>
#include <map>
#include <mutex>

#include "engine/sha256.h"

namespace tosgate::engine {
namespace {

std::mutex g_mu;
std::shared_ptr<PatternCacheStore> g_store;  // guarded by g_mu
// Live databases by key; expired entries are swept on insert.
std::map<std::string, std::weak_ptr<const internal::CompiledDatabase>, std::less<>> g_live;
// The few most recently used databases are kept alive even when no snapshot
// holds them: a reload, a rollback or the next test that loads the same
// pack finds them here. A few MB each at most (the prohibited-use pack's is
// 2.5 MB).
constexpr size_t kKeptRecent = 4;
std::deque<std::shared_ptr<const internal::CompiledDatabase>> g_recent;  // most recent first
std::atomic<uint64_t> g_compiled{0}, g_shared{0}, g_loaded{0};
// Every database gets a generation (see CompiledDatabase). A trivial static:
// constant-initialized, so no initialization-order concerns.
std::atomic<uint64_t> g_next_generation{1};

// The key: everything that decides the compiled bytes. Lengths are written
// before each string so that no two different inputs digest alike.
std::string KeyFor(const std::vector<std::string>& expressions, const std::vector<unsigned>& flags) {
  std::string in = "tosgate-hs-block 1\n";
  in += hs_version();
  in += '\n';
  for (size_t i = 0; i < expressions.size(); ++i) {
    in += std::to_string(expressions[i].size()) + ':' + expressions[i] + ':' +
          std::to_string(flags[i]) + '\n';
  }
  return Sha256Hex(in);
}

std::shared_ptr<const internal::CompiledDatabase> Wrap(hs_database_t* db) {
  auto out = std::make_shared<internal::CompiledDatabase>();
  out->db = db;
  out->generation = g_next_generation.fetch_add(1, std::memory_order_relaxed);
  return out;
}

// Moves `db` to the front of the recently used. Under g_mu.
void Touch(const std::shared_ptr<const internal::CompiledDatabase>& db) {
  auto it = std::find(g_recent.begin(), g_recent.end(), db);
  if (it != g_recent.end()) g_recent.erase(it);
  g_recent.push_front(db);
  if (g_recent.size() > kKeptRecent) g_recent.pop_back();
}

std::shared_ptr<const internal::CompiledDatabase> FindLive(const std::string& key) {
  std::lock_guard lock(g_mu);
  auto it = g_live.find(key);
  auto db = it == g_live.end() ? nullptr : it->second.lock();
  if (db) Touch(db);
  return db;
}

void Remember(const std::string& key, const std::shared_ptr<const internal::CompiledDatabase>& db) {
  std::lock_guard lock(g_mu);
  for (auto it = g_live.begin(); it != g_live.end();) {
    it = it->second.expired() ? g_live.erase(it) : std::next(it);
  }
  g_live[key] = db;
  Touch(db);
}

hs_database_t* Load(PatternCacheStore& store, const std::string& key) {
  const std::optional<std::string> bytes = store.Get(key);
  if (!bytes) return nullptr;
  hs_database_t* db = nullptr;
  // Hyperscan checks the bytes' version, platform and checksum and refuses
  // what does not fit; a refusal is a miss.
  if (hs_deserialize_database(bytes->data(), bytes->size(), &db) != HS_SUCCESS) return nullptr;
  return db;
}

void Store(PatternCacheStore& store, const std::string& key, const hs_database_t* db) {
  char* bytes = nullptr;
  size_t length = 0;
  if (hs_serialize_database(db, &bytes, &length) != HS_SUCCESS) return;
  store.Put(key, std::string_view(bytes, length));
  std::free(bytes);  // Hyperscan's misc allocator: malloc by default
}

}  // namespace

void SetPatternCacheStore(std::shared_ptr<PatternCacheStore> store) {
  std::lock_guard lock(g_mu);
  g_store = std::move(store);
}

std::shared_ptr<PatternCacheStore> GetPatternCacheStore() {
  std::lock_guard lock(g_mu);
  return g_store;
}

PatternCacheStats GetPatternCacheStats() {
  return {g_compiled.load(), g_shared.load(), g_loaded.load()};
}

namespace internal {

CompiledDatabase::~CompiledDatabase() {
  if (db) hs_free_database(db);
}

std::shared_ptr<const CompiledDatabase> CompileCached(const std::vector<std::string>& expressions,
                                                      const std::vector<unsigned>& flags,
                                                      std::string* error, size_t* bad_index) {
  if (expressions.size() > std::numeric_limits<unsigned>::max()) {
    *error = "too many patterns";
    return nullptr;
  }
  const std::string key = KeyFor(expressions, flags);
  if (auto live = FindLive(key)) {
    g_shared.fetch_add(1, std::memory_order_relaxed);
    return live;
  }
  // Two threads compiling the same new patterns at once both compile; the
  // second to finish replaces the first's entry. Rare (reloads are
  // serialized) and harmless.
  const std::shared_ptr<PatternCacheStore> store = GetPatternCacheStore();
  if (store) {
    if (hs_database_t* db = Load(*store, key)) {
      g_loaded.fetch_add(1, std::memory_order_relaxed);
      auto out = Wrap(db);
      Remember(key, out);
      return out;
    }
  }
  std::vector<const char*> cexprs;
  std::vector<unsigned> ids;
  for (size_t i = 0; i < expressions.size(); ++i) {
    cexprs.push_back(expressions[i].c_str());
    ids.push_back(static_cast<unsigned>(i));
  }
  hs_database_t* db = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(cexprs.data(), flags.data(), ids.data(), static_cast<unsigned>(cexprs.size()),
                       HS_MODE_BLOCK, nullptr, &db, &err) != HS_SUCCESS) {
    *error = err && err->message ? err->message : "Hyperscan cannot compile the patterns";
    if (err && err->expression >= 0) *bad_index = static_cast<size_t>(err->expression);
    hs_free_compile_error(err);
    return nullptr;
  }
  g_compiled.fetch_add(1, std::memory_order_relaxed);
  if (store) Store(*store, key, db);
  auto out = Wrap(db);
  Remember(key, out);
  return out;
}

}  // namespace internal
}  // namespace tosgate::engine
