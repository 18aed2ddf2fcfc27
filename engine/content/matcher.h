// Content matching: prohibited-use patterns compiled into one Hyperscan
// database and scanned in time linear in the input.
//
// Patterns and prompts meet in one spelling, NormalizeForMatch
// (engine/normalize.h): phrases and words are normalized here at compile
// time, and callers scan normalized text. Regexes are written against that
// normalized text (lower case letters and digits, single spaces).
//
// Hyperscan stays behind this header (pimpl): nothing that includes it sees
// hs.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace tosgate::engine {

struct ContentPattern {
  enum class Type : uint8_t {
    kPhrase,  // anywhere, also inside a longer word
    kWord,    // whole words only: bounded by a space or an end of the text
    kRegex,   // a Hyperscan regular expression over normalized text
  };
  std::string id;  // reported in the decision when it matches
  Type type = Type::kPhrase;
  std::string text;  // as written
};

// The expression Hyperscan compiles for `p`: phrases and words normalized
// and escaped (words bounded by a space or an end), regexes as written. ""
// when a phrase or word normalizes to nothing (it would match everything).
std::string ContentExpression(const ContentPattern& p);

// Checks one pattern alone, without building a database: "" when Hyperscan
// accepts it, otherwise why not ("empty once normalized", a syntax error, a
// construct Hyperscan does not support, a pattern that matches empty text).
std::string CheckContentPattern(const ContentPattern& p);

// One match: the pattern's position in the database and the offset in the
// scanned text where the match ends (Hyperscan reports ends, not starts).
struct ContentHit {
  uint32_t id = 0;
  uint32_t end = 0;
};

// Many patterns in one Hyperscan database (block mode). Each pattern is
// reported at most once per scan. Immutable once compiled; Scan is safe from
// any number of threads at once (each thread uses its own scratch space).
class ContentDatabase {
 public:
  // Null on failure, with `*error` saying why and `*bad_index` naming the
  // pattern Hyperscan rejected (SIZE_MAX when it is not one pattern's fault).
  // An empty list compiles to a database that never matches.
  static std::unique_ptr<ContentDatabase> Compile(const std::vector<ContentPattern>& patterns,
                                                  std::string* error, size_t* bad_index);
  ~ContentDatabase();
  ContentDatabase(const ContentDatabase&) = delete;
  ContentDatabase& operator=(const ContentDatabase&) = delete;

  size_t size() const { return size_; }
  // Unique to this database among every one the process has built, never
  // reused (not an address): what a scan's result may be remembered under.
  // Not the compiled database's, which a word and a phrase of the same
  // letters share although their hits differ.
  uint64_t id() const { return id_; }
  // Bytes of the compiled database (0 when empty).
  size_t bytes() const;

  // Replaces *hits with the first hit of every pattern found in `text`,
  // sorted by id. False (and no hits) when Hyperscan fails, e.g. it cannot
  // allocate scratch space; callers treat that as an internal error.
  bool Scan(std::string_view text, std::vector<ContentHit>* hits) const;

 private:
  struct Impl;
  ContentDatabase(std::unique_ptr<Impl> impl, size_t size);
  std::unique_ptr<Impl> impl_;
  size_t size_ = 0;
  uint64_t id_ = 0;
};

// "...n**** a**** s**** ...": the characters of `text` (normalized) around
// the match ending at `end` - up to 2*context before and `context` after -
// with every letter or digit but the first of each word masked by '*'. What
// a reviewer needs to see the kind of match, never the prompt itself.
std::string RedactedEvidence(std::string_view text, size_t end, size_t context = 12);

}  // namespace tosgate::engine
