#include "api/guard/http_guard_client.h"

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>
#include <vector>

#include "engine/thread_annotations.h"

namespace tosgate::api {
namespace {

using json = nlohmann::json;
using engine::GuardFormat;
using engine::GuardQuery;
using engine::GuardVerdict;

GuardVerdict Failed(GuardVerdict::Outcome o, std::string why) {
  GuardVerdict v;
  v.outcome = o;
  v.error = std::move(why);
  return v;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

GuardVerdict ParseModeration(std::string_view body) {
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return Failed(GuardVerdict::Outcome::kError, "the answer is not JSON");
  auto results = j.find("results");
  if (results == j.end() || !results->is_array() || results->empty() || !(*results)[0].is_object())
    return Failed(GuardVerdict::Outcome::kError, "the answer has no results[0]");
  const json& r = (*results)[0];
  auto flagged = r.find("flagged");
  if (flagged == r.end() || !flagged->is_boolean())
    return Failed(GuardVerdict::Outcome::kError, "results[0].flagged is not a boolean");
  GuardVerdict v;
  v.outcome = flagged->get<bool>() ? GuardVerdict::Outcome::kUnsafe : GuardVerdict::Outcome::kSafe;
  if (v.outcome == GuardVerdict::Outcome::kSafe) return v;
  auto cats = r.find("categories");
  auto scores = r.find("category_scores");
  if (cats != r.end() && cats->is_object()) {
    for (auto it = cats->begin(); it != cats->end(); ++it) {
      if (!it.value().is_boolean() || !it.value().get<bool>()) continue;
      v.categories.push_back(it.key());
      double score = 1;
      if (scores != r.end() && scores->is_object())
        if (auto s = scores->find(it.key()); s != scores->end() && s->is_number())
          score = s->get<double>();
      v.scores.push_back(score);
    }
  }
  return v;
}

GuardVerdict ParseLlamaGuard(std::string_view body) {
  const json j = json::parse(body, nullptr, false);
  const json* content = nullptr;
  if (j.is_object())
    if (auto c = j.find("choices");
        c != j.end() && c->is_array() && !c->empty() && (*c)[0].is_object())
      if (auto m = (*c)[0].find("message"); m != (*c)[0].end() && m->is_object())
        if (auto t = m->find("content"); t != m->end() && t->is_string()) content = &*t;
  if (!content)
    return Failed(GuardVerdict::Outcome::kError, "the answer has no choices[0].message.content");
  std::string_view text = Trim(content->get_ref<const std::string&>());
  const size_t nl = text.find('\n');
  const std::string_view first = Trim(text.substr(0, nl));
  GuardVerdict v;
  if (first == "safe") {
    v.outcome = GuardVerdict::Outcome::kSafe;
    return v;
  }
  if (first != "unsafe")
    return Failed(GuardVerdict::Outcome::kError, "the guard answered neither safe nor unsafe");
  v.outcome = GuardVerdict::Outcome::kUnsafe;
  if (nl == std::string_view::npos) return v;
  std::string_view rest = Trim(text.substr(nl + 1));
  rest = rest.substr(0, rest.find('\n'));
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view c = Trim(rest.substr(0, comma));
    if (!c.empty() && c.size() <= 64) v.categories.emplace_back(c);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return v;
}

// "https://h:443/v1/x" -> {"https://h:443", "/v1/x"}.
bool SplitUrl(const std::string& url, std::string* base, std::string* path) {
  const size_t scheme = url.find("://");
  if (scheme == std::string::npos) return false;
  const size_t slash = url.find('/', scheme + 3);
  *base = url.substr(0, slash);
  *path = slash == std::string::npos ? "/" : url.substr(slash);
  return base->size() > scheme + 3;
}

class HttpGuardClient final : public engine::GuardClient {
 public:
  explicit HttpGuardClient(HttpGuardOptions o) : options_(std::move(o)) {}

  ~HttpGuardClient() override {
    std::deque<Job> left;
    {
      engine::MutexLock lock(mu_);
      stopping_ = true;
      left.swap(queue_);
    }
    cv_.notify_all();
    for (std::thread& t : threads_) t.join();
    for (Job& j : left)
      j.done(Failed(GuardVerdict::Outcome::kError, "the guard client is stopping"));
  }

  GuardVerdict Classify(const GuardQuery& q) override {
    std::string base, path;
    if (!SplitUrl(q.endpoint, &base, &path))
      return Failed(GuardVerdict::Outcome::kError, "endpoint is not a URL");
    std::unique_ptr<httplib::Client> cli = Take(base);
    const auto timeout = std::chrono::milliseconds(std::max<int64_t>(1, q.timeout_ms));
    cli->set_connection_timeout(timeout);
    cli->set_read_timeout(timeout);
    cli->set_write_timeout(timeout);
    httplib::Headers headers;
    if (!options_.api_key.empty()) headers.emplace("Authorization", "Bearer " + options_.api_key);
    const auto start = std::chrono::steady_clock::now();
    httplib::Result res = cli->Post(path, headers, GuardRequestBody(q), "application/json");
    if (!res) {
      // A read that gave up after the timeout is a timeout; the same error
      // sooner is the classifier closing or refusing the connection.
      const bool late = std::chrono::steady_clock::now() - start >= timeout * 9 / 10;
      return Failed(late || res.error() == httplib::Error::ConnectionTimeout
                        ? GuardVerdict::Outcome::kTimeout
                        : GuardVerdict::Outcome::kError,
                    "request failed: " + httplib::to_string(res.error()));
    }
    GuardVerdict v = res->status / 100 == 2
                         ? ParseGuardAnswer(q.format, res->body)
                         : Failed(GuardVerdict::Outcome::kError,
                                  "the classifier answered HTTP " + std::to_string(res->status));
    Give(base, std::move(cli));
    return v;
  }

  bool ClassifyAsync(GuardQuery q, std::function<void(GuardVerdict)> done) override {
    {
      engine::MutexLock lock(mu_);
      if (stopping_ || queue_.size() >= options_.async_queue) return false;
      queue_.push_back(Job{std::move(q), std::move(done)});
      // Threads start with the first async call: a gateway whose policies
      // hold no async guard rule runs none.
      if (threads_.empty())
        for (int i = 0; i < std::max(1, options_.async_threads); ++i)
          threads_.emplace_back([this] { Work(); });
    }
    cv_.notify_one();
    return true;
  }

 private:
  struct Job {
    GuardQuery query;
    std::function<void(GuardVerdict)> done;
  };

  void Work() {
    while (true) {
      Job job;
      {
        engine::MutexLock lock(mu_);
        cv_.wait(lock.native(), [this]() REQUIRES(mu_) { return stopping_ || !queue_.empty(); });
        if (stopping_) return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      job.done(Classify(job.query));
    }
  }

  std::unique_ptr<httplib::Client> Take(const std::string& base) {
    {
      engine::MutexLock lock(pool_mu_);
      auto it = idle_.find(base);
      if (it != idle_.end() && !it->second.empty()) {
        std::unique_ptr<httplib::Client> c = std::move(it->second.back());
        it->second.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<httplib::Client>(base);
    c->set_keep_alive(true);
    // httplib writes the headers and the body apart: with Nagle's algorithm
    // the body then waits for the server's delayed ACK, 40 ms on Linux.
    c->set_tcp_nodelay(true);
    return c;
  }

  void Give(const std::string& base, std::unique_ptr<httplib::Client> c) {
    engine::MutexLock lock(pool_mu_);
    auto& v = idle_[base];
    if (v.size() < options_.max_idle_per_endpoint) v.push_back(std::move(c));
  }

  const HttpGuardOptions options_;
  engine::Mutex pool_mu_;
  std::unordered_map<std::string, std::vector<std::unique_ptr<httplib::Client>>> idle_
      GUARDED_BY(pool_mu_);
  engine::Mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;  // started under mu_, joined by the destructor
};

}  // namespace

std::string GuardRequestBody(const GuardQuery& q) {
  json j;
  if (!q.model.empty()) j["model"] = q.model;
  if (q.format == GuardFormat::kLlamaGuard) {
    // The server's chat template for the guard model wraps the conversation
    // in its task prompt (categories, "safe"/"unsafe" instructions).
    j["messages"] = json::array({{{"role", "user"}, {"content", q.text}}});
    j["max_tokens"] = 20;
    j["temperature"] = 0;
  } else {
    j["input"] = q.text;
  }
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::unique_ptr<engine::GuardClient> NewHttpGuardClient(HttpGuardOptions options) {
  return std::make_unique<HttpGuardClient>(std::move(options));
}

GuardVerdict ParseGuardAnswer(GuardFormat format, std::string_view body) {
  return format == GuardFormat::kLlamaGuard ? ParseLlamaGuard(body) : ParseModeration(body);
}

}  // namespace tosgate::api
