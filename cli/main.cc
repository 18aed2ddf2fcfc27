// tosgate: the terms-of-service enforcement gateway's command line.
#include <cstdio>
#include <cstring>
#include <iostream>

#include "cli/commands.h"
#include "server/pattern_cache_dir.h"

namespace tosgate::cli {

bool TakeFlag(Args* args, const std::string& name, std::string* value, bool* bad) {
  for (size_t i = 0; i < args->size(); ++i) {
    const std::string& a = (*args)[i];
    if (a == name) {
      if (i + 1 >= args->size()) {
        std::cerr << "tosgate: " << name << " needs a value\n";
        *bad = true;
        args->erase(args->begin() + static_cast<long>(i));
        return false;
      }
      *value = (*args)[i + 1];
      args->erase(args->begin() + static_cast<long>(i), args->begin() + static_cast<long>(i) + 2);
      return true;
    }
    if (a.rfind(name + "=", 0) == 0) {
      *value = a.substr(name.size() + 1);
      args->erase(args->begin() + static_cast<long>(i));
      return true;
    }
  }
  return false;
}

bool TakeSwitch(Args* args, const std::string& name) {
  for (size_t i = 0; i < args->size(); ++i) {
    if ((*args)[i] == name) {
      args->erase(args->begin() + static_cast<long>(i));
      return true;
    }
  }
  return false;
}

}  // namespace tosgate::cli

namespace {

constexpr char kUsage[] =
    "usage: tosgate <command> [options]\n"
    "\n"
    "commands:\n"
    "  serve [--config FILE] [--policies DIR] [--accounts FILE | --accounts-db FILE] [--upstream URL]\n"
    "        [--watch] [--log-format text|json]\n"
    "                      run the gateway (data plane 127.0.0.1:8080, admin 127.0.0.1:9090)\n"
    "  validate DIR...     check policy directories; every error as file:line:column\n"
    "  check --policies DIR --request FILE [--explain] [--json]\n"
    "                      decide one request described in a JSON file\n"
    "  replay --policies DIR --capture FILE [--accounts FILE] [--baseline DIR] [--decisions-out FILE]\n"
    "         [--labels FILE [--detect-kinds LIST] [--detect-rules LIST]] [--json]\n"
    "                      compare a candidate policy set with the active one on a traffic capture\n"
    "  test DIR...         run the policy tests (*.test.yaml) of policy directories\n"
    "  init DIR            write a starter policy set importing the built-in packs, with tests\n"
    "  mock-upstream [--listen ADDR] [--latency DUR] [--chunk-delay DUR]\n"
    "                      a stand-in model API (OpenAI and Anthropic shapes, with usage)\n"
    "  audit query|export|stats|verify|prune|keygen|public-key [--db FILE] [...]\n"
    "                      read, export, count and check the audit store (tosgate audit --help)\n"
    "  accounts --db FILE add|set|list|import|add-key|revoke-key [...]\n"
    "                      the accounts registry: accounts and API keys (tosgate accounts --help)\n"
    "  indicators export|import [...]\n"
    "                      campaign indicators shared as STIX 2.1 (tosgate indicators --help)\n"
    "  train --data FILE.jsonl --out MODEL [--dev FILE.jsonl [--max-fpr X]] [...]\n"
    "                      train a text model (classifier tier, harvest intent) from labelled JSONL\n"
    "  eval --model MODEL --data FILE.jsonl [--threshold LABEL=X ...]\n"
    "                      recall, false positives and precision per label on a labelled file\n"
    "  eval --policies DIR --data FILE.jsonl [--json]\n"
    "                      recall and precision per category of a policy set on labelled prompts\n"
    "  doctor [--config FILE]\n"
    "                      check a serve configuration and this machine; say what to fix\n"
    "  version             print the version\n";

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  const std::string cmd = argv[1];
  // Compiled content patterns are kept between runs (TOSGATE_CACHE_DIR).
  tosgate::server::InstallPatternCacheFromEnv();
  tosgate::cli::Args args(argv + 2, argv + argc);
  if (cmd == "serve") return tosgate::cli::RunServe(args);
  if (cmd == "validate") return tosgate::cli::RunValidate(args);
  if (cmd == "check") return tosgate::cli::RunCheck(args);
  if (cmd == "test") return tosgate::cli::RunTest(args);
  if (cmd == "replay") return tosgate::cli::RunReplay(args);
  if (cmd == "mock-upstream") return tosgate::cli::RunMockUpstream(args);
  if (cmd == "audit") return tosgate::cli::RunAudit(args);
  if (cmd == "accounts") return tosgate::cli::RunAccounts(args);
  if (cmd == "indicators") return tosgate::cli::RunIndicators(args);
  if (cmd == "train") return tosgate::cli::RunTrain(args);
  if (cmd == "eval") return tosgate::cli::RunEval(args);
  if (cmd == "init") return tosgate::cli::RunInit(args);
  if (cmd == "doctor") return tosgate::cli::RunDoctor(args);
  if (cmd == "version" || cmd == "--version") {
    std::puts("tosgate 0.1.0");
    return 0;
  }
  if (cmd == "help" || cmd == "--help" || cmd == "-h") {
    std::fputs(kUsage, stdout);
    return 0;
  }
  std::fprintf(stderr, "tosgate: unknown command '%s'\n%s", cmd.c_str(), kUsage);
  return 2;
}
