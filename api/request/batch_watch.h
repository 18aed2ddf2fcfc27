// BatchWatch: the inline proxy's eye on one response of the batch APIs
// (batch_ledger.h has the steps). It reads the answer as it streams past,
// beside the UsageScanner, and when the answer is complete records the
// upstream's file or batch id, or settles a batch from its results:
//
//   kUpload   POST .../files with purpose=batch: the file's id, with the
//             requests the upload held
//   kSubmit   POST .../batches or .../messages/batches: the batch's id, with
//             the decision that reserved it (the reservation stays open)
//   kStatus   GET .../batches/{id} (OpenAI): a finished batch's `usage`
//   kResults  GET .../messages/batches/{id}/results (Anthropic): the sum of
//             every result's `message.usage`, JSON Lines
//
// Bounded memory: an object answer past 1 MiB, or a results line past
// 4 MiB, is not read (a batch not settled keeps its reservation). Not
// thread-safe; one per response.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "api/request/batch_ledger.h"
#include "api/request/usage_scanner.h"
#include "engine/engine.h"

namespace tosgate::api {

class BatchWatch {
 public:
  enum class Step { kUpload, kSubmit, kStatus, kResults };

  // The watch `req` needs, or null when it is no step of a batch.
  static std::unique_ptr<BatchWatch> For(const Request& req, BatchLedger* ledger);

  Step step() const { return step_; }
  void Feed(std::string_view bytes);
  // What the relay then reports for the request that carried this answer.
  enum class Report {
    kScanned,  // what the UsageScanner saw, as for any request
    kNothing,  // zero: the upstream refused the batch, nothing was used
    kHeld,     // nothing yet: an accepted batch's reservation waits for its results
  };
  // The whole answer arrived with HTTP `status`: records the id, or settles
  // the batch this answer finishes (Engine::ReportUsage from the inline proxy).
  Report Finish(int status, const std::string& decision_id, engine::Engine& engine);

  // For tests: the usage a kStatus or kResults answer carried, if complete.
  const engine::Usage& usage() const { return usage_; }

  BatchWatch(Step step, BatchLedger* ledger) : step_(step), ledger_(ledger) {}

 private:
  void Line(std::string_view line);

  Step step_;
  BatchLedger* ledger_;
  std::string batch_id_;  // kStatus, kResults: from the path
  BatchInput upload_;     // kUpload
  std::string buffer_;    // the object answer, or the results line being received
  bool overflow_ = false;
  bool line_lost_ = false;   // kResults: a line too long or unreadable
  int64_t results_ = 0;      // kResults: lines read
  engine::Usage usage_;      // kResults: the running sum; kStatus: the batch's
};

}  // namespace tosgate::api
