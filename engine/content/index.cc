#include "engine/content/index.h"

#include <array>
#include <string>

#include "engine/normalize.h"

namespace tosgate::engine {

uint32_t ContentIndex::Add(const std::vector<ContentPattern>& patterns) {
  const auto first = static_cast<uint32_t>(patterns_.size());
  patterns_.insert(patterns_.end(), patterns.begin(), patterns.end());
  return first;
}

bool ContentIndex::Build(std::string* error, size_t* bad_index) {
  db_ = ContentDatabase::Compile(patterns_, error, bad_index);
  return db_ != nullptr;
}

namespace {

// The last scan of each scope on this thread, with the raw text it is of:
// the next request's text of that scope is often the same one (an
// application's system prompt, request after request), and comparing a
// text costs far less than normalizing and scanning it. Keyed by the
// database's id (ContentDatabase::id, never reused), so a reload never
// reuses a scan of other patterns. The raw text of texts over kMaxReused
// bytes is not kept (copying it on every request would cost more than the
// rare hit saves); their scan still uses the buffers.
constexpr size_t kMaxReused = 16 << 10;
struct LastScan {
  uint64_t database = 0;  // its id; 0: nothing kept
  std::string raw;
  ContentScans::Scan scan;
  bool held = false;  // a live ContentScans reads `scan`
};
thread_local std::array<LastScan, kContentScopes> t_last;
thread_local uint64_t t_generation = 0;

}  // namespace

ContentScans::~ContentScans() {
  for (size_t s = 0; s < kContentScopes; ++s) {
    if (held_[s]) t_last[s].held = false;
  }
}

const ContentScans::Scan& ContentScans::Get(const ContentIndex& index, ContentScope scope,
                                            const RequestBody& body) {
  if (index_ != &index) {
    // A request reads one snapshot, so this happens once; reset to be safe.
    done_.fill(nullptr);
    index_ = &index;
  }
  const auto at = static_cast<size_t>(scope);
  if (done_[at]) return *done_[at];
  const std::string& raw = scope == ContentScope::kSystem ? body.system_text
                           : scope == ContentScope::kUser ? body.user_text
                                                          : body.prompt_text;
  ++scans_run_;
  const uint64_t database = index.database() ? index.database()->id() : 0;
  LastScan& last = t_last[at];
  Scan* scan = nullptr;
  if (held_[at] || !last.held) {
    held_[at] = last.held = true;
    if (database != 0 && last.database == database && last.raw == raw) {
      done_[at] = &last.scan;
      return last.scan;
    }
    scan = &last.scan;
    if (database != 0 && raw.size() <= kMaxReused) {
      last.database = database;
      last.raw = raw;  // reuses the capacity of the last one
    } else {
      last.database = 0;
      last.raw.clear();
    }
  } else {
    // Nested: another request on this thread reads the thread's buffers.
    if (!own_[at]) own_[at] = std::make_unique<Scan>();
    scan = own_[at].get();
  }
  NormalizeForMatch(raw, &scan->text);
  scan->generation = ++t_generation;
  scan->ok = index.database() && index.database()->Scan(scan->text, &scan->hits);
  if (!scan->ok) {
    scan->hits.clear();
    if (scan == &last.scan) last.database = 0;  // a failed scan is not served again
  }
  done_[at] = scan;
  return *scan;
}

}  // namespace tosgate::engine
