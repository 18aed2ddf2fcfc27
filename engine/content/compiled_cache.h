// Compiled pattern databases, reused instead of compiled again.
//
// Compiling a pack's content patterns is the slowest part of loading it
// (the prohibited-use pack: ~1 s of Hyperscan compile for ~2,000 patterns),
// and the same patterns are compiled over and over: every policy reload,
// every `tosgate validate` / `test` / `replay`, every test that loads the
// default pack. Two levels of reuse, both keyed by a SHA-256 digest of what
// Hyperscan is given (its version, the mode, every expression and its flags):
//   - within a process, a database still held by a snapshot, or one of the
//     last four used, is shared by any later compile of the same patterns;
//   - across processes, an optional PatternCacheStore (set once at start-up
//     by the program; the engine does no I/O itself) keeps serialized
//     databases. A stored database that Hyperscan refuses to load (another
//     version or CPU, a damaged file) is compiled again and stored anew.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct hs_database;  // Hyperscan's, from <hs/hs.h>

namespace tosgate::engine {

// Where serialized databases live between processes (server/pattern_cache_dir.h
// keeps them in a folder). Get and Put may be called from any thread; both
// are best-effort: a failure is a miss, never an error.
class PatternCacheStore {
 public:
  virtual ~PatternCacheStore() = default;
  // The bytes stored under `key` (64 hex digits), or nothing.
  virtual std::optional<std::string> Get(std::string_view key) = 0;
  virtual void Put(std::string_view key, std::string_view bytes) = 0;
};

// Installs the process's store (null: none, the default). Call before
// policies are loaded; safe from any thread.
void SetPatternCacheStore(std::shared_ptr<PatternCacheStore> store);
std::shared_ptr<PatternCacheStore> GetPatternCacheStore();

// What the cache did, for tests and `--verbose` output.
struct PatternCacheStats {
  uint64_t compiled = 0;      // databases compiled by Hyperscan
  uint64_t shared = 0;        // reused from a live database in this process
  uint64_t loaded = 0;        // deserialized from the store
};
PatternCacheStats GetPatternCacheStats();

namespace internal {
// One compiled Hyperscan database, shared read-only by every ContentDatabase
// built from the same patterns. `generation` tells a thread's scratch space
// which database it was last fitted to (engine/content/matcher.cc).
struct CompiledDatabase {
  hs_database* db = nullptr;
  uint64_t generation = 0;
  CompiledDatabase() = default;
  CompiledDatabase(const CompiledDatabase&) = delete;
  CompiledDatabase& operator=(const CompiledDatabase&) = delete;
  ~CompiledDatabase();
};

// hs_compile_multi in block mode, through the two caches above. On failure
// null, with Hyperscan's message and the index of the expression it names
// (left unchanged when it names none). Failures are never cached.
std::shared_ptr<const CompiledDatabase> CompileCached(const std::vector<std::string>& expressions,
                                                      const std::vector<unsigned>& flags,
                                                      std::string* error, size_t* bad_index);
}  // namespace internal

}  // namespace tosgate::engine
