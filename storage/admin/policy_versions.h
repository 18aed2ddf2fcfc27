// PolicyVersions: every policy bundle uploaded through the admin API, and
// which one is active, in one SQLite file. A version is immutable once
// added: its files, author, time and content hash. Activations (and
// rollbacks) are appended to a history; the active version is the last one.
//
// Thread-safety: all methods may be called from any thread; they share one
// connection behind a mutex.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tosgate/clock.h"
#include "tosgate/status.h"

namespace tosgate::storage {

using PolicyFiles = std::vector<std::pair<std::string, std::string>>;  // (name, content), sorted

struct PolicyVersion {
  int64_t id = 0;
  std::string author;
  int64_t created_ms = 0;
  std::string sha256;    // of the files: see ContentHash
  std::string message;   // what the author said about it
  std::string revision;  // the compiled snapshot's revision
  PolicyFiles files;     // empty in List()
};

struct PolicyActivation {
  int64_t seq = 0;
  int64_t version = 0;
  std::string author;
  int64_t time_ms = 0;
  std::string kind;  // "activate" | "rollback"
};

// SHA-256 (hex) over the files sorted by name: name, NUL, content, NUL each.
std::string ContentHash(const PolicyFiles& files);

class PolicyVersions {
 public:
  // Opens or creates `path` (":memory:" works). `clock` stamps times.
  static Result<std::unique_ptr<PolicyVersions>> Open(const std::string& path, const Clock* clock);
  ~PolicyVersions();
  PolicyVersions(const PolicyVersions&) = delete;
  PolicyVersions& operator=(const PolicyVersions&) = delete;

  // Stores a new version (files sorted by name) and returns it with its id.
  Result<PolicyVersion> Add(std::string_view author, std::string_view message,
                            std::string_view revision, PolicyFiles files);
  // NotFound for an unknown id.
  Result<PolicyVersion> Get(int64_t id);
  // Newest first, at most `limit`, ids below `before` (0: from the newest); no files.
  Result<std::vector<PolicyVersion>> List(size_t limit, int64_t before = 0);
  // Makes `id` the active version (NotFound when there is none such).
  Status Activate(int64_t id, std::string_view author, std::string_view kind = "activate");
  // The active version's id, if any version was ever activated.
  Result<std::optional<int64_t>> Active();
  // Newest first.
  Result<std::vector<PolicyActivation>> History(size_t limit);
  // The version active before the current one (differs from it), for a rollback.
  Result<std::optional<int64_t>> Previous();

 private:
  struct Impl;
  explicit PolicyVersions(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tosgate::storage
