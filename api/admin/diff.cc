#include "api/admin/diff.h"

#include <algorithm>
#include <map>

namespace tosgate::api::admin {
namespace {

std::vector<std::string_view> Lines(const std::string* text) {
  std::vector<std::string_view> out;
  if (!text) return out;
  std::string_view t = *text;
  while (!t.empty()) {
    size_t nl = t.find('\n');
    out.push_back(t.substr(0, nl == std::string_view::npos ? t.size() : nl));
    t = nl == std::string_view::npos ? std::string_view() : t.substr(nl + 1);
  }
  return out;
}

// One step of the edit script: ' ' keep, '-' delete, '+' insert.
struct Op {
  char kind;
  std::string_view line;
};

// Longest common subsequence by dynamic programming over the lines that
// differ (common prefix and suffix are taken off first). Policy files are
// small; beyond kMaxCells the middle is shown as replaced wholesale.
std::vector<Op> EditScript(const std::vector<std::string_view>& a,
                           const std::vector<std::string_view>& b) {
  size_t pre = 0;
  while (pre < a.size() && pre < b.size() && a[pre] == b[pre]) ++pre;
  size_t suf = 0;
  while (suf < a.size() - pre && suf < b.size() - pre &&
         a[a.size() - 1 - suf] == b[b.size() - 1 - suf])
    ++suf;
  const size_t n = a.size() - pre - suf, m = b.size() - pre - suf;
  std::vector<Op> ops;
  for (size_t i = 0; i < pre; ++i) ops.push_back({' ', a[i]});
  constexpr size_t kMaxCells = 4'000'000;
  if ((n + 1) * (m + 1) > kMaxCells) {
    for (size_t i = 0; i < n; ++i) ops.push_back({'-', a[pre + i]});
    for (size_t j = 0; j < m; ++j) ops.push_back({'+', b[pre + j]});
  } else {
    // lcs[i][j]: LCS length of a[pre+i..] and b[pre+j..].
    std::vector<uint32_t> lcs((n + 1) * (m + 1), 0);
    auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (m + 1) + j]; };
    for (size_t i = n; i-- > 0;)
      for (size_t j = m; j-- > 0;)
        at(i, j) = a[pre + i] == b[pre + j] ? at(i + 1, j + 1) + 1
                                            : std::max(at(i + 1, j), at(i, j + 1));
    size_t i = 0, j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && a[pre + i] == b[pre + j]) {
        ops.push_back({' ', a[pre + i]});
        ++i, ++j;
      } else if (j < m && (i == n || at(i, j + 1) > at(i + 1, j))) {
        ops.push_back({'+', b[pre + j++]});
      } else {
        ops.push_back({'-', a[pre + i++]});
      }
    }
  }
  for (size_t i = a.size() - suf; i < a.size(); ++i) ops.push_back({' ', a[i]});
  return ops;
}

std::string Range(size_t start, size_t count) {
  // diff -u: an empty range names the line before it.
  if (count == 0) return std::to_string(start == 0 ? 0 : start - 1) + ",0";
  if (count == 1) return std::to_string(start);
  return std::to_string(start) + "," + std::to_string(count);
}

}  // namespace

std::string UnifiedDiff(const std::string& name, const std::string* before, const std::string* after,
                        int context) {
  if (before && after && *before == *after) return "";
  const auto a = Lines(before), b = Lines(after);
  const std::vector<Op> ops = EditScript(a, b);
  std::string out = "--- " + (before ? "a/" + name : std::string("/dev/null")) + "\n+++ " +
                    (after ? "b/" + name : std::string("/dev/null")) + "\n";
  const size_t ctx = static_cast<size_t>(std::max(context, 0));
  size_t k = 0;
  while (k < ops.size()) {
    // Find the next change, then grow the hunk while changes are close.
    size_t first = k;
    while (first < ops.size() && ops[first].kind == ' ') ++first;
    if (first == ops.size()) break;
    size_t begin = first > ctx ? first - ctx : 0;
    size_t end = first;
    for (size_t last = first; last < ops.size();) {
      while (last < ops.size() && ops[last].kind != ' ') ++last;
      end = last;
      size_t next = last;
      while (next < ops.size() && ops[next].kind == ' ') ++next;
      if (next == ops.size() || next - last > 2 * ctx) break;
      last = next;
    }
    end = std::min(ops.size(), end + ctx);
    // Line numbers (1-based) where the hunk starts on each side.
    size_t a_line = 1, b_line = 1;
    for (size_t i = 0; i < begin; ++i) {
      if (ops[i].kind != '+') ++a_line;
      if (ops[i].kind != '-') ++b_line;
    }
    size_t a_count = 0, b_count = 0;
    std::string body;
    for (size_t i = begin; i < end; ++i) {
      if (ops[i].kind != '+') ++a_count;
      if (ops[i].kind != '-') ++b_count;
      body += ops[i].kind;
      body.append(ops[i].line);
      body += '\n';
    }
    out += "@@ -" + Range(a_line, a_count) + " +" +
           Range(b_line, b_count) + " @@\n" + body;
    k = end;
  }
  return out;
}

std::string DiffFileSets(const std::vector<std::pair<std::string, std::string>>& before,
                         const std::vector<std::pair<std::string, std::string>>& after) {
  std::map<std::string, std::pair<const std::string*, const std::string*>> all;
  for (const auto& [n, c] : before) all[n].first = &c;
  for (const auto& [n, c] : after) all[n].second = &c;
  std::string out;
  for (const auto& [name, sides] : all) out += UnifiedDiff(name, sides.first, sides.second);
  return out;
}

}  // namespace tosgate::api::admin
