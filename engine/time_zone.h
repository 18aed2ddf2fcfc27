// TimeZone: UTC offsets of one IANA zone (Area/City), for budgets whose
// periods end at local midnight. Built from the bytes of a TZif file
// (RFC 8536, versions 2 and later) that the caller read; the engine reads
// no files. Times past the file's last transition follow its footer, a
// POSIX TZ rule such as "CET-1CEST,M3.5.0,M10.5.0/3".
//
// Immutable once built; safe to read from many threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tosgate/status.h"

namespace tosgate::engine {

class TimeZone {
 public:
  // `name` is only recorded; `tzif` is the file's content.
  static Result<std::shared_ptr<const TimeZone>> FromTzif(std::string name, std::string_view tzif);
  // A zone that follows one POSIX TZ rule alone ("UTC0", "EST5EDT,M3.2.0,M11.1.0").
  static Result<std::shared_ptr<const TimeZone>> FromPosix(std::string name, std::string_view rule);
  static std::shared_ptr<const TimeZone> Utc();

  const std::string& name() const { return name_; }
  // Seconds east of UTC at `utc_s` (seconds since the epoch).
  int64_t OffsetAt(int64_t utc_s) const;
  // The UTC second at which local wall time `local_s` (seconds since the
  // local epoch) occurs; a local time skipped by a forward jump maps past
  // the jump, a repeated one to its first occurrence.
  int64_t ToUtc(int64_t local_s) const;
  // "2027-01-01T00:00:00-05:00".
  std::string Format(int64_t utc_s) const;

  // A POSIX rule's transitions within one year (public for tests).
  struct Rule {
    int64_t std_offset = 0;  // seconds east of UTC
    int64_t dst_offset = 0;
    bool has_dst = false;
    // Mm.w.d (kind 'M'), Jn (kind 'J', 1..365 without Feb 29), n (kind 'N', 0..365).
    struct When { char kind = 'M'; int month = 0, week = 0, day = 0; int64_t time = 7200; };
    When start, end;
  };

 private:
  TimeZone() = default;
  int64_t RuleOffset(int64_t utc_s) const;

  std::string name_;
  std::vector<int64_t> transitions_;  // UTC seconds, ascending
  std::vector<int64_t> offsets_;      // offsets_[i] holds from transitions_[i]
  int64_t initial_offset_ = 0;        // before the first transition
  bool has_rule_ = false;
  Rule rule_;
};

// Parses a POSIX TZ rule; false when it is not one.
bool ParsePosixRule(std::string_view text, TimeZone::Rule* out);

}  // namespace tosgate::engine
