#include "server/taxii_poller.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "api/admin/taxii_client.h"
#include "policies/stix.h"

namespace tosgate::server {
namespace {

// "https://host:port/taxii2/root/" -> ("https://host:port", "/taxii2/root/").
bool SplitUrl(const std::string& url, std::string* base, std::string* path) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  const size_t slash = url.find('/', scheme + 3);
  *base = url.substr(0, slash);
  *path = slash == std::string::npos ? "/" : url.substr(slash);
  if (path->back() != '/') *path += '/';
  return base->size() > scheme + 3;
}

std::string Encode(const std::string& v) {
  std::string out;
  for (unsigned char c : v) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char b[4];
      std::snprintf(b, sizeof b, "%%%02X", c);
      out += b;
    }
  }
  return out;
}

// An object's version in ms (modified, else created); -1 when it has none.
int64_t VersionMs(const nlohmann::json& o) {
  for (const char* k : {"modified", "created"}) {
    auto it = o.find(k);
    int64_t ms = 0;
    if (it != o.end() && it->is_string() && policies::ParseStixTimestamp(it->get<std::string>(), &ms))
      return ms;
  }
  return -1;
}

}  // namespace

Result<std::string> ReadSecretFile(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return Status::IoError("cannot read " + path);
  std::string out;
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0 && out.size() < 65536;) out.append(buf, n);
  std::fclose(f);
  while (!out.empty() && std::isspace(static_cast<unsigned char>(out.back()))) out.pop_back();
  return out;
}

TaxiiPoller::TaxiiPoller(TaxiiSourceConfig config, std::string token, const Clock* clock,
                         std::function<void(const std::string&)> log)
    : c_(std::move(config)),
      token_(std::move(token)),
      clock_(clock),
      log_(std::move(log)),
      feed_(engine::IndicatorFeedNamed(c_.name)) {}

TaxiiPoller::~TaxiiPoller() { Stop(); }

Status TaxiiPoller::Fetch(const std::string& query, std::string* body, std::string* added_last) {
  std::string base, path;
  if (!SplitUrl(c_.url, &base, &path)) return Status::InvalidArgument("url is not a URL: " + c_.url);
  api::admin::TaxiiGet get;
  get.url = base + path + "collections/" + Encode(c_.collection) + "/objects/" + query;
  get.token = token_;
  get.timeout = c_.timeout;
  get.max_bytes = c_.max_bytes;
  api::admin::TaxiiAnswer answer;
  const Status s = api::admin::FetchTaxii(get, &answer);
  *body = std::move(answer.body);
  *added_last = std::move(answer.added_last);
  return s;
}

Status TaxiiPoller::MergePage(const std::string& body, bool* more, std::string* next, size_t* taken) {
  const nlohmann::json page = nlohmann::json::parse(body, nullptr, false);
  if (!page.is_object()) return Status::InvalidArgument("the page is not a TAXII envelope (a JSON object)");
  *more = page.value("more", false) == true;
  *next = page.contains("next") && page["next"].is_string() ? page["next"].get<std::string>() : "";
  auto objects = page.find("objects");
  if (objects == page.end()) return Status::Ok();
  if (!objects->is_array()) return Status::InvalidArgument("the envelope's objects is not a list");
  for (const nlohmann::json& o : *objects) {
    if (!o.is_object() || !o.contains("id") || !o["id"].is_string()) continue;  // the importer says why
    const std::string id = o["id"].get<std::string>();
    auto it = objects_.find(id);
    if (it != objects_.end() && VersionMs(it->second) >= VersionMs(o)) continue;  // older or same
    const size_t bytes = o.dump().size();
    if (it == objects_.end() && (objects_.size() >= c_.max_objects || object_bytes_ + bytes > c_.max_bytes))
      return Status::InvalidArgument("the collection is over max_objects (" + std::to_string(c_.max_objects) +
                                     ") or max_bytes; the rest is not kept");
    if (it != objects_.end()) {
      object_bytes_ -= std::min(object_bytes_, it->second.dump().size());
      it->second = o;
    } else {
      objects_.emplace(id, o);
    }
    object_bytes_ += bytes;
    ++*taken;
  }
  return Status::Ok();
}

// The set from every object kept, expiry judged by the clock now; expired
// objects are forgotten (a newer version would come as new).
void TaxiiPoller::Rebuild() {
  const int64_t now = clock_->wall_ms();
  for (auto it = objects_.begin(); it != objects_.end();) {
    int64_t until = 0;
    auto u = it->second.find("valid_until");
    if (u != it->second.end() && u->is_string() && policies::ParseStixTimestamp(u->get<std::string>(), &until) &&
        until <= now) {
      object_bytes_ -= std::min(object_bytes_, it->second.dump().size());
      it = objects_.erase(it);
    } else {
      ++it;
    }
  }
  nlohmann::json bundle = {{"type", "bundle"}, {"id", "bundle--" + c_.name}, {"objects", nlohmann::json::array()}};
  for (const auto& [id, o] : objects_) bundle["objects"].push_back(o);
  auto set = std::make_shared<engine::IndicatorSet>();
  policies::StixImportReport report;
  policies::StixLimits limits;
  limits.max_bytes = SIZE_MAX;  // bounded as it was fetched
  limits.max_objects = c_.max_objects;
  limits.max_messages = 5;
  const Status s = policies::ImportStixBundle(bundle.dump(), c_.name, c_.weight, now, limits, set.get(), &report);
  if (!s.ok()) {  // cannot happen for a bundle built here; keep the old set if it does
    log_("tosgate: indicators source " + c_.name + ": " + s.message());
    return;
  }
  for (const std::string& m : report.messages) log_("tosgate: indicators source " + c_.name + ": ignored " + m);
  const size_t indicators = set->size();
  feed_->Publish(std::move(set));
  std::lock_guard<std::mutex> lock(mu_);
  stats_.objects = objects_.size();
  stats_.indicators = indicators;
  stats_.ignored = report.ignored;
}

Status TaxiiPoller::PollOnce() {
  Status status = Status::Ok();
  size_t taken = 0;
  std::string next, added_last, body;
  // One poll pages with the added_after it started with (a server's `next`
  // may be relative to it); the next poll starts after the last page read.
  const std::string after = added_after_;
  for (int page = 0; page < kMaxPages; ++page) {
    std::string query;
    if (!after.empty()) query = "?added_after=" + Encode(after);
    if (!next.empty()) query += (query.empty() ? "?" : "&") + std::string("next=") + Encode(next);
    status = Fetch(query, &body, &added_last);
    bool more = false;
    if (status.ok()) status = MergePage(body, &more, &next, &taken);
    if (!status.ok()) break;
    if (!added_last.empty()) {
      int64_t ms = 0;
      if (!policies::ParseStixTimestamp(added_last, &ms)) {
        status = Status::InvalidArgument("X-TAXII-Date-Added-Last is not a timestamp: " + added_last.substr(0, 40));
        break;
      }
    }
    // The next poll asks only for what came after this page. With `more`
    // and no `next`, added_after alone pages (TAXII 2.1, 3.4).
    if (!added_last.empty()) added_after_ = added_last;
    if (!more) break;
    if (next.empty() && added_last.empty()) {
      status = Status::InvalidArgument("more pages, but neither next nor X-TAXII-Date-Added-Last to ask for them");
      break;
    }
  }
  // What was merged before a failure counts: it was whole, object by object.
  if (taken > 0 || status.ok()) Rebuild();
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.polls;
  if (!status.ok()) {
    ++stats_.failures;
    stats_.last_error = status.message();
  }
  return status;
}

void TaxiiPoller::Start() {
  thread_ = std::thread([this] {
    std::string said;  // the last line logged: a steady source is not logged every poll
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      const Status s = PollOnce();
      const TaxiiPollerStats st = stats();
      const std::string line =
          s.ok() ? "tosgate: indicators source " + c_.name + ": " + std::to_string(st.indicators) +
                       " indicators in force (" + std::to_string(st.objects) + " objects kept, " +
                       std::to_string(st.ignored) + " ignored)"
                 : "tosgate: indicators source " + c_.name +
                       ": poll failed (the indicators fetched before stay): " + s.message();
      if (line != said) log_(line);
      said = line;
      lock.lock();
      wake_.wait_for(lock, c_.interval, [this] { return stop_; });
    }
  });
}

void TaxiiPoller::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

TaxiiPollerStats TaxiiPoller::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

}  // namespace tosgate::server
