// The subcommands of the `tosgate` executable. Each takes the arguments after
// its name and returns the process exit code: 0 success, 1 failure of the
// work, 2 bad usage or bad input.
#pragma once

#include <string>
#include <vector>

namespace tosgate::cli {

using Args = std::vector<std::string>;

int RunServe(const Args& args);
int RunValidate(const Args& args);
int RunCheck(const Args& args);
int RunTest(const Args& args);
int RunReplay(const Args& args);
int RunMockUpstream(const Args& args);
int RunAudit(const Args& args);
int RunAccounts(const Args& args);
// tosgate accounts --db FILE spend ... (cli/accounts_spend.cc).
int AccountsSpend(Args args, const std::string& db);
int RunTrain(const Args& args);
int RunEval(const Args& args);
int RunInit(const Args& args);  // cli/init.cc
int RunDoctor(const Args& args);  // cli/doctor.cc
int RunEvalPolicies(const Args& args);  // eval --policies (cli/eval_pack.cc)
int RunIndicators(const Args& args);    // cli/indicators.cc

// Pulls "--name value" or "--name=value" out of args; false if absent.
// A flag given without its value is reported on stderr and sets *bad.
bool TakeFlag(Args* args, const std::string& name, std::string* value, bool* bad);
// Pulls a boolean "--name" out of args.
bool TakeSwitch(Args* args, const std::string& name);

}  // namespace tosgate::cli
