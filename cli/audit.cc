// tosgate audit: questions to the audit store. `query` lists decisions a
// page at a time, `export` streams every match as JSON Lines or CSV, `stats`
// counts decisions per effect per hour; verify, prune and the signing key
// commands live in cli/audit_verify.cc.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#if __has_include("cli/audit_verify.h")
#include "cli/audit_verify.h"
#define TOSGATE_HAVE_AUDIT_VERIFY 1
#endif
#include "cli/audit_store.h"
#include "cli/commands.h"
#include "storage/audit/query.h"

namespace tosgate::cli {
namespace {

constexpr size_t kMaxLimit = 100000;

constexpr char kUsage[] =
    "usage: tosgate audit <command> [--db FILE] [options]   (FILE defaults to var/tosgate.db)\n"
    "       tosgate audit <command> --dsn DSN [options]     (a fleet's PostgreSQL store; the\n"
    "                                                        DSN may come from TOSGATE_AUDIT_DSN)\n"
    "  query  [filters] [--limit N] [--after CURSOR] [--json]\n"
    "  export --format jsonl|csv [--out FILE] [filters]\n"
    "  stats  [filters]\n"
    "  verify [--instance ID] [--anchor FILE] | export-anchor --out FILE | prune | keygen |\n"
    "  public-key   (see docs/audit.md)\n"
    "  --build-indexes: first add the (org, time_ms) index if missing (fast --org, slower writes)\n"
    "filters: --account ID --org ID --effect allow|throttle|deny --rule RULE_ID --reason CODE\n"
    "         --since TIME --until TIME   (TIME: 2026-11-28T20:00:00Z, 2026-11-28 or epoch ms;\n"
    "                                      since inclusive, until exclusive)\n"
    "         --instance ID   (--dsn only: one gateway instance's decisions)\n"
    "         --trace-id ID   (the 32 hex digits of a W3C traceparent's trace id)\n";

int Usage(const std::string& problem) {
  if (!problem.empty()) std::cerr << "tosgate audit: " << problem << "\n";
  std::cerr << kUsage;
  return 2;
}

// Takes the filter flags out of `args`; false (after saying why) on a bad one.
bool TakeFilter(Args* args, storage::AuditFilter* f, bool* bad) {
  TakeFlag(args, "--account", &f->account, bad);
  TakeFlag(args, "--org", &f->org, bad);
  TakeFlag(args, "--rule", &f->rule, bad);
  TakeFlag(args, "--reason", &f->reason, bad);
  TakeFlag(args, "--instance", &f->instance, bad);
  if (TakeFlag(args, "--trace-id", &f->trace_id, bad) &&
      (f->trace_id.size() != 32 || f->trace_id.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    std::cerr << "tosgate audit: --trace-id must be 32 lower-case hex digits, not '" << f->trace_id << "'\n";
    return false;
  }
  if (TakeFlag(args, "--effect", &f->effect, bad) && f->effect != "allow" &&
      f->effect != "throttle" && f->effect != "deny") {
    std::cerr << "tosgate audit: --effect must be allow, throttle or deny, not '" << f->effect
              << "'\n";
    return false;
  }
  for (auto [flag, out] :
       {std::pair{"--since", &f->since_ms}, std::pair{"--until", &f->until_ms}}) {
    std::string text;
    if (!TakeFlag(args, flag, &text, bad)) continue;
    auto t = storage::ParseAuditTime(text);
    if (!t.ok()) {
      std::cerr << "tosgate audit: " << flag << ": " << t.status().message() << "\n";
      return false;
    }
    *out = *t;
  }
  if (f->since_ms && f->until_ms && *f->until_ms <= *f->since_ms) {
    std::cerr << "tosgate audit: --until must be after --since\n";
    return false;
  }
  return !*bad;
}

// Opens the store; prints why not and returns null (exit 2: bad input).
// An SQLite store has no instances: --instance there is a usage error.
std::unique_ptr<storage::AuditReadStore> OpenStore(const AuditStoreArg& store, bool build_indexes,
                                                   const storage::AuditFilter& f) {
  if (store.dsn.empty() && !f.instance.empty()) {
    Usage("--instance needs --dsn: an SQLite store is one gateway's");
    return nullptr;
  }
  return OpenAuditStore(store, build_indexes);
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

int Query(Args args, const AuditStoreArg& db, bool build_indexes) {
  bool bad = false;
  storage::AuditFilter f;
  if (!TakeFilter(&args, &f, &bad)) return Usage("");
  std::string limit_text = "100", after_text;
  TakeFlag(&args, "--limit", &limit_text, &bad);
  const bool have_after = TakeFlag(&args, "--after", &after_text, &bad);
  const bool as_json = TakeSwitch(&args, "--json");
  if (bad) return Usage("");
  if (!args.empty()) return Usage("query: unknown argument '" + args[0] + "'");
  size_t limit = 0;
  if (limit_text.empty() || limit_text.size() > 6 ||
      limit_text.find_first_not_of("0123456789") != std::string::npos ||
      (limit = std::stoul(limit_text)) == 0 || limit > kMaxLimit)
    return Usage("--limit must be a number from 1 to " + std::to_string(kMaxLimit));
  std::optional<storage::AuditCursor> after;
  if (have_after) {
    auto c = storage::DecodeCursor(after_text);
    if (!c.ok()) return Usage("--after: " + c.status().message());
    after = *c;
  }
  auto store = OpenStore(db, build_indexes, f);
  if (!store) return 2;
  if (after && !after->instance.empty() && !store->fleet())
    return Usage("--after: that cursor is from a fleet's PostgreSQL store (--dsn)");
  auto page = store->Page(f, limit, after);
  if (!page.ok()) {
    std::cerr << "tosgate audit query: " << page.status().message() << "\n";
    return 1;
  }
  const std::string next = page->next ? storage::EncodeCursor(*page->next) : "";
  if (as_json) {
    // One document: the page is bounded by --limit, so it fits in memory.
    std::string out = "{\"decisions\":[";
    for (size_t i = 0; i < page->rows.size(); ++i) {
      std::string line = storage::JsonLine(page->rows[i]);
      line.pop_back();
      if (i) out += ',';
      out += line;
    }
    out += "],\"next\":";
    out += next.empty() ? "null" : "\"" + next + "\"";
    out += "}\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  // A fleet store's rows also say which gateway instance wrote them.
  const bool fleet = store->fleet();
  std::printf("%s %s%-8s %-20s %-12s %-8s %-6s %-20s %s\n", Pad("time", 24).c_str(),
              fleet ? Pad("instance", 20).append(" ").c_str() : "", "seq", "account", "org",
              "effect", "status", "reason", "rules");
  for (const auto& d : page->rows) {
    const auto& r = d.record;
    std::printf("%s %s%-8llu %-20s %-12s %-8s %-6d %-20s %s\n",
                storage::FormatAuditTime(r.time_ms).c_str(),
                fleet ? Pad(d.instance, 20).append(" ").c_str() : "",
                static_cast<unsigned long long>(d.seq), r.account.c_str(), r.org.c_str(),
                r.effect.c_str(), r.status, r.reason.c_str(), r.rule_ids.c_str());
  }
  if (page->rows.empty()) std::printf("(no decisions match)\n");
  if (!next.empty()) std::printf("more: add --after %s\n", next.c_str());
  return 0;
}

// A progress bar on stderr, redrawn at most ten times a second.
class Progress {
 public:
  Progress(bool on, uint64_t total) : on_(on), total_(total) {}
  void Add() {
    ++done_;
    if (!on_ || (done_ & 1023) != 0) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    Draw();
  }
  void Finish() {
    if (!on_) return;
    Draw();
    std::fputc('\n', stderr);
  }

 private:
  void Draw() const {
    constexpr int kWidth = 40;
    const double frac = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 1.0;
    const int filled = static_cast<int>(std::min(1.0, frac) * kWidth);
    std::fprintf(stderr, "\r[%s%s] %3d%%  %llu/%llu", std::string(filled, '#').c_str(),
                 std::string(kWidth - filled, ' ').c_str(), static_cast<int>(frac * 100),
                 static_cast<unsigned long long>(done_), static_cast<unsigned long long>(total_));
    std::fflush(stderr);
  }
  bool on_;
  uint64_t total_, done_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

int Export(Args args, const AuditStoreArg& db, bool build_indexes) {
  bool bad = false;
  storage::AuditFilter f;
  if (!TakeFilter(&args, &f, &bad)) return Usage("");
  std::string format, out_path;
  const bool have_format = TakeFlag(&args, "--format", &format, &bad);
  const bool have_out = TakeFlag(&args, "--out", &out_path, &bad);
  if (bad) return Usage("");
  if (!args.empty()) return Usage("export: unknown argument '" + args[0] + "'");
  if (!have_format || (format != "jsonl" && format != "csv"))
    return Usage("export needs --format jsonl or --format csv");
  auto store = OpenStore(db, build_indexes, f);
  if (!store) return 2;

  FILE* out = stdout;
  if (have_out) {
    out = std::fopen(out_path.c_str(), "wb");
    if (!out) {
      std::cerr << "tosgate audit export: cannot write " << out_path << ": " << std::strerror(errno)
                << "\n";
      return 1;
    }
  }
  const bool show = ::isatty(STDERR_FILENO) == 1;
  uint64_t total = 0;
  if (show) {
    auto n = store->Count(f);
    if (n.ok()) total = *n;
  }
  Progress progress(show, total);
  const bool csv = format == "csv";
  const bool fleet = store->fleet();  // CSV gains an instance column
  if (csv) std::fputs(storage::CsvHeader(fleet).c_str(), out);
  bool write_failed = false;
  Status s = store->ForEach(f, [&](const storage::StoredDecision& d) {
    const std::string line = csv ? storage::CsvRow(d, fleet) : storage::JsonLine(d);
    if (std::fwrite(line.data(), 1, line.size(), out) != line.size()) {
      write_failed = true;
      return false;
    }
    progress.Add();
    return true;
  });
  progress.Finish();
  if (std::fflush(out) != 0 || std::ferror(out)) write_failed = true;
  if (have_out && std::fclose(out) != 0) write_failed = true;
  if (!s.ok()) {
    std::cerr << "tosgate audit export: " << s.message() << "\n";
    return 1;
  }
  if (write_failed) {
    std::cerr << "tosgate audit export: writing " << (have_out ? out_path : "stdout")
              << " failed: " << std::strerror(errno) << "\n";
    return 1;
  }
  return 0;
}

int Stats(Args args, const AuditStoreArg& db, bool build_indexes) {
  bool bad = false;
  storage::AuditFilter f;
  if (!TakeFilter(&args, &f, &bad)) return Usage("");
  const bool as_json = TakeSwitch(&args, "--json");
  if (bad) return Usage("");
  if (!args.empty()) return Usage("stats: unknown argument '" + args[0] + "'");
  auto store = OpenStore(db, build_indexes, f);
  if (!store) return 2;
  auto rows = store->Stats(f);
  if (!rows.ok()) {
    std::cerr << "tosgate audit stats: " << rows.status().message() << "\n";
    return 1;
  }
  // hour -> effect -> count; the three effects always shown, others too.
  std::map<int64_t, std::map<std::string, uint64_t>> hours;
  for (const auto& r : *rows) hours[r.hour_ms][r.effect] += r.count;
  if (as_json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& [hour, effects] : hours) {
      nlohmann::json counts = {{"allow", 0}, {"throttle", 0}, {"deny", 0}};
      for (const auto& [e, n] : effects) counts[e] = n;
      j.push_back(
          {{"hour", storage::FormatAuditTime(hour)}, {"hour_ms", hour}, {"counts", counts}});
    }
    std::cout << j.dump() << "\n";
    return 0;
  }
  std::printf("%-24s %10s %10s %10s %10s\n", "hour (UTC)", "allow", "throttle", "deny", "total");
  uint64_t sum[4] = {0, 0, 0, 0};
  for (const auto& [hour, effects] : hours) {
    uint64_t c[4] = {0, 0, 0, 0};
    for (const auto& [e, n] : effects)
      c[e == "allow" ? 0 : e == "throttle" ? 1 : e == "deny" ? 2 : 3] += n;
    const uint64_t total = c[0] + c[1] + c[2] + c[3];
    for (int i = 0; i < 3; ++i) sum[i] += c[i];
    sum[3] += total;
    std::printf("%-24s %10llu %10llu %10llu %10llu\n", storage::FormatAuditTime(hour).c_str(),
                static_cast<unsigned long long>(c[0]), static_cast<unsigned long long>(c[1]),
                static_cast<unsigned long long>(c[2]), static_cast<unsigned long long>(total));
  }
  std::printf("%-24s %10llu %10llu %10llu %10llu\n", "total",
              static_cast<unsigned long long>(sum[0]), static_cast<unsigned long long>(sum[1]),
              static_cast<unsigned long long>(sum[2]), static_cast<unsigned long long>(sum[3]));
  return 0;
}

}  // namespace

int RunAudit(const Args& in) {
  if (in.empty() || in[0] == "--help" || in[0] == "-h" || in[0] == "help") {
    std::fputs(kUsage, in.empty() ? stderr : stdout);
    return in.empty() ? 2 : 0;
  }
  const std::string sub = in[0];
  Args args(in.begin() + 1, in.end());
#ifdef TOSGATE_HAVE_AUDIT_VERIFY
  if (sub == "verify") return RunAuditVerify(args);
  if (sub == "export-anchor") return RunAuditExportAnchor(args);
  if (sub == "prune") return RunAuditPrune(args);
  if (sub == "keygen" || sub == "public-key") return RunAuditKey(in);
#endif

  AuditStoreArg db;
  if (!TakeAuditStore(&args, &db)) return Usage("");
  // Opt-in: the (org, time_ms) index makes --org fast but costs the writer
  // about a quarter of its throughput (see docs/benchmarks.md).
  const bool build_indexes = TakeSwitch(&args, "--build-indexes");
  if (build_indexes && !db.dsn.empty())
    return Usage("--build-indexes is for an SQLite store (--db)");
  if (sub == "query") return Query(args, db, build_indexes);
  if (sub == "export") return Export(args, db, build_indexes);
  if (sub == "stats") return Stats(args, db, build_indexes);
  return Usage("unknown command '" + sub + "'");
}

}  // namespace tosgate::cli
