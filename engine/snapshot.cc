#include "engine/snapshot.h"

#include <algorithm>

namespace tosgate::engine {
namespace {

// One segment (no '/') of a pattern against one of a path, '*' matching any
// run: greedy, going back only to the last '*', which bounds the work by the
// product of the lengths.
bool SegmentMatches(std::string_view p, std::string_view s) {
  constexpr size_t kNone = std::string_view::npos;
  size_t pi = 0, si = 0, star = kNone, mark = 0;
  while (si < s.size()) {
    if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = si;
    } else if (pi < p.size() && p[pi] == s[si]) {
      ++pi;
      ++si;
    } else if (star != kNone) {
      pi = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

bool MethodIn(const std::vector<std::string>& methods, std::string_view method) {
  return std::find(methods.begin(), methods.end(), method) != methods.end();
}

}  // namespace

bool PathMatches(std::string_view pattern, std::string_view path) {
  const size_t first_star = pattern.find('*');
  if (first_star == std::string_view::npos) return pattern == path;
  // Most patterns differ from a path before their first '*'.
  if (path.substr(0, first_star) != pattern.substr(0, first_star)) return false;
  const bool prefix = pattern.back() == '*';
  while (true) {
    const size_t pe = pattern.find('/');
    const size_t se = path.find('/');
    const std::string_view pseg = pattern.substr(0, pe), sseg = path.substr(0, se);
    if (pe == std::string_view::npos) {
      // The pattern's last segment. With a trailing '*' it has matched once
      // it matches the start of this segment: what follows is free.
      if (prefix) return SegmentMatches(pseg, sseg);
      return se == std::string_view::npos && SegmentMatches(pseg, sseg);
    }
    if (se == std::string_view::npos || !SegmentMatches(pseg, sseg)) return false;
    pattern.remove_prefix(pe + 1);
    path.remove_prefix(se + 1);
  }
}

std::string_view PolicySnapshot::OperationFor(std::string_view method,
                                              std::string_view path) const {
  for (const OperationDef& op : operations) {
    if (!op.methods.empty() && !MethodIn(op.methods, method)) continue;
    for (const std::string& p : op.paths)
      if (PathMatches(p, path)) return op.name;
  }
  return {};
}

bool PolicySnapshot::RefusesUnmatched(std::string_view method, std::string_view path) const {
  const UnmatchedOperation& u = settings.unmatched_operation;
  if (!u.deny || !MethodIn(u.methods, method)) return false;
  for (const std::string& p : u.paths)
    if (PathMatches(p, path)) return true;
  return false;
}

}  // namespace tosgate::engine
