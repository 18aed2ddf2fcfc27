// `tosgate indicators export|import`: campaign indicators shared with
// partners as STIX 2.1 bundles (docs/indicators.md).
//
//   tosgate indicators export [--db AUDIT.db | --dsn DSN] [--accounts-db FILE]
//       [--rule ID] [--min-risk R] [--key-file FILE] [--producer NAME]
//       [--tlp white|green|amber|red] [--valid-for 30d] [--min-range-accounts N]
//       [--out FILE] [--dry-run]
//   tosgate indicators import BUNDLE --source NAME [--trust W] [--into DIR]
//       [--max-bytes N]
//
// export lists what the bundle holds before it writes it (stderr); import
// reports what it loads and what it ignores, and copies an accepted bundle
// to DIR/NAME.json, the file an `indicators` rule's source names.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "api/admin/taxii_indicators.h"
#include "cli/audit_store.h"
#include "cli/commands.h"
#include "policies/duration.h"
#include "policies/stix.h"
#include "storage/accounts/registry.h"
#include "storage/admin/review_queue.h"
#include "tosgate/clock.h"

namespace tosgate::cli {
namespace {

constexpr const char* kUsage =
    "usage: tosgate indicators export [--db AUDIT.db | --dsn DSN] [--accounts-db FILE]\n"
    "           [--rule ID] [--min-risk R] [--key-file FILE] [--producer NAME]\n"
    "           [--tlp white|green|amber|red] [--valid-for 30d] [--min-range-accounts N]\n"
    "           [--out FILE] [--dry-run]\n"
    "       tosgate indicators import BUNDLE --source NAME [--trust 0.5] [--into DIR]\n"
    "           [--max-bytes N]\n";

int Usage(const std::string& why) {
  if (!why.empty()) std::cerr << "tosgate indicators: " << why << "\n";
  std::cerr << kUsage;
  return 2;
}

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream s;
  s << in.rdbuf();
  *out = s.str();
  return true;
}

bool Number(const std::string& text, double lo, double hi, double* out) {
  char* end = nullptr;
  *out = std::strtod(text.c_str(), &end);
  return !text.empty() && end && *end == '\0' && *out >= lo && *out <= hi;
}

int64_t WallMs() {
  return SystemClock().wall_ms();
}

int Export(Args args) {
  bool bad = false;
  AuditStoreArg store;
  if (!TakeAuditStore(&args, &store)) return 2;
  std::string accounts_db, rule, min_risk, key_file, producer, tlp, valid_for, min_range, out;
  TakeFlag(&args, "--accounts-db", &accounts_db, &bad);
  TakeFlag(&args, "--rule", &rule, &bad);
  TakeFlag(&args, "--min-risk", &min_risk, &bad);
  TakeFlag(&args, "--key-file", &key_file, &bad);
  TakeFlag(&args, "--producer", &producer, &bad);
  TakeFlag(&args, "--tlp", &tlp, &bad);
  TakeFlag(&args, "--valid-for", &valid_for, &bad);
  TakeFlag(&args, "--min-range-accounts", &min_range, &bad);
  TakeFlag(&args, "--out", &out, &bad);
  const bool dry_run = TakeSwitch(&args, "--dry-run");
  if (bad) return 2;
  if (!args.empty()) return Usage("unexpected argument " + args[0]);
  api::admin::IndicatorExportOptions o;
  o.rule = rule;
  o.stix.now_ms = WallMs();
  if (!producer.empty()) o.stix.producer = producer;
  if (!tlp.empty()) o.stix.tlp = tlp;
  if (!min_risk.empty() && !Number(min_risk, 0, 1, &o.min_risk))
    return Usage("--min-risk must be a number from 0 to 1");
  if (!valid_for.empty()) {
    Result<int64_t> ns = policies::ParseDuration(valid_for);
    if (!ns.ok()) return Usage("--valid-for: " + ns.status().message());
    o.stix.valid_for_ms = *ns / 1'000'000;
  }
  if (!min_range.empty()) {
    double n = 0;
    if (!Number(min_range, 1, 1e6, &n)) return Usage("--min-range-accounts must be 1 or more");
    o.min_range_accounts = static_cast<int>(n);
  }
  if (!key_file.empty()) {
    if (!ReadFile(key_file, &o.key)) return Usage("cannot read --key-file " + key_file);
    while (!o.key.empty() && (o.key.back() == '\n' || o.key.back() == '\r')) o.key.pop_back();
    if (o.key.size() < 16) return Usage("the key in --key-file needs at least 16 bytes");
  }
  std::unique_ptr<storage::AccountsRegistry> registry;
  std::unique_ptr<storage::ReviewQueue> reviews;
  if (!accounts_db.empty()) {
    auto reg = storage::AccountsRegistry::Open({.path = accounts_db, .create = false});
    if (!reg.ok()) return Usage(reg.status().message());
    registry = std::move(reg).value();
    static const SystemClock clock;
    auto q = storage::ReviewQueue::Open(accounts_db, &clock);
    if (!q.ok()) return Usage(q.status().message());
    reviews = std::move(q).value();
  }
  std::unique_ptr<storage::AuditReadStore> audit = OpenAuditStore(store, false);
  if (!audit) return 2;
  std::vector<policies::StixCampaignExport> campaigns;
  api::admin::IndicatorExportSummary summary;
  if (Status s = api::admin::GatherCampaigns(reviews.get(), audit.get(), registry.get(), o,
                                             &campaigns, &summary);
      !s.ok()) {
    std::cerr << "tosgate indicators export: " << s.message() << "\n";
    return 1;
  }
  Result<std::string> bundle = policies::WriteStixBundle(campaigns, o.stix);
  if (!bundle.ok()) return Usage(bundle.status().message());
  // What leaves is listed before it is written.
  std::cerr << "the bundle holds (TLP:" << o.stix.tlp << ", valid "
            << o.stix.valid_for_ms / 86'400'000 << " days, producer \"" << o.stix.producer
            << "\"):\n"
            << summary.Describe();
  if (o.key.empty()) std::cerr << "no --key-file: payment and device fingerprints are left out\n";
  if (dry_run) {
    std::cerr << "--dry-run: nothing written\n";
    return 0;
  }
  if (out.empty() || out == "-") {
    std::cout << *bundle;
    return 0;
  }
  std::ofstream f(out, std::ios::binary | std::ios::trunc);
  if (!(f << *bundle)) {
    std::cerr << "tosgate indicators export: cannot write " << out << "\n";
    return 1;
  }
  std::cerr << "wrote " << out << "\n";
  return 0;
}

int Import(Args args) {
  bool bad = false;
  std::string source, trust_text, into, max_bytes;
  TakeFlag(&args, "--source", &source, &bad);
  TakeFlag(&args, "--trust", &trust_text, &bad);
  TakeFlag(&args, "--into", &into, &bad);
  TakeFlag(&args, "--max-bytes", &max_bytes, &bad);
  if (bad) return 2;
  if (args.size() != 1) return Usage("import takes one bundle file");
  if (source.empty()) return Usage("--source NAME is required (the partner the bundle is from)");
  for (char c : source)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.'))
      return Usage("--source may hold only letters, digits, '-', '_' and '.'");
  double trust = 0.5;
  if (!trust_text.empty() && !Number(trust_text, 0, 1, &trust))
    return Usage("--trust must be a number from 0 to 1");
  policies::StixLimits limits;
  if (!max_bytes.empty()) {
    double n = 0;
    if (!Number(max_bytes, 1, 1e9, &n)) return Usage("--max-bytes must be a positive number");
    limits.max_bytes = static_cast<size_t>(n);
  }
  // Refuse an oversize file before reading it whole.
  std::error_code ec;
  const auto size = std::filesystem::file_size(args[0], ec);
  if (ec) return Usage("cannot read " + args[0] + ": " + ec.message());
  if (size > limits.max_bytes) {
    std::cerr << "tosgate indicators import: refused " << args[0] << ": " << size
              << " bytes, over the limit of " << limits.max_bytes << "\n";
    return 1;
  }
  std::string text;
  if (!ReadFile(args[0], &text)) return Usage("cannot read " + args[0]);
  engine::IndicatorSet set;
  policies::StixImportReport report;
  if (Status s = policies::ImportStixBundle(text, source, trust, WallMs(), limits, &set, &report);
      !s.ok()) {
    std::cerr << "tosgate indicators import: refused " << args[0] << ": " << s.message() << "\n";
    return 1;
  }
  for (const std::string& m : report.messages) std::cerr << "ignored " << m << "\n";
  std::cout << args[0] << ": " << report.indicators << " indicators of " << report.campaigns
            << " campaigns loaded from " << source << " (trust " << trust << "); "
            << report.ignored << " objects ignored (" << report.expired << " expired)\n";
  if (report.indicators == 0) {
    std::cerr << "tosgate indicators import: nothing to load\n";
    return 1;
  }
  if (!into.empty()) {
    std::filesystem::create_directories(into, ec);
    const std::string dest = (std::filesystem::path(into) / (source + ".json")).string();
    const std::string tmp = dest + ".tmp";
    // Written then renamed: a policy reload never reads half a bundle.
    {
      std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
      if (!(f << text)) {
        std::cerr << "tosgate indicators import: cannot write " << tmp << "\n";
        return 1;
      }
    }
    std::filesystem::rename(tmp, dest, ec);
    if (ec) {
      std::cerr << "tosgate indicators import: cannot write " << dest << ": " << ec.message() << "\n";
      return 1;
    }
    std::cout << "stored as " << dest << " (an indicators rule's source file)\n";
  }
  return 0;
}

}  // namespace

int RunIndicators(const Args& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") return Usage("");
  Args rest(args.begin() + 1, args.end());
  if (args[0] == "export") return Export(std::move(rest));
  if (args[0] == "import") return Import(std::move(rest));
  return Usage("unknown subcommand " + args[0]);
}

}  // namespace tosgate::cli
