#include "policies/test_runner.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "engine/accounts.h"
#include "engine/engine.h"
#include "engine/state_store.h"
#include "tosgate/clock.h"

namespace tosgate::policies {
namespace {

namespace fs = std::filesystem;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

std::string JoinList(const std::vector<std::string>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
  return out + "]";
}

std::string FormatOffset(int64_t ns) {
  if (ns % 1'000'000'000 == 0) return std::to_string(ns / 1'000'000'000) + "s";
  return std::to_string(ns / 1'000'000) + "ms";
}

std::string Indent(const std::string& text, const std::string& pad) {
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out += pad + line + "\n";
  return out;
}

// Every way `d` differs from `e`, one line each; empty when it matches.
std::vector<std::string> Mismatches(const TestExpect& e, const Decision& d) {
  std::vector<std::string> out;
  if (e.effect && *e.effect != EffectName(d.effect))
    out.push_back("effect: expected " + *e.effect + ", got " + std::string(EffectName(d.effect)));
  if (e.rules) {
    std::set<std::string> want(e.rules->begin(), e.rules->end());
    std::set<std::string> got(d.rule_ids.begin(), d.rule_ids.end());
    if (want != got)
      out.push_back("rules: expected " + JoinList({want.begin(), want.end()}) + ", got " +
                    JoinList({got.begin(), got.end()}));
  }
  if (e.status && *e.status != d.status)
    out.push_back("status: expected " + std::to_string(*e.status) + ", got " + std::to_string(d.status));
  if (e.delay_ns && *e.delay_ns / 1'000'000 != d.delay_ms)
    out.push_back("delay: expected " + FormatOffset(*e.delay_ns) + ", got " +
                  FormatOffset(d.delay_ms * 1'000'000));
  if (e.reason && *e.reason != d.reason)
    out.push_back("reason: expected '" + *e.reason + "', got '" + d.reason + "'");
  for (const auto& [name, value] : e.headers) {
    const std::string* got = nullptr;
    for (const auto& [k, v] : d.headers)
      if (EqualsIgnoreCase(k, name)) {
        got = &v;
        break;
      }
    if (!got) out.push_back("header " + name + ": expected '" + value + "', got none");
    else if (*got != value) out.push_back("header " + name + ": expected '" + value + "', got '" + *got + "'");
  }
  return out;
}

Diagnostic At(const std::string& file, const TestLocation& where, std::string message) {
  return {file, where.line, where.column, where.key, std::move(message)};
}

class Runner {
 public:
  Runner(std::shared_ptr<const engine::PolicySnapshot> snapshot, const RequestBuilder& build,
         std::ostream& out, TestReport* report)
      : snapshot_(std::move(snapshot)), build_(build), out_(out), report_(report) {
    for (const auto& r : snapshot_->rules) rule_ids_.insert(r->common().id);
    // Refusals the set makes without a rule: a test may expect them.
    rule_ids_.insert(std::string(engine::kUnmatchedOperationRule));
    rule_ids_.insert("identity.unknown_keys");
  }

  void RunFile(const TestFile& tf) {
    engine::MemoryAccountDirectory accounts;
    accounts.Replace(tf.accounts);
    for (const PolicyTest& t : tf.tests) RunTest(tf.file, t, accounts);
  }

  void Finish() {
    report_->rule_count = snapshot_->rules.size();
    for (const auto& r : snapshot_->rules)
      if (!covered_.count(r->common().id)) report_->uncovered.push_back(r->common().id);
  }

 private:
  // A test that cannot run as written: counted as failed, reported as bad input.
  void Error(const PolicyTest& t, Diagnostic d) {
    out_ << "ERROR " << t.name << "\n  " << d.ToString() << "\n";
    report_->errors.push_back(std::move(d));
    ++report_->failed;
  }

  void RunTest(const std::string& file, const PolicyTest& t, const engine::AccountDirectory& accounts) {
    for (const TestStep& s : t.steps) {
      if (!s.expect.rules) continue;
      for (size_t i = 0; i < s.expect.rules->size(); ++i) {
        const std::string& id = (*s.expect.rules)[i];
        if (!rule_ids_.count(id))
          return Error(t, At(file, s.expect.rule_locations[i], "unknown rule '" + id + "' (not in the policy set)"));
      }
    }

    FakeClock clock(kTestWallStartMs);
    std::unique_ptr<engine::StateStore> state = engine::NewMemoryStateStore();
    engine::Engine engine({&clock, state.get(), nullptr, &accounts});
    engine.Publish(snapshot_);

    for (size_t si = 0; si < t.steps.size(); ++si) {
      const TestStep& s = t.steps[si];
      clock.set_ns(s.at_ns);
      for (int rep = 1; rep <= s.repeat; ++rep) {
        Request req;
        if (Status st = build_(s.request, &req); !st.ok())
          return Error(t, At(file, s.where, "request: " + st.message()));
        const Decision d = engine.Check(req);
        for (const RuleMatch& m : d.matches) covered_.insert(m.rule_id);
        if (s.usage && d.effect == Effect::kAllow)
          (void)engine.ReportUsage(d.decision_id,
                                   {s.usage->input_tokens, s.usage->output_tokens,
                                    s.usage->cached_input_tokens, s.usage->cache_write_tokens,
                                    s.usage->reasoning_tokens});
        std::vector<std::string> diffs = Mismatches(s.expect, d);
        if (diffs.empty()) continue;
        out_ << "FAIL " << t.name << "\n";
        out_ << "  " << file << ":" << s.where.line << ":" << s.where.column << ": ";
        if (t.steps.size() > 1) out_ << "step " << si + 1 << " of " << t.steps.size() << ", ";
        if (s.repeat > 1) out_ << "request " << rep << " of " << s.repeat << ", ";
        out_ << "at " << FormatOffset(s.at_ns) << "\n";
        for (const std::string& line : diffs) out_ << "    " << line << "\n";
        out_ << "    decision:\n" << Indent(d.Explain(), "      ");
        ++report_->failed;
        return;
      }
    }
    out_ << "PASS " << t.name << "\n";
    ++report_->passed;
  }

  std::shared_ptr<const engine::PolicySnapshot> snapshot_;
  const RequestBuilder& build_;
  std::ostream& out_;
  TestReport* report_;
  std::set<std::string> rule_ids_;
  std::set<std::string> covered_;
};

void PrintSummary(const TestReport& r, std::ostream& out) {
  out << r.passed << " passed, " << r.failed << " failed\n";
  if (r.uncovered.empty()) {
    out << "all " << r.rule_count << " rules covered\n";
  } else {
    out << "uncovered rules: ";
    for (size_t i = 0; i < r.uncovered.size(); ++i) out << (i ? ", " : "") << r.uncovered[i];
    out << "\n";
  }
}

bool IsTestFile(const std::string& name) {
  auto ends = [&](std::string_view suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  return ends(".test.yaml") || ends(".test.yml");
}

void RunImportedTests(const std::string& dir, const LoadResult& loaded, const RequestBuilder& build,
                      std::ostream& out, const LoadOptions& options, TestReport* report) {
  bool ran = false;
  std::set<std::string> covered;  // by any run, imported tests included
  for (const auto& rule : loaded.snapshot->rules) covered.insert(rule->common().id);
  for (const std::string& id : report->uncovered) covered.erase(id);
  for (const ImportedSet& imported : loaded.imports) {
    if (imported.test_files.empty()) continue;
    ran = true;
    out << "\n== " << imported.name << ", inside " << dir << "\n";
    LoadOptions only = options;
    only.only_import = imported.name;
    LoadResult part = LoadPolicyDir(dir, only);
    if (!part.snapshot) {
      for (Diagnostic& d : part.errors) {
        out << "ERROR " << d.ToString() << "\n";
        report->errors.push_back(std::move(d));
      }
      continue;
    }
    TestReport r = RunPolicyTests(part.snapshot, imported.test_files, build, out);
    for (const auto& rule : part.snapshot->rules)
      if (std::find(r.uncovered.begin(), r.uncovered.end(), rule->common().id) == r.uncovered.end())
        covered.insert(rule->common().id);
    report->passed += r.passed;
    report->failed += r.failed;
    report->errors.insert(report->errors.end(), r.errors.begin(), r.errors.end());
    report->test_files.insert(report->test_files.end(), r.test_files.begin(), r.test_files.end());
  }
  if (!ran) return;
  std::vector<std::string> uncovered;
  for (const std::string& id : report->uncovered)
    if (!covered.contains(id)) uncovered.push_back(id);
  report->uncovered = std::move(uncovered);
  out << "\ntotal: " << report->passed << " passed, " << report->failed << " failed\n";
  if (report->uncovered.empty()) {
    out << "all " << report->rule_count << " rules of the set covered\n";
  } else {
    out << "uncovered rules of the set: ";
    for (size_t i = 0; i < report->uncovered.size(); ++i) out << (i ? ", " : "") << report->uncovered[i];
    out << "\n";
  }
}

}  // namespace

TestReport RunPolicyTests(std::shared_ptr<const engine::PolicySnapshot> snapshot,
                          const std::vector<std::pair<std::string, std::string>>& test_files,
                          const RequestBuilder& build, std::ostream& out) {
  TestReport report;
  Runner runner(std::move(snapshot), build, out, &report);
  for (const auto& [name, content] : test_files) {
    report.test_files.push_back(name);
    std::vector<Diagnostic> errors;
    TestFile tf = ParseTestFile(name, content, &errors);
    if (!errors.empty()) {
      for (Diagnostic& d : errors) {
        out << "ERROR " << d.ToString() << "\n";
        report.errors.push_back(std::move(d));
      }
      continue;
    }
    runner.RunFile(tf);
  }
  runner.Finish();
  PrintSummary(report, out);
  return report;
}

TestReport RunPolicyTestDir(const std::string& dir, const RequestBuilder& build, std::ostream& out,
                            const LoadOptions& options, bool imported_tests) {
  LoadResult loaded = LoadPolicyDir(dir, options);
  if (!loaded.snapshot) {
    TestReport report;
    for (Diagnostic& d : loaded.errors) {
      out << "ERROR " << d.ToString() << "\n";
      report.errors.push_back(std::move(d));
    }
    return report;
  }

  std::vector<std::string> paths;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name[0] == '.') {
      if (it->is_directory()) it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && IsTestFile(name)) paths.push_back(it->path().string());
  }
  std::sort(paths.begin(), paths.end());

  std::vector<std::pair<std::string, std::string>> files;
  std::vector<Diagnostic> unreadable;
  for (const std::string& p : paths) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream text;
    text << f.rdbuf();
    if (!f) unreadable.push_back({p, 0, 0, "", "cannot read the file"});
    else files.emplace_back(p, text.str());
  }
  if (ec) unreadable.push_back({dir, 0, 0, "", "cannot list the directory: " + ec.message()});

  for (const Diagnostic& d : unreadable) out << "ERROR " << d.ToString() << "\n";
  TestReport report = RunPolicyTests(loaded.snapshot, files, build, out);
  report.errors.insert(report.errors.begin(), unreadable.begin(), unreadable.end());
  if (imported_tests) RunImportedTests(dir, loaded, build, out, options, &report);
  return report;
}

}  // namespace tosgate::policies
