#include "engine/content/index.h"

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
  slot->text = NormalizeForMatch(raw);
  ++scans_run_;
  slot->ok = index.database() && index.database()->Scan(slot->text, &slot->hits);
  return *slot;
}

}  // namespace tosgate::engine
