// AccountsRegistry::Import: an accounts JSON Lines file into the registry,
// all or nothing. The rules (docs/accounts.md, "Import"):
// - every line is checked, against the file and against the registry,
//   before anything is written; any problem and nothing is written;
// - an account that exists is replaced by its line (created is kept when
//   the line has none); its keys not in the file are kept;
// - a key that belongs to another account, or was revoked, is a problem:
//   import never moves or revives a key.
#include <algorithm>

#include "storage/accounts/file.h"
#include "storage/accounts/registry_impl.h"

namespace tosgate::storage {

Status AccountsRegistry::Import(const std::string& jsonl_path, ImportReport* report) {
  *report = ImportReport{};
  auto file = ReadAccountsJsonl(jsonl_path);
  if (!file.ok()) return file.status();
  std::vector<AccountsFile::Problem> problems = std::move(file->problems);

  struct Plan {
    const AccountsFile::Line* line;
    bool exists = false;
    int64_t existing_created_ms = 0;
    std::vector<const std::string*> new_keys;
  };
  Status s = impl_->Write([&]() -> Status {
    const int64_t now = impl_->NowMs();
    std::vector<Plan> plans;
    plans.reserve(file->accounts.size());
    for (const AccountsFile::Line& l : file->accounts) {
      const std::string where = jsonl_path + ":" + std::to_string(l.line) + ": ";
      Plan p{&l, false, 0, {}};
      Account existing;
      auto found = impl_->FindAccount(l.account.id, &existing);
      if (!found.ok()) return found.status();
      p.exists = *found;
      p.existing_created_ms = existing.created_ms;
      for (const std::string& k : l.account.key_ids) {
        ApiKeyRecord key;
        auto has = impl_->FindKey(k, &key);
        if (!has.ok()) return has.status();
        const std::string id = "key id " + k.substr(0, 12) + "...";
        if (!*has) {
          p.new_keys.push_back(&k);
        } else if (key.revoked_ms != 0) {
          problems.push_back({l.line, where + id + " of account \"" + l.account.id +
                                          "\" was revoked; a revoked key cannot come back"});
        } else if (key.account != l.account.id) {
          problems.push_back({l.line, where + id + " of account \"" + l.account.id +
                                          "\" already belongs to account \"" + key.account +
                                          "\""});
        }
      }
      plans.push_back(std::move(p));
    }
    if (!problems.empty()) {
      return Status::InvalidArgument(jsonl_path + ": " + std::to_string(problems.size()) +
                                     (problems.size() == 1 ? " problem" : " problems") +
                                     "; nothing imported");
    }
    for (const Plan& p : plans) {
      Account a = p.line->account;
      if (a.created_ms <= 0) a.created_ms = p.exists ? p.existing_created_ms : now;
      Status w = p.exists ? impl_->UpdateAccountRow(a, now) : impl_->InsertAccount(a, now);
      if (!w.ok()) return w;
      ++(p.exists ? report->updated : report->added);
      // A key is no older than its account; the file has no key dates.
      const int64_t key_created =
          p.line->account.created_ms > 0 ? p.line->account.created_ms : now;
      for (const std::string* k : p.new_keys) {
        if (Status w2 = impl_->InsertKey(*k, a.id, "import", key_created); !w2.ok()) return w2;
        ++report->keys_added;
      }
    }
    return Status::Ok();
  });
  // Problems found against the registry come after the file's; show them
  // all in line order.
  std::stable_sort(problems.begin(), problems.end(),
                   [](const auto& a, const auto& b) { return a.line < b.line; });
  for (auto& p : problems) report->errors.push_back(std::move(p.message));
  if (!s.ok()) {
    report->added = report->updated = report->keys_added = 0;
    return s;
  }
  return Status::Ok();
}

}  // namespace tosgate::storage
