#include "tools/mock_upstream/mock_upstream.h"

#include <array>
#include <cctype>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

namespace tosgate::api {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using json = nlohmann::json;

// What a request asks for, read leniently: the mock never refuses a body.
struct Ask {
  bool anthropic = false;
  bool stream = false;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  std::string api;             // chat | completions | responses | embeddings | messages
  int64_t input_tokens = 1;
  int64_t output_tokens = 16;
};

Ask ReadAsk(std::string_view path, const std::string& body, int default_output) {
  Ask a;
  a.api = path == "/v1/messages"      ? "messages"
          : path == "/v1/completions" ? "completions"
          : path == "/v1/responses"   ? "responses"
          : path == "/v1/embeddings"  ? "embeddings"
                                      : "chat";
  a.anthropic = a.api == "messages";
  a.input_tokens = std::max<int64_t>(1, static_cast<int64_t>(body.size() / 4));
  a.output_tokens = a.api == "embeddings" ? 0 : default_output;
  const json j = json::parse(body, nullptr, false);
  if (!j.is_object()) return a;
  a.stream = j.value("stream", false) && a.api != "embeddings";
  if (auto so = j.find("stream_options"); so != j.end() && so->is_object())
    a.include_usage = so->value("include_usage", false);
  for (const char* k : {"max_tokens", "max_completion_tokens", "max_output_tokens"})
    if (auto it = j.find(k); it != j.end() && it->is_number_integer())
      a.output_tokens = std::clamp<int64_t>(it->get<int64_t>(), 0, default_output);
  return a;
}

std::string Whole(const Ask& a) {
  std::string text;
  for (int64_t i = 0; i < a.output_tokens; ++i) text += "tok ";
  json j;
  if (a.anthropic) {
    j = {{"id", "msg_mock"}, {"type", "message"}, {"role", "assistant"},
         {"content", json::array({{{"type", "text"}, {"text", text}}})},
         {"usage", {{"input_tokens", a.input_tokens}, {"output_tokens", a.output_tokens}}}};
  } else if (a.api == "responses") {
    j = {{"id", "resp_mock"}, {"object", "response"}, {"output_text", text},
         {"usage", {{"input_tokens", a.input_tokens}, {"output_tokens", a.output_tokens}}}};
  } else if (a.api == "embeddings") {
    j = {{"object", "list"}, {"data", json::array({{{"index", 0}, {"embedding", {0.1, 0.2, 0.3}}}})},
         {"usage", {{"prompt_tokens", a.input_tokens}, {"total_tokens", a.input_tokens}}}};
  } else {
    j = {{"id", "chatcmpl-mock"}, {"object", a.api == "chat" ? "chat.completion" : "text_completion"},
         {"choices", json::array({{{"index", 0}, {"message", {{"role", "assistant"}, {"content", text}}}}})},
         {"usage", {{"prompt_tokens", a.input_tokens}, {"completion_tokens", a.output_tokens},
                    {"total_tokens", a.input_tokens + a.output_tokens}}}};
  }
  return j.dump();
}

// The server-sent events of a streamed answer, one string per event.
std::vector<std::string> Events(const Ask& a) {
  std::vector<std::string> out;
  auto data = [&out](const json& j, const char* event = nullptr) {
    std::string e = event ? std::string("event: ") + event + "\n" : "";
    out.push_back(e + "data: " + j.dump() + "\n\n");
  };
  if (a.anthropic) {
    data({{"type", "message_start"},
          {"message", {{"id", "msg_mock"}, {"usage", {{"input_tokens", a.input_tokens}, {"output_tokens", 1}}}}}},
         "message_start");
    for (int64_t i = 0; i < a.output_tokens; ++i)
      data({{"type", "content_block_delta"}, {"index", 0}, {"delta", {{"type", "text_delta"}, {"text", "tok "}}}},
           "content_block_delta");
    data({{"type", "message_delta"}, {"delta", {{"stop_reason", "end_turn"}}},
          {"usage", {{"output_tokens", a.output_tokens}}}},
         "message_delta");
    data({{"type", "message_stop"}}, "message_stop");
    return out;
  }
  if (a.api == "responses") {
    for (int64_t i = 0; i < a.output_tokens; ++i)
      data({{"type", "response.output_text.delta"}, {"delta", "tok "}}, "response.output_text.delta");
    data({{"type", "response.completed"},
          {"response", {{"id", "resp_mock"}, {"usage", {{"input_tokens", a.input_tokens}, {"output_tokens", a.output_tokens}}}}}},
         "response.completed");
    return out;
  }
  for (int64_t i = 0; i < a.output_tokens; ++i)
    data({{"id", "chatcmpl-mock"}, {"object", "chat.completion.chunk"},
          {"choices", json::array({{{"index", 0}, {"delta", {{"content", "tok "}}}}})}});
  if (a.include_usage)
    data({{"id", "chatcmpl-mock"}, {"object", "chat.completion.chunk"}, {"choices", json::array()},
          {"usage", {{"prompt_tokens", a.input_tokens}, {"completion_tokens", a.output_tokens},
                     {"total_tokens", a.input_tokens + a.output_tokens}}}});
  out.push_back("data: [DONE]\n\n");
  return out;
}

// The stand-in guard classifier: a fixed list of marker words, each with a
// moderation category and score and a Llama Guard category.
struct GuardMarker {
  std::string_view word, category;
  double score;
  std::string_view llama;
};
constexpr GuardMarker kGuardMarkers[] = {
    {"sarin", "illicit/violent", 0.97, "S9"},
    {"ransomware", "illicit", 0.91, "S2"},
    {"kill myself", "self-harm", 0.88, "S11"},
};
// A text holding this is never answered: timeouts without a timed delay.
constexpr std::string_view kGuardHang = "mockhang";

// The text a guard request asks about: moderation `input` (a string or a
// list of them), or every message content of a chat request, lower case.
std::string GuardText(const json& j) {
  std::string text;
  auto add = [&text](const json& v) {
    if (v.is_string()) text += v.get<std::string>() + "\n";
  };
  if (auto in = j.find("input"); in != j.end()) {
    if (in->is_array())
      for (const json& v : *in) add(v);
    add(*in);
  }
  if (auto m = j.find("messages"); m != j.end() && m->is_array())
    for (const json& msg : *m)
      if (msg.is_object())
        if (auto c = msg.find("content"); c != msg.end()) add(*c);
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The answer of a guard request: OpenAI moderation or Llama Guard chat.
std::string GuardAnswer(bool moderation, const std::string& text) {
  json categories = json::object(), scores = json::object();
  std::string llama;
  bool flagged = false;
  for (const GuardMarker& m : kGuardMarkers) {
    const bool hit = text.find(m.word) != std::string::npos;
    categories[std::string(m.category)] = hit;
    scores[std::string(m.category)] = hit ? m.score : 0.01;
    if (hit) llama += (llama.empty() ? "" : ",") + std::string(m.llama);
    flagged |= hit;
  }
  if (moderation)
    return json{{"id", "modr-mock"}, {"model", "mock-moderation"},
                {"results", json::array({{{"flagged", flagged}, {"categories", categories},
                                          {"category_scores", scores}}})}}
        .dump();
  const std::string content = flagged ? "unsafe\n" + llama : "safe";
  return json{{"id", "chatcmpl-guard"}, {"object", "chat.completion"},
              {"choices", json::array({{{"index", 0}, {"finish_reason", "stop"},
                                        {"message", {{"role", "assistant"}, {"content", content}}}}})},
              {"usage", {{"prompt_tokens", 1}, {"completion_tokens", 2}, {"total_tokens", 3}}}}
      .dump();
}

struct Shared {
  MockUpstreamOptions options;
  std::atomic<uint64_t> requests{0};
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, Shared* shared) : stream_(std::move(socket)), shared_(shared) {}
  void Start() { Read(); }

 private:
  void Read() {
    req_ = {};
    stream_.expires_after(std::chrono::seconds(300));
    http::async_read(stream_, buffer_, req_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->OnRequest();
    });
  }

  std::string Header(std::string_view name) const {
    auto it = req_.find(beast::string_view(name.data(), name.size()));
    return it == req_.end() ? "" : std::string(it->value());
  }

  void OnRequest() {
    shared_->requests.fetch_add(1, std::memory_order_relaxed);
    std::string_view path(req_.target().data(), req_.target().size());
    path = path.substr(0, path.find('?'));
    guard_.clear();
    bool hang = false;
    if (path == "/v1/moderations" || path == "/v1/chat/completions") {
      const json j = json::parse(req_.body(), nullptr, false);
      const bool moderation = path == "/v1/moderations";
      if (j.is_object() && (moderation || j.value("model", "").find("guard") != std::string::npos)) {
        const std::string text = GuardText(j);
        hang = text.find(kGuardHang) != std::string::npos;
        guard_ = GuardAnswer(moderation, text);
      }
    }
    if (hang || Header("x-mock-hang") == "1") {
      // Never answers; the pending read keeps the session until the client goes.
      stream_.expires_never();
      stream_.async_read_some(net::buffer(sink_), [self = shared_from_this()](beast::error_code, size_t) {});
      return;
    }
    if (Header("x-mock-reset") == "1") {
      beast::error_code ec;
      stream_.socket().set_option(net::socket_base::linger(true, 0), ec);
      stream_.socket().close(ec);
      return;
    }
    if (Header("x-mock-malformed") == "1") {
      static constexpr std::string_view kJunk = "this is not HTTP\r\n\r\n";
      net::async_write(stream_, net::buffer(kJunk.data(), kJunk.size()),
                       [self = shared_from_this()](beast::error_code, size_t) {});
      return;
    }
    std::chrono::milliseconds latency = shared_->options.latency;
    if (std::string l = Header("x-mock-latency-ms"); !l.empty())
      latency = std::chrono::milliseconds(std::atoi(l.c_str()));
    std::string_view target(req_.target().data(), req_.target().size());
    ask_ = ReadAsk(target.substr(0, target.find('?')), req_.body(), shared_->options.default_output_tokens);
    After(latency, [self = shared_from_this()] { self->Answer(); });
  }

  template <typename Fn>
  void After(std::chrono::milliseconds d, Fn&& fn) {
    if (d.count() <= 0) return fn();
    timer_.expires_after(d);
    timer_.async_wait([fn = std::forward<Fn>(fn)](beast::error_code ec) {
      if (!ec) fn();
    });
  }

  void Answer() {
    const bool keep = req_.keep_alive();
    if (std::string status = Header("x-mock-status"); !status.empty() || !ask_.stream || !guard_.empty()) {
      auto res = std::make_shared<http::response<http::string_body>>();
      res->version(11);
      res->result(status.empty() ? 200 : std::atoi(status.c_str()));
      res->set(http::field::content_type, "application/json");
      res->body() = !status.empty() ? R"({"error":{"message":"mock failure"}})"
                    : !guard_.empty() ? guard_
                                      : Whole(ask_);
      res->keep_alive(keep);
      res->prepare_payload();
      http::async_write(stream_, *res, [self = shared_from_this(), res, keep](beast::error_code ec, size_t) {
        if (!ec && keep) self->Read();
      });
      return;
    }
    events_ = Events(ask_);
    next_ = 0;
    head_.emplace();
    head_->version(11);
    head_->result(http::status::ok);
    head_->set(http::field::content_type, "text/event-stream");
    head_->set(http::field::cache_control, "no-cache");
    head_->chunked(true);
    head_->keep_alive(keep);
    serializer_.emplace(*head_);
    http::async_write_header(stream_, *serializer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (!ec) self->NextEvent();
    });
  }

  void NextEvent() {
    if (next_ == events_.size()) {
      net::async_write(stream_, http::make_chunk_last(), [self = shared_from_this()](beast::error_code ec, size_t) {
        if (!ec && self->head_->keep_alive()) self->Read();
      });
      return;
    }
    After(next_ ? shared_->options.chunk_delay : std::chrono::milliseconds(0), [self = shared_from_this()] {
      const std::string& e = self->events_[self->next_++];
      net::async_write(self->stream_, http::make_chunk(net::buffer(e)),
                       [self](beast::error_code ec, size_t) {
                         if (!ec) self->NextEvent();
                       });
    });
  }

  beast::tcp_stream stream_;
  Shared* shared_;
  beast::flat_buffer buffer_;
  http::request<http::string_body> req_;
  Ask ask_;
  std::string guard_;  // the answer when the request went to the stand-in guard
  net::steady_timer timer_{stream_.get_executor()};
  std::vector<std::string> events_;
  size_t next_ = 0;
  std::array<char, 256> sink_;
  std::optional<http::response<http::empty_body>> head_;
  std::optional<http::response_serializer<http::empty_body>> serializer_;
};

}  // namespace

struct MockUpstream::Impl {
  Shared shared;
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;

  void Accept() {
    acceptor->async_accept(ioc, [this](beast::error_code ec, tcp::socket socket) {
      if (ec == net::error::operation_aborted) return;
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        std::make_shared<Session>(std::move(socket), &shared)->Start();
      }
      Accept();
    });
  }
};

MockUpstream::MockUpstream(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MockUpstream::~MockUpstream() { Stop(); }

Result<std::unique_ptr<MockUpstream>> MockUpstream::Start(MockUpstreamOptions options) {
  auto impl = std::make_unique<Impl>();
  impl->shared.options = options;
  const size_t colon = options.listen.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("listen needs host:port: " + options.listen);
  beast::error_code ec;
  std::string host = options.listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const auto addr = net::ip::make_address(host, ec);
  if (ec) return Status::InvalidArgument("mock upstream listens on an IP address, not '" + host + "'");
  const int port = std::atoi(options.listen.c_str() + colon + 1);
  tcp::endpoint ep(addr, static_cast<uint16_t>(port));
  impl->acceptor.emplace(impl->ioc);
  if (impl->acceptor->open(ep.protocol(), ec); !ec)
    if (impl->acceptor->set_option(net::socket_base::reuse_address(true), ec); !ec)
      if (impl->acceptor->bind(ep, ec); !ec) impl->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("mock upstream: listen on " + options.listen + ": " + ec.message());
  impl->Accept();
  for (int i = 0; i < std::max(1, options.threads); ++i)
    impl->threads.emplace_back([raw = impl.get()] { raw->ioc.run(); });
  return std::unique_ptr<MockUpstream>(new MockUpstream(std::move(impl)));
}

int MockUpstream::port() const {
  beast::error_code ec;
  return impl_->acceptor->local_endpoint(ec).port();
}

uint64_t MockUpstream::requests() const { return impl_->shared.requests.load(); }

void MockUpstream::Stop() {
  if (!impl_ || impl_->threads.empty()) return;
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

}  // namespace tosgate::api
