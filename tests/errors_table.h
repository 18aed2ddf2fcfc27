// Reads the bad-input table of docs/errors.md, so that the tests that run
// its rows (tests/cli/errors_table_test.cc: policies and files;
// tests/api/errors_table_test.cc: requests and admin calls) check what the
// document says, and a row edited in one place fails until both agree.
//
// A row: | kind | where | bad input | result | shows |, where the input and
// what it shows are `code`; result is `exit N` or an HTTP status.
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <string>
#include <vector>

namespace tosgate::test {

struct ErrorRow {
  int line = 0;        // in docs/errors.md, for failure messages
  std::string kind;    // policy | file | request | admin
  std::string where;   // which file or endpoint, e.g. "test file", "POST /v1/check"
  std::string input;   // the bad input, exactly
  std::string result;  // "exit 2" or "400"
  std::string shows;   // a substring of what the user sees
};

inline const char* const kErrorKinds[] = {"policy", "file", "request", "admin"};

// The cells of a table line, trimmed; "\|" is a '|' inside a cell.
inline std::vector<std::string> TableCells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cur;
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cur += '|';
      ++i;
    } else if (line[i] == '|') {
      const size_t b = cur.find_first_not_of(' ');
      const size_t e = cur.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : cur.substr(b, e - b + 1));
      cur.clear();
    } else {
      cur += line[i];
    }
  }
  return cells;
}

// What is between the first and the last backtick, or the cell itself.
inline std::string Code(const std::string& cell) {
  const size_t b = cell.find('`');
  const size_t e = cell.rfind('`');
  if (b == std::string::npos || e == b) return cell;
  return cell.substr(b + 1, e - b - 1);
}

// Every row of every table whose header starts "| kind | where |".
inline std::vector<ErrorRow> ReadErrorsTable() {
  std::ifstream in(TOSGATE_SOURCE_DIR "/docs/errors.md");
  REQUIRE_MESSAGE(in.good(), "docs/errors.md is missing");
  std::vector<ErrorRow> rows;
  bool in_table = false;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line[0] != '|') {
      in_table = false;
      continue;
    }
    std::vector<std::string> cells = TableCells(line);
    if (cells.size() >= 2 && cells[0] == "kind" && cells[1] == "where") {
      in_table = true;
      continue;
    }
    if (!in_table || cells.empty() || cells[0].rfind("---", 0) == 0) continue;
    INFO("docs/errors.md:" << n);
    REQUIRE(cells.size() == 5);
    rows.push_back({n, cells[0], cells[1], Code(cells[2]), cells[3], Code(cells[4])});
  }
  return rows;
}

// The rows of the given kinds; fails on a row whose kind no test runs.
inline std::vector<ErrorRow> RowsOf(std::initializer_list<std::string> kinds) {
  std::vector<ErrorRow> out;
  for (const ErrorRow& r : ReadErrorsTable()) {
    bool known = false;
    for (const char* k : kErrorKinds) known = known || r.kind == k;
    INFO("docs/errors.md:" << r.line << " kind '" << r.kind << "'");
    CHECK(known);
    for (const std::string& k : kinds)
      if (r.kind == k) out.push_back(r);
  }
  return out;
}

}  // namespace tosgate::test
