#include "storage/accounts/file.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <unordered_map>

#include "storage/accounts/account_json.h"

namespace tosgate::storage {

Result<AccountsFile> ReadAccountsJsonl(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    if (err == ENOENT) return Status::NotFound(path + ": no such accounts file");
    return Status::IoError(path + ": cannot read: " + std::strerror(err));
  }
  AccountsFile out;
  std::unordered_map<std::string, size_t> line_of_account, line_of_key;
  std::string line;
  for (size_t lineno = 1; std::getline(in, line); ++lineno) {
    if (lineno == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(lineno) + ": ";

    Account a;
    if (std::string why = ParseAccountJson(line, &a); !why.empty()) {
      out.problems.push_back({lineno, where + why});
      continue;
    }
    if (auto [it, fresh] = line_of_account.emplace(a.id, lineno); !fresh) {
      out.problems.push_back({lineno, where + "account \"" + a.id +
                                          "\" already defined on line " +
                                          std::to_string(it->second)});
      continue;
    }
    bool bad = false;
    for (const std::string& k : a.key_ids) {
      if (auto [it, fresh] = line_of_key.emplace(k, lineno); !fresh) {
        out.problems.push_back({lineno, where + "a key of account \"" + a.id + "\" (key id " +
                                            k.substr(0, 12) + "...) is already given on line " +
                                            std::to_string(it->second)});
        bad = true;
        break;
      }
    }
    if (!bad) out.accounts.push_back({lineno, std::move(a)});
  }
  if (in.bad()) return Status::IoError(path + ": read error: " + std::strerror(errno));
  return out;
}

Result<std::vector<Account>> LoadAccountsJsonl(const std::string& path) {
  auto file = ReadAccountsJsonl(path);
  if (!file.ok()) return file.status();
  if (!file->problems.empty()) return Status::InvalidArgument(file->problems.front().message);
  std::vector<Account> out;
  out.reserve(file->accounts.size());
  for (AccountsFile::Line& l : file->accounts) out.push_back(std::move(l.account));
  return out;
}

}  // namespace tosgate::storage
