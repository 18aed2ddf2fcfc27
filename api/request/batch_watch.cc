#include "api/request/batch_watch.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace tosgate::api {
namespace {

constexpr size_t kMaxObjectBytes = 1 << 20;
constexpr size_t kMaxLineBytes = 4 << 20;

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The path's segments from the end: Segment(path, 0) is the last.
std::string_view Segment(std::string_view path, int from_end) {
  while (!path.empty()) {
    const size_t slash = path.rfind('/');
    const std::string_view last = slash == std::string_view::npos ? path : path.substr(slash + 1);
    if (from_end-- == 0) return last;
    if (slash == std::string_view::npos) break;
    path = path.substr(0, slash);
  }
  return {};
}

// Adds counts that were reported; -1 (not reported) adds nothing.
void Add(int64_t part, int64_t* sum) {
  if (part < 0) return;
  *sum = std::min<int64_t>(std::max<int64_t>(*sum, 0) + part, engine::kMaxReportedTokens);
}

}  // namespace

std::unique_ptr<BatchWatch> BatchWatch::For(const Request& req, BatchLedger* ledger) {
  if (!ledger) return nullptr;
  const std::string_view path = req.path;
  if (req.method == "POST") {
    if (EndsWith(path, "/files") && req.body.api == "files" && req.body.file_purpose == "batch" &&
        req.body.batch_requests > 0) {
      auto w = std::make_unique<BatchWatch>(Step::kUpload, ledger);
      w->upload_ = BatchInputOf(req.body);
      return w;
    }
    if (EndsWith(path, "/batches") && req.body.batch_requests > 0)
      return std::make_unique<BatchWatch>(Step::kSubmit, ledger);
    return nullptr;
  }
  if (req.method != "GET") return nullptr;
  if (Segment(path, 1) == "batches" && PlausibleUpstreamId(Segment(path, 0))) {
    auto w = std::make_unique<BatchWatch>(Step::kStatus, ledger);
    w->batch_id_ = std::string(Segment(path, 0));
    return w;
  }
  if (Segment(path, 0) == "results" && Segment(path, 2) == "batches") {
    auto w = std::make_unique<BatchWatch>(Step::kResults, ledger);
    w->batch_id_ = std::string(Segment(path, 1));
    return w;
  }
  return nullptr;
}

void BatchWatch::Feed(std::string_view bytes) {
  if (step_ != Step::kResults) {
    if (overflow_ || buffer_.size() + bytes.size() > kMaxObjectBytes) {
      overflow_ = true;
      buffer_.clear();
      return;
    }
    buffer_.append(bytes);
    return;
  }
  while (!bytes.empty()) {
    const size_t nl = bytes.find('\n');
    const std::string_view part = bytes.substr(0, nl);
    if (!overflow_ && buffer_.size() + part.size() <= kMaxLineBytes) buffer_.append(part);
    else overflow_ = true;
    if (nl == std::string_view::npos) return;
    if (overflow_) line_lost_ = true;
    else Line(buffer_);
    buffer_.clear();
    overflow_ = false;
    bytes.remove_prefix(nl + 1);
  }
}

// {"custom_id": ..., "result": {"type": "succeeded", "message": {"usage": {...}}}};
// errored, canceled and expired requests are not billed.
void BatchWatch::Line(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.find_first_not_of(" \t") == std::string_view::npos) return;
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) {
    line_lost_ = true;
    return;
  }
  ++results_;
  auto result = j.find("result");
  if (result == j.end() || !result->is_object() || result->value("type", "") != "succeeded") return;
  auto message = result->find("message");
  if (message == result->end() || !message->is_object()) return;
  auto u = message->find("usage");
  if (u == message->end()) return;
  ProviderUsage p;
  p.Read(*u, false);
  const engine::Usage one = p.Normalized();
  Add(one.input_tokens, &usage_.input_tokens);
  Add(one.output_tokens, &usage_.output_tokens);
  Add(one.cached_input_tokens, &usage_.cached_input_tokens);
  Add(one.cache_write_tokens, &usage_.cache_write_tokens);
  Add(one.reasoning_tokens, &usage_.reasoning_tokens);
}

BatchWatch::Report BatchWatch::Finish(int status, const std::string& decision_id,
                                      engine::Engine& engine) {
  const bool ok = status >= 200 && status < 300;
  if (step_ == Step::kSubmit && !ok) return Report::kNothing;
  if (!ok) return Report::kScanned;
  if (step_ == Step::kResults) {
    if (!buffer_.empty() && !overflow_) Line(buffer_);
    buffer_.clear();
    if (line_lost_ || overflow_ || results_ == 0) return Report::kScanned;
    // Every result errored: nothing was used.
    if (usage_.input_tokens < 0) usage_.input_tokens = 0;
    if (usage_.output_tokens < 0) usage_.output_tokens = 0;
    if (std::optional<std::string> d = ledger_->TakeBatch(batch_id_))
      (void)engine.ReportUsage(*d, usage_, engine::UsageSource::kInlineProxy);
    return Report::kScanned;
  }
  const nlohmann::json j = overflow_ ? nlohmann::json()
                                     : nlohmann::json::parse(buffer_, nullptr, false);
  buffer_.clear();
  const std::string id = j.is_object() ? j.value("id", "") : "";
  switch (step_) {
    case Step::kUpload:
      ledger_->RememberFile(id, upload_);
      return Report::kScanned;
    case Step::kSubmit:
      // An accepted batch whose id cannot be read is still held: it is
      // charged what it reserved, never less.
      ledger_->RememberBatch(id, decision_id);
      return Report::kHeld;
    case Step::kStatus: {
      if (!j.is_object() || (!id.empty() && id != batch_id_)) return Report::kScanned;
      const std::string state = j.value("status", "");
      if (auto u = j.find("usage"); u != j.end() && u->is_object() &&
                                   (state == "completed" || state == "failed" ||
                                    state == "expired" || state == "cancelled")) {
        ProviderUsage p;
        p.Read(*u, false);
        usage_ = p.Normalized();
      } else if (state == "failed") {
        usage_.input_tokens = usage_.output_tokens = 0;  // refused whole: nothing ran
      }
      if (usage_.input_tokens < 0 && usage_.output_tokens < 0) return Report::kScanned;
      if (std::optional<std::string> d = ledger_->TakeBatch(batch_id_))
        (void)engine.ReportUsage(*d, usage_, engine::UsageSource::kInlineProxy);
      return Report::kScanned;
    }
    case Step::kResults: break;
  }
  return Report::kScanned;
}

}  // namespace tosgate::api
