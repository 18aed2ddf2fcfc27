#include "engine/content/matcher.h"

#include <hs/hs.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace tosgate::engine {

struct ContentMatcher::Impl {
  hs_database_t* db = nullptr;
  hs_scratch_t* prototype = nullptr;
  // Scratch space may be used by one scan at a time; scans borrow one from
  // this pool and give it back, cloning the prototype when the pool is empty.
  mutable std::mutex mu;
  mutable std::vector<hs_scratch_t*> pool;

  ~Impl() {
    for (hs_scratch_t* s : pool) hs_free_scratch(s);
    if (prototype) hs_free_scratch(prototype);
    if (db) hs_free_database(db);
  }
  hs_scratch_t* Borrow() const {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!pool.empty()) {
        hs_scratch_t* s = pool.back();
        pool.pop_back();
        return s;
      }
    }
    hs_scratch_t* s = nullptr;
    if (hs_clone_scratch(prototype, &s) != HS_SUCCESS) return nullptr;
    return s;
  }
  void Return(hs_scratch_t* s) const {
    std::lock_guard<std::mutex> lock(mu);
    pool.push_back(s);
  }
};

std::string ContentMatcher::Expression(const ContentPattern& p) {
  if (p.type == ContentPattern::Type::kRegex) return p.text;
  std::string escaped;
  for (unsigned char c : p.text) {
    if (std::isalnum(c) || c == ' ' || c >= 0x80) {
      escaped += static_cast<char>(c);
    } else {
      // \xHH is literal in every Hyperscan context.
      static constexpr char kHex[] = "0123456789abcdef";
      escaped += "\\x";
      escaped += kHex[c >> 4];
      escaped += kHex[c & 15];
    }
  }
  if (p.type == ContentPattern::Type::kWord) return "\\b" + escaped + "\\b";
  return escaped;
}

std::shared_ptr<const ContentMatcher> ContentMatcher::Compile(std::vector<ContentPattern> patterns,
                                                              std::string* error,
                                                              size_t* bad_index) {
  std::vector<std::string> exprs;
  std::vector<const char*> cexprs;
  std::vector<unsigned> flags, ids;
  for (size_t i = 0; i < patterns.size(); ++i) exprs.push_back(Expression(patterns[i]));
  for (size_t i = 0; i < exprs.size(); ++i) {
    cexprs.push_back(exprs[i].c_str());
    // Case is folded by normalization already; CASELESS keeps raw text safe too.
    flags.push_back(HS_FLAG_CASELESS | HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_DOTALL);
    ids.push_back(static_cast<unsigned>(i));
  }
  auto impl = std::make_unique<Impl>();
  if (!patterns.empty()) {
    hs_compile_error_t* err = nullptr;
    if (hs_compile_multi(cexprs.data(), flags.data(), ids.data(),
                         static_cast<unsigned>(cexprs.size()), HS_MODE_BLOCK, nullptr, &impl->db,
                         &err) != HS_SUCCESS) {
      if (error) *error = err ? err->message : "Hyperscan compile failed";
      if (bad_index && err && err->expression >= 0) *bad_index = static_cast<size_t>(err->expression);
      hs_free_compile_error(err);
      return nullptr;
    }
    if (hs_alloc_scratch(impl->db, &impl->prototype) != HS_SUCCESS) {
      if (error) *error = "cannot allocate Hyperscan scratch space";
      return nullptr;
    }
  }
  return std::shared_ptr<const ContentMatcher>(
      new ContentMatcher(std::move(patterns), std::move(impl)));
}

ContentMatcher::ContentMatcher(std::vector<ContentPattern> patterns, std::unique_ptr<Impl> impl)
    : patterns_(std::move(patterns)), impl_(std::move(impl)) {}

ContentMatcher::~ContentMatcher() = default;

std::vector<ContentHit> ContentMatcher::Scan(std::string_view text) const {
  std::vector<ContentHit> hits;
  if (!impl_->db) return hits;
  hs_scratch_t* scratch = impl_->Borrow();
  if (!scratch) return hits;
  auto on_match = [](unsigned id, unsigned long long, unsigned long long to, unsigned,
                     void* ctx) -> int {
    static_cast<std::vector<ContentHit>*>(ctx)->push_back({id, static_cast<size_t>(to)});
    return 0;
  };
  hs_scan(impl_->db, text.data(), static_cast<unsigned>(text.size()), 0, scratch, on_match, &hits);
  impl_->Return(scratch);
  std::sort(hits.begin(), hits.end(),
            [](const ContentHit& a, const ContentHit& b) { return a.pattern < b.pattern; });
  return hits;
}

std::string RedactedEvidence(std::string_view text, size_t end, size_t context) {
  end = std::min(end, text.size());
  const size_t begin = end > 2 * context ? end - 2 * context : 0;
  const size_t stop = std::min(text.size(), end + context);
  std::string out = begin > 0 ? "..." : "";
  bool word_start = true;
  for (size_t i = begin; i < stop; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (std::isalnum(c) || c >= 0x80) {
      out += word_start && c < 0x80 ? static_cast<char>(c) : '*';
      // Skip the continuation bytes of a masked multi-byte character.
      if (c >= 0xc0) while (i + 1 < stop && (static_cast<unsigned char>(text[i + 1]) & 0xc0) == 0x80) ++i;
      word_start = false;
    } else {
      out += std::isspace(c) ? ' ' : static_cast<char>(c);
      word_start = true;
    }
  }
  if (stop < text.size()) out += "...";
  return out;
}

}  // namespace tosgate::engine
