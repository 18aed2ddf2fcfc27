#include "engine/content/matcher.h"

#include <hs/hs.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <limits>

#include "engine/content/compiled_cache.h"
#include "engine/hex.h"
#include "engine/normalize.h"

namespace tosgate::engine {
namespace {

unsigned FlagsFor(ContentPattern::Type type) {
  // Phrases and words are compiled as plain literals, which Hyperscan
  // compiles some thirty times faster than the same words with boundary
  // assertions; Scan checks a word's boundaries itself and keeps the first
  // hit of each. Regexes: caseless (normalized text is lower case, but
  // authors may write capitals), '.' is any character, reported once.
  if (type != ContentPattern::Type::kRegex) return HS_FLAG_UTF8;
  return HS_FLAG_SINGLEMATCH | HS_FLAG_UTF8 | HS_FLAG_CASELESS | HS_FLAG_DOTALL;
}

// What Hyperscan compiles: a word without its boundaries (see FlagsFor).
std::string HyperscanExpression(const ContentPattern& p, std::string expr) {
  if (p.type != ContentPattern::Type::kWord || expr.empty()) return expr;
  constexpr std::string_view kOpen = "(?:^|\\x20)", kClose = "(?:\\x20|$)";
  return expr.substr(kOpen.size(), expr.size() - kOpen.size() - kClose.size());
}

// One scratch space per thread, grown to fit each database it scans: scans
// never share scratch and never lock. Freed when the thread ends.
struct ThreadScratch {
  hs_scratch_t* scratch = nullptr;
  uint64_t fitted = 0;  // the generation it was last fitted to (CompiledDatabase)
  ~ThreadScratch() {
    if (scratch) hs_free_scratch(scratch);
  }
};
thread_local ThreadScratch t_scratch;

}  // namespace

std::string ContentExpression(const ContentPattern& p) {
  if (p.type == ContentPattern::Type::kRegex) return p.text;
  const std::string folded = NormalizeForMatch(p.text);
  if (folded.empty()) return "";
  // Normalized text holds only letters, digits (ASCII or multi-byte UTF-8)
  // and single spaces, none of them special; anything else is escaped
  // anyway so that the expression is a literal whatever the normalizer does.
  std::string escaped;
  for (unsigned char c : folded) {
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80) {
      escaped += static_cast<char>(c);
    } else {
      const char byte = static_cast<char>(c);
      escaped += "\\x";
      AppendHex(&escaped, std::string_view(&byte, 1));
    }
  }
  if (p.type == ContentPattern::Type::kWord) return "(?:^|\\x20)" + escaped + "(?:\\x20|$)";
  return escaped;
}

std::string CheckContentPattern(const ContentPattern& p) {
  const std::string expr = ContentExpression(p);
  if (expr.empty()) return "it is empty once normalized (no letters or digits)";
  if (p.type != ContentPattern::Type::kRegex) return "";  // an escaped literal: always valid
  // Hyperscan's parser and analysis, without building a database: cheap, and
  // the error names this pattern. What only a full compile finds (resource
  // limits) is reported when the set's database is built.
  hs_expr_info_t* info = nullptr;
  hs_compile_error_t* err = nullptr;
  if (hs_expression_info(HyperscanExpression(p, expr).c_str(), FlagsFor(p.type), &info, &err) !=
      HS_SUCCESS) {
    std::string why = err && err->message ? err->message : "Hyperscan cannot compile it";
    hs_free_compile_error(err);
    return why;
  }
  const bool matches_empty = info && info->min_width == 0;
  std::free(info);  // allocated by Hyperscan's misc allocator, malloc by default
  if (matches_empty) return "it can match empty text, so it would match every request";
  return "";
}

struct ContentDatabase::Impl {
  // Null for an empty list; shared with every other database compiled from
  // the same patterns (engine/content/compiled_cache.h).
  std::shared_ptr<const internal::CompiledDatabase> compiled;
  // Per pattern id: 0 for phrases and regexes; for a word, its length in
  // bytes, so that Scan can find where a hit starts and check both ends.
  std::vector<uint32_t> word_length;
};

namespace {
std::atomic<uint64_t> g_next_database_id{1};  // a trivial static: no destruction order
}  // namespace

ContentDatabase::ContentDatabase(std::unique_ptr<Impl> impl, size_t size)
    : impl_(std::move(impl)),
      size_(size),
      id_(g_next_database_id.fetch_add(1, std::memory_order_relaxed)) {}

ContentDatabase::~ContentDatabase() = default;

std::unique_ptr<ContentDatabase> ContentDatabase::Compile(
    const std::vector<ContentPattern>& patterns, std::string* error, size_t* bad_index) {
  *bad_index = std::numeric_limits<size_t>::max();
  auto impl = std::make_unique<Impl>();
  if (patterns.empty()) return std::unique_ptr<ContentDatabase>(new ContentDatabase(std::move(impl), 0));
  std::vector<std::string> exprs;
  std::vector<unsigned> flags;
  exprs.reserve(patterns.size());
  for (size_t i = 0; i < patterns.size(); ++i) {
    exprs.push_back(HyperscanExpression(patterns[i], ContentExpression(patterns[i])));
    flags.push_back(FlagsFor(patterns[i].type));
    impl->word_length.push_back(patterns[i].type == ContentPattern::Type::kWord
                                    ? static_cast<uint32_t>(NormalizeForMatch(patterns[i].text).size())
                                    : 0);
    if (exprs.back().empty()) {
      *error = "it is empty once normalized (no letters or digits)";
      *bad_index = i;
      return nullptr;
    }
  }
  impl->compiled = internal::CompileCached(exprs, flags, error, bad_index);
  if (!impl->compiled) return nullptr;
  return std::unique_ptr<ContentDatabase>(new ContentDatabase(std::move(impl), patterns.size()));
}

size_t ContentDatabase::bytes() const {
  size_t n = 0;
  if (impl_->compiled && hs_database_size(impl_->compiled->db, &n) != HS_SUCCESS) n = 0;
  return n;
}

bool ContentDatabase::Scan(std::string_view text, std::vector<ContentHit>* hits) const {
  hits->clear();
  const internal::CompiledDatabase* compiled = impl_->compiled.get();
  if (!compiled) return true;
  if (text.size() > std::numeric_limits<unsigned>::max()) return false;
  ThreadScratch& ts = t_scratch;
  if (ts.fitted != compiled->generation) {
    // Grows the thread's scratch when this database needs more; never shrinks.
    if (hs_alloc_scratch(compiled->db, &ts.scratch) != HS_SUCCESS) return false;
    ts.fitted = compiled->generation;
  }
  struct Context {
    const Impl* impl;
    std::string_view text;
    std::vector<ContentHit>* hits;
  } ctx{impl_.get(), text, hits};
  auto on_match = [](unsigned id, unsigned long long, unsigned long long to, unsigned,
                     void* p) -> int {
    const auto* c = static_cast<const Context*>(p);
    if (const uint32_t len = c->impl->word_length[id]; len > 0) {
      // A word: a space or an end of the text on both sides.
      const size_t start = to - len;
      if ((start > 0 && c->text[start - 1] != ' ') || (to < c->text.size() && c->text[to] != ' '))
        return 0;
    }
    c->hits->push_back({id, static_cast<uint32_t>(to)});
    return 0;  // carry on: every pattern is wanted
  };
  if (hs_scan(compiled->db, text.data(), static_cast<unsigned>(text.size()), 0, ts.scratch, on_match,
              &ctx) != HS_SUCCESS) {
    hits->clear();
    return false;
  }
  // Literals report every occurrence: keep the first of each pattern.
  std::sort(hits->begin(), hits->end(), [](const ContentHit& a, const ContentHit& b) {
    return a.id != b.id ? a.id < b.id : a.end < b.end;
  });
  hits->erase(std::unique(hits->begin(), hits->end(),
                          [](const ContentHit& a, const ContentHit& b) { return a.id == b.id; }),
              hits->end());
  return true;
}

std::string RedactedEvidence(std::string_view text, size_t end, size_t context) {
  end = std::min(end, text.size());
  size_t begin = end > 2 * context ? end - 2 * context : 0;
  size_t stop = std::min(text.size(), end + context);
  // Never start or stop inside a multi-byte character.
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xc0) == 0x80) --begin;
  while (stop < text.size() && (static_cast<unsigned char>(text[stop]) & 0xc0) == 0x80) ++stop;
  std::string out = begin > 0 ? "..." : "";
  auto is_word_char = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
  };
  // A window that starts inside a word shows none of it.
  bool word_start = begin == 0 || !is_word_char(static_cast<unsigned char>(text[begin - 1]));
  for (size_t i = begin; i < stop; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (alnum || c >= 0x80) {
      // The first character of a word shows (when it is ASCII); the rest are
      // masked, a multi-byte character as one '*'.
      out += word_start && alnum ? static_cast<char>(c) : '*';
      if (c >= 0xc0)
        while (i + 1 < stop && (static_cast<unsigned char>(text[i + 1]) & 0xc0) == 0x80) ++i;
      word_start = false;
    } else {
      out += ' ';
      word_start = true;
    }
  }
  if (stop < text.size()) out += "...";
  return out;
}

}  // namespace tosgate::engine
