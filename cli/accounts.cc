// tosgate accounts: the accounts registry from the command line (add, set,
// list, import, add-key, revoke-key). docs/accounts.md has every command
// with examples. Exit codes: 0 done; 1 the registry refused or failed (no
// such account, key already taken, file busy or unwritable); 2 bad usage or
// bad input (a bad flag, bad lines in an import file).

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "engine/accounts.h"
#include "storage/accounts/account_json.h"
#include "storage/accounts/registry.h"

namespace tosgate::cli {
namespace {

constexpr char kUsage[] =
    "usage: tosgate accounts --db FILE <command> [options]\n"
    "  add --id ID [--org ORG] [--tier T] [--country CC] [--flag F]... [--suspended]\n"
    "      [--payment-fingerprint PF] [--created MS] [--key SECRET | --key-id HEX | --new-key]\n"
    "      [--label L]\n"
    "  set --id ID [--org ORG] [--tier T] [--country CC] [--payment-fingerprint PF]\n"
    "      [--clear-flags] [--flag F]... [--unflag F]... [--suspend | --unsuspend]\n"
    "      [--override RULE=requests:N/per:1m[/burst:N]]... [--clear-override RULE]...\n"
    "  list [--json] [--limit N] [--after ID]\n"
    "  import FILE            accounts JSON Lines; all lines or none\n"
    "  add-key --id ID (--key SECRET | --key-id HEX | --new-key) [--label L]\n"
    "  revoke-key (--key-id HEX | --key SECRET)\n"
    "  spend --id ID --config FILE [--json]   spend against each cost budget (state.backend redis)\n";

int Usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "tosgate accounts: " << problem << "\n";
  std::cerr << kUsage;
  return 2;
}

// The registry's "no" (not found, already exists) and failures are 1; a
// value it found invalid is the caller's input: 2.
int Fail(const Status& s) {
  std::cerr << "tosgate accounts: " << s.message() << "\n";
  return s.code() == Status::Code::kInvalidArgument ? 2 : 1;
}

// Every remaining "--flag value" of this name, in order.
std::vector<std::string> TakeAll(Args* args, const std::string& name, bool* bad) {
  std::vector<std::string> out;
  std::string v;
  while (TakeFlag(args, name, &v, bad)) out.push_back(v);
  return out;
}

bool ParseInt(const std::string& text, int64_t* out) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && end == text.data() + text.size();
}

std::string IsoTime(int64_t ms) {
  if (ms <= 0) return "-";
  const time_t secs = static_cast<time_t>(ms / 1000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &t);
  return buf;
}


// The key from --key SECRET, --key-id HEX or --new-key (at most one).
// *secret is set only for --new-key, to be shown once. "" when none given.
int TakeKey(Args* args, bool allow_new, std::string* key_id, std::string* secret) {
  bool bad = false;
  std::string key, id;
  const bool have_key = TakeFlag(args, "--key", &key, &bad);
  const bool have_id = TakeFlag(args, "--key-id", &id, &bad);
  const bool fresh = allow_new && TakeSwitch(args, "--new-key");
  if (bad) return Usage("");
  if (have_key + have_id + fresh > 1)
    return Usage(allow_new ? "give one of --key, --key-id and --new-key" : "give --key or --key-id");
  if (have_key) {
    if (key.empty()) return Usage("--key must not be empty");
    *key_id = engine::KeyId(key);
  } else if (have_id) {
    if (!storage::IsKeyId(id)) return Usage("--key-id must be 64 lower-case hex digits");
    *key_id = id;
  } else if (fresh) {
    auto s = storage::NewKeySecret();
    if (!s.ok()) return Fail(s.status());
    *secret = *s;
    *key_id = engine::KeyId(*secret);
  }
  return 0;
}

// Opens the registry once the arguments are known to be good, so a usage
// error never leaves a new file behind. Null (after saying why) on failure.
std::unique_ptr<storage::AccountsRegistry> OpenRegistry(const std::string& db, bool create,
                                                        int* rc) {
  auto reg = storage::AccountsRegistry::Open({.path = db, .create = create});
  if (!reg.ok()) {
    *rc = Fail(reg.status());
    return nullptr;
  }
  return std::move(reg).value();
}

void PrintNewKey(const std::string& secret, const std::string& key_id) {
  std::cout << "key: " << secret << "\n"
            << "key id: " << key_id << "\n"
            << "(the key is shown only now; the registry keeps only its id)\n";
}

int Add(Args args, const std::string& db) {
  bool bad = false;
  Account a;
  std::string label, created;
  TakeFlag(&args, "--id", &a.id, &bad);
  TakeFlag(&args, "--org", &a.org, &bad);
  TakeFlag(&args, "--tier", &a.tier, &bad);
  TakeFlag(&args, "--country", &a.country, &bad);
  TakeFlag(&args, "--payment-fingerprint", &a.payment_fingerprint, &bad);
  TakeFlag(&args, "--label", &label, &bad);
  const bool have_created = TakeFlag(&args, "--created", &created, &bad);
  a.flags = TakeAll(&args, "--flag", &bad);
  a.suspended = TakeSwitch(&args, "--suspended");
  if (bad) return Usage("");
  std::string key_id, secret;
  if (int rc = TakeKey(&args, true, &key_id, &secret); rc != 0) return rc;
  if (!args.empty()) return Usage("add: unexpected argument '" + args[0] + "'");
  if (a.id.empty()) return Usage("add needs --id ID");
  if (have_created && (!ParseInt(created, &a.created_ms) || a.created_ms < 0))
    return Usage("--created must be milliseconds since the Unix epoch");
  if (!key_id.empty()) a.key_ids.push_back(key_id);
  int rc = 0;
  auto reg = OpenRegistry(db, true, &rc);
  if (!reg) return rc;
  if (Status s = reg->AddAccount(a, label); !s.ok()) return Fail(s);
  std::cout << "added account " << a.id << (a.tier.empty() ? "" : " (tier " + a.tier + ")")
            << (key_id.empty() ? ", no key" : ", 1 key") << "\n";
  if (!secret.empty()) PrintNewKey(secret, key_id);
  return 0;
}

int AddKey(Args args, const std::string& db) {
  bool bad = false;
  std::string id, label;
  TakeFlag(&args, "--id", &id, &bad);
  TakeFlag(&args, "--label", &label, &bad);
  if (bad) return Usage("");
  std::string key_id, secret;
  if (int rc = TakeKey(&args, true, &key_id, &secret); rc != 0) return rc;
  if (!args.empty()) return Usage("add-key: unexpected argument '" + args[0] + "'");
  if (id.empty() || key_id.empty()) return Usage("add-key needs --id and a key");
  int rc = 0;
  auto reg = OpenRegistry(db, false, &rc);
  if (!reg) return rc;
  if (Status s = reg->AddKey(id, key_id, label); !s.ok()) return Fail(s);
  std::cout << "added key id " << key_id.substr(0, 12) << "... to account " << id << "\n";
  if (!secret.empty()) PrintNewKey(secret, key_id);
  return 0;
}

// "rate.rpm=requests:600/per:1m/burst:20" -> one override, checked by the
// same parser as the accounts file's limit_overrides.
Result<LimitOverride> ParseOverride(const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    return Status::InvalidArgument("--override must look like RULE=requests:N/per:1m, not '" +
                                   text + "'");
  nlohmann::json limit = nlohmann::json::object();
  std::string rest = text.substr(eq + 1);
  while (!rest.empty()) {
    const auto slash = rest.find('/');
    const std::string part = rest.substr(0, slash);
    rest = slash == std::string::npos ? "" : rest.substr(slash + 1);
    const auto colon = part.find(':');
    if (colon == std::string::npos)
      return Status::InvalidArgument("--override: '" + part + "' must be NAME:VALUE");
    const std::string name = part.substr(0, colon), value = part.substr(colon + 1);
    int64_t n;
    if (name == "per") limit[name] = value;
    else if (ParseInt(value, &n)) limit[name] = n;
    else return Status::InvalidArgument("--override: " + name + " must be a whole number");
  }
  nlohmann::json obj = {{text.substr(0, eq), limit}};
  std::vector<LimitOverride> out;
  if (std::string why = storage::ParseLimitOverrides(obj.dump(), &out); !why.empty())
    return Status::InvalidArgument("--override: " + why);
  return out.front();
}

int Set(Args args, const std::string& db) {
  bool bad = false;
  std::string id, org, tier, country, pf;
  TakeFlag(&args, "--id", &id, &bad);
  const bool have_org = TakeFlag(&args, "--org", &org, &bad);
  const bool have_tier = TakeFlag(&args, "--tier", &tier, &bad);
  const bool have_country = TakeFlag(&args, "--country", &country, &bad);
  const bool have_pf = TakeFlag(&args, "--payment-fingerprint", &pf, &bad);
  const bool clear_flags = TakeSwitch(&args, "--clear-flags");
  const std::vector<std::string> add_flags = TakeAll(&args, "--flag", &bad);
  const std::vector<std::string> remove_flags = TakeAll(&args, "--unflag", &bad);
  const bool suspend = TakeSwitch(&args, "--suspend");
  const bool unsuspend = TakeSwitch(&args, "--unsuspend");
  const std::vector<std::string> override_texts = TakeAll(&args, "--override", &bad);
  const std::vector<std::string> clear_overrides = TakeAll(&args, "--clear-override", &bad);
  if (bad) return Usage("");
  if (!args.empty()) return Usage("set: unexpected argument '" + args[0] + "'");
  if (id.empty()) return Usage("set needs --id ID");
  if (suspend && unsuspend) return Usage("give --suspend or --unsuspend, not both");
  std::vector<LimitOverride> overrides;
  for (const std::string& t : override_texts) {
    auto o = ParseOverride(t);
    if (!o.ok()) return Usage(o.status().message());
    overrides.push_back(*o);
  }
  auto replace_override = [](std::vector<LimitOverride>* all, const std::string& rule) {
    std::erase_if(*all, [&](const LimitOverride& o) { return o.rule_id == rule; });
  };

  int rc = 0;
  auto reg = OpenRegistry(db, false, &rc);
  if (!reg) return rc;
  Account after;
  Status s = reg->UpdateAccount(id, [&](Account* a) {
    if (have_org) a->org = org;
    if (have_tier) a->tier = tier;
    if (have_country) a->country = country;
    if (have_pf) a->payment_fingerprint = pf;
    if (clear_flags) a->flags.clear();
    for (const std::string& f : add_flags)
      if (std::find(a->flags.begin(), a->flags.end(), f) == a->flags.end()) a->flags.push_back(f);
    for (const std::string& f : remove_flags) std::erase(a->flags, f);
    if (suspend) a->suspended = true;
    if (unsuspend) a->suspended = false;
    for (const std::string& rule : clear_overrides) replace_override(&a->limit_overrides, rule);
    for (const LimitOverride& o : overrides) {
      replace_override(&a->limit_overrides, o.rule_id);
      a->limit_overrides.push_back(o);
    }
    after = *a;
    return Status::Ok();
  });
  if (!s.ok()) return Fail(s);
  std::cout << storage::AccountJsonLine(after) << "\n";
  return 0;
}

int List(Args args, const std::string& db) {
  bool bad = false;
  std::string limit_text = "100", after;
  TakeFlag(&args, "--limit", &limit_text, &bad);
  TakeFlag(&args, "--after", &after, &bad);
  const bool as_json = TakeSwitch(&args, "--json");
  if (bad) return Usage("");
  if (!args.empty()) return Usage("list: unexpected argument '" + args[0] + "'");
  int64_t limit;
  if (!ParseInt(limit_text, &limit) || limit < 1 || limit > 100000)
    return Usage("--limit must be a number from 1 to 100000");
  int rc = 0;
  auto reg = OpenRegistry(db, false, &rc);
  if (!reg) return rc;
  auto page = reg->ListAccounts(after, static_cast<size_t>(limit));
  if (!page.ok()) return Fail(page.status());
  if (as_json) {
    // The accounts file format: a page can be imported elsewhere as it is.
    for (const Account& a : page->accounts) std::cout << storage::AccountJsonLine(a) << "\n";
    if (!page->next_after.empty()) std::cerr << "more: add --after " << page->next_after << "\n";
    return 0;
  }
  std::printf("%-20s %-12s %-10s %-7s %-4s %-9s %-20s %s\n", "ID", "ORG", "TIER", "COUNTRY",
              "KEYS", "SUSPENDED", "CREATED", "FLAGS");
  for (const Account& a : page->accounts) {
    std::string flags;
    for (const std::string& f : a.flags) flags += (flags.empty() ? "" : ",") + f;
    std::printf("%-20s %-12s %-10s %-7s %-4zu %-9s %-20s %s\n", a.id.c_str(),
                a.org.empty() ? "-" : a.org.c_str(), a.tier.empty() ? "-" : a.tier.c_str(),
                a.country.empty() ? "-" : a.country.c_str(), a.key_ids.size(),
                a.suspended ? "yes" : "no", IsoTime(a.created_ms).c_str(),
                flags.empty() ? "-" : flags.c_str());
  }
  if (!page->next_after.empty()) std::printf("more: add --after %s\n", page->next_after.c_str());
  return 0;
}

int Import(const Args& args, const std::string& db) {
  if (args.size() != 1) return Usage("import takes one FILE");
  int rc = 0;
  auto reg = OpenRegistry(db, true, &rc);
  if (!reg) return rc;
  storage::ImportReport report;
  Status s = reg->Import(args[0], &report);
  for (const std::string& e : report.errors) std::cerr << e << "\n";
  if (!s.ok()) {
    std::cerr << "tosgate accounts: " << s.message() << "\n";
    const bool bad_input = s.code() == Status::Code::kInvalidArgument ||
                           s.code() == Status::Code::kNotFound;
    return bad_input ? 2 : 1;
  }
  std::cout << "imported " << args[0] << ": " << report.added << " added, " << report.updated
            << " updated, " << report.keys_added << " keys added\n";
  return 0;
}

int RevokeKey(Args args, const std::string& db) {
  std::string key_id, unused;
  if (int rc = TakeKey(&args, false, &key_id, &unused); rc != 0) return rc;
  if (!args.empty()) return Usage("revoke-key: unexpected argument '" + args[0] + "'");
  if (key_id.empty()) return Usage("revoke-key needs --key-id HEX or --key SECRET");
  int rc = 0;
  auto reg = OpenRegistry(db, false, &rc);
  if (!reg) return rc;
  auto key = reg->RevokeKey(key_id);
  if (!key.ok()) return Fail(key.status());
  std::cout << "revoked key id " << key_id.substr(0, 12) << "... of account " << key->account
            << " (" << IsoTime(key->revoked_ms) << ")\n";
  return 0;
}

}  // namespace

int RunAccounts(const Args& in) {
  Args args = in;
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    std::fputs(kUsage, args.empty() ? stderr : stdout);
    return args.empty() ? 2 : 0;
  }
  bool bad = false;
  std::string db;
  const bool have_db = TakeFlag(&args, "--db", &db, &bad);
  if (bad) return Usage("");
  if (!have_db || db.empty()) return Usage("--db FILE is required");
  if (args.empty()) return Usage("which command?");
  const std::string sub = args[0];
  args.erase(args.begin());
  if (sub != "add" && sub != "set" && sub != "list" && sub != "import" && sub != "add-key" &&
      sub != "revoke-key" && sub != "spend")
    return Usage("unknown command '" + sub + "'");
  // Only add and import create a registry: others must not make a new
  // file from a mistyped path.
  if (sub == "add") return Add(args, db);
  if (sub == "set") return Set(args, db);
  if (sub == "list") return List(args, db);
  if (sub == "import") return Import(args, db);
  if (sub == "add-key") return AddKey(args, db);
  if (sub == "spend") return AccountsSpend(args, db);
  return RevokeKey(args, db);
}

}  // namespace tosgate::cli
