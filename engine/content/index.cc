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
// reuses a scan of other patterns. Texts over kMaxReused bytes are not kept: copying them on every
// request would cost more than the rare hit saves.
constexpr size_t kMaxReused = 16 << 10;
struct LastScan {
  uint64_t database = 0;  // its id; 0: nothing kept
  std::string raw;
  ContentScans::Scan scan;
};
thread_local std::array<LastScan, kContentScopes> t_last;

}  // namespace

const ContentScans::Scan& ContentScans::Get(const ContentIndex& index, ContentScope scope,
                                            const RequestBody& body) {
  if (index_ != &index) {
    // A request reads one snapshot, so this happens once; reset to be safe.
    for (auto& d : done_) d.reset();
    index_ = &index;
  }
  std::unique_ptr<Scan>& slot = done_[static_cast<size_t>(scope)];
  if (slot) return *slot;
  slot = std::make_unique<Scan>();
  const std::string& raw = scope == ContentScope::kSystem ? body.system_text
                           : scope == ContentScope::kUser ? body.user_text
                                                          : body.prompt_text;
  ++scans_run_;
  const uint64_t database = index.database() ? index.database()->id() : 0;
  LastScan& last = t_last[static_cast<size_t>(scope)];
  if (database != 0 && last.database == database && last.raw == raw) {
    *slot = last.scan;
    return *slot;
  }
  slot->text = NormalizeForMatch(raw);
  slot->ok = index.database() && index.database()->Scan(slot->text, &slot->hits);
  if (database != 0 && slot->ok && raw.size() <= kMaxReused) {
    last.database = database;
    last.raw = raw;  // reuses the capacity of the last one
    last.scan.ok = true;
    last.scan.text = slot->text;
    last.scan.hits = slot->hits;
  } else {
    last.database = 0;
  }
  return *slot;
}

}  // namespace tosgate::engine
