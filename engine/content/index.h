// ContentIndex: every content pattern of one policy snapshot in one
// Hyperscan database. ContentScans: one request's scans of it, so that each
// field scope is normalized and scanned once however many content rules read
// it.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/content/matcher.h"
#include "tosgate/request.h"

namespace tosgate::engine {

// Which prompt text a content rule reads (tosgate::RequestBody).
enum class ContentScope : uint8_t {
  kAll,     // prompt_text: every message with its role, tool results too
  kSystem,  // system_text: system / developer messages and instructions
  kUser,    // user_text: user turns only
};
inline constexpr size_t kContentScopes = 3;

// Built once by the policy loader: patterns are added rule by rule (each rule
// remembers the ids of its own), then Build compiles them all into one
// database. After Build the index is immutable and shared by every thread
// that holds the snapshot; Build must happen before the snapshot is published.
class ContentIndex {
 public:
  // Appends patterns; returns the id of the first. Before Build only.
  uint32_t Add(const std::vector<ContentPattern>& patterns);
  // Compiles every pattern added into one database. On failure returns
  // false with why and which pattern (see ContentDatabase::Compile).
  bool Build(std::string* error, size_t* bad_index);

  size_t size() const { return patterns_.size(); }
  const std::vector<ContentPattern>& patterns() const { return patterns_; }
  // Null until Build succeeds.
  const ContentDatabase* database() const { return db_.get(); }

 private:
  std::vector<ContentPattern> patterns_;
  std::unique_ptr<ContentDatabase> db_;
};

// One request's content scans. Not thread-safe: one per request, on the
// request's thread. Each scope's text is normalized and scanned at most once
// per index.
//
// A scan lives in the thread's buffers for its scope (its last scan, kept
// for the next request: an application's system prompt arrives again and
// again), not in the request: after a thread's first requests a scan
// allocates and copies nothing. A second ContentScans alive on the same
// thread at once (nested) uses buffers of its own for the scopes the first
// holds, so neither sees the other's text.
class ContentScans {
 public:
  struct Scan {
    bool ok = false;         // false: Hyperscan failed (an internal error)
    std::string text;        // the scope's text, normalized
    std::vector<ContentHit> hits;  // sorted by pattern id
    // Names `text` on this thread: a new number whenever a text is
    // normalized into this buffer, never reused, the same while the buffer
    // serves the same text again. What a per-thread cache of something
    // computed from the text (the classifier's scores) is keyed by.
    uint64_t generation = 0;
  };
  ContentScans() = default;
  ContentScans(const ContentScans&) = delete;
  ContentScans& operator=(const ContentScans&) = delete;
  ~ContentScans();
  // The scan of `scope` of `body` against `index`, done on first use.
  const Scan& Get(const ContentIndex& index, ContentScope scope, const RequestBody& body);
  // The scan of `scope` against `index` if a rule already ran it, else null
  // (runs nothing): for readers that only reuse a scan when one was paid for.
  const Scan* Done(const ContentIndex& index, ContentScope scope) const {
    return index_ == &index ? done_[static_cast<size_t>(scope)] : nullptr;
  }
  // How many scans were run (for tests of the one-scan-per-scope promise).
  int scans_run() const { return scans_run_; }

 private:
  const ContentIndex* index_ = nullptr;
  std::array<const Scan*, kContentScopes> done_{};
  // Scopes whose thread buffers this request holds (released when it ends).
  std::array<bool, kContentScopes> held_{};
  // Buffers of its own, for scopes another live ContentScans holds.
  std::array<std::unique_ptr<Scan>, kContentScopes> own_;
  int scans_run_ = 0;
};

}  // namespace tosgate::engine
