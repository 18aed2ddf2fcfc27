#include "server/logging.h"

#include <spdlog/logger.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <atomic>
#include <mutex>
#include <streambuf>

#include "engine/json_util.h"

namespace tosgate::server {
namespace {

struct LogState {
  std::mutex mu;  // guards logger replacement; spdlog's sink has its own lock
  std::shared_ptr<spdlog::logger> logger;
  std::atomic<LogFormat> format{LogFormat::kText};
};

LogState& State() {
  static LogState* s = new LogState();  // never destroyed: threads may log at exit
  return *s;
}

spdlog::level::level_enum SpdLevel(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return spdlog::level::debug;
    case LogLevel::kInfo: return spdlog::level::info;
    case LogLevel::kWarn: return spdlog::level::warn;
    case LogLevel::kError: return spdlog::level::err;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::logger> MakeLogger(LogFormat format, LogLevel min_level, std::ostream* out) {
  spdlog::sink_ptr sink;
  if (out) sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(*out, /*force_flush=*/true);
  else sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("tosgate", sink);
  // The time and level are spdlog's; the rest of the line is built in
  // LogEvent, already escaped.
  if (format == LogFormat::kJson)
    logger->set_pattern(R"({"time":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l",%v})", spdlog::pattern_time_type::utc);
  else
    logger->set_pattern("%v");
  logger->set_level(SpdLevel(min_level));
  // A line is one event: written at once, so that a crash loses none and
  // the journal sees each line as it happens.
  logger->flush_on(spdlog::level::trace);
  return logger;
}

std::shared_ptr<spdlog::logger> Logger() {
  LogState& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.logger) s.logger = MakeLogger(LogFormat::kText, LogLevel::kInfo, nullptr);
  return s.logger;
}

// Splits what is written into lines and logs each.
class LineBuf : public std::streambuf {
 public:
  explicit LineBuf(std::string component) : component_(std::move(component)) {}
  ~LineBuf() override {
    if (!line_.empty()) Emit();
  }

 protected:
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return 0;
    if (c == '\n') Emit();
    else line_.push_back(static_cast<char>(c));
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    for (std::streamsize i = 0; i < n; ++i) overflow(static_cast<unsigned char>(s[i]));
    return n;
  }

 private:
  void Emit() {
    // Text: the line exactly as written (what serve always printed).
    if (CurrentLogFormat() == LogFormat::kText) {
      std::shared_ptr<spdlog::logger> logger = Logger();
      logger->log(SpdLevel(LooksLikeFailure(line_) ? LogLevel::kWarn : LogLevel::kInfo),
                  spdlog::string_view_t(line_.data(), line_.size()));
      line_.clear();
      return;
    }
    std::string_view msg = line_;
    if (msg.rfind("tosgate: ", 0) == 0) msg.remove_prefix(9);
    LogEvent(LooksLikeFailure(msg) ? LogLevel::kWarn : LogLevel::kInfo, component_, msg);
    line_.clear();
  }
  static bool LooksLikeFailure(std::string_view m) {
    for (std::string_view w : {"cannot", "error", "failed", "does not load", "refused", "unavailable"})
      if (m.find(w) != std::string_view::npos) return true;
    return false;
  }

  std::string component_;
  std::string line_;
};

class LineStream : public std::ostream {
 public:
  explicit LineStream(std::string component) : std::ostream(nullptr), buf_(std::move(component)) { rdbuf(&buf_); }

 private:
  LineBuf buf_;
};

}  // namespace

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

void ConfigureLog(LogFormat format, LogLevel min_level, std::ostream* out) {
  LogState& s = State();
  auto logger = MakeLogger(format, min_level, out);
  std::lock_guard<std::mutex> lock(s.mu);
  s.logger = std::move(logger);
  s.format = format;
}

LogFormat CurrentLogFormat() { return State().format.load(); }

void LogEvent(LogLevel level, std::string_view component, std::string_view message,
              std::initializer_list<LogField> fields) {
  std::shared_ptr<spdlog::logger> logger = Logger();
  if (!logger->should_log(SpdLevel(level))) return;
  std::string line;
  if (State().format.load() == LogFormat::kJson) {
    line = "\"component\":";
    engine::AppendJsonString(&line, component);
    line += ",\"msg\":";
    engine::AppendJsonString(&line, message);
    for (const LogField& f : fields) {
      line += ',';
      engine::AppendJsonString(&line, f.key);
      line += ':';
      if (f.number) line += f.value;
      else engine::AppendJsonString(&line, f.value);
    }  // the pattern closes the object
  } else {
    line = "tosgate: ";
    line += message;
    for (const LogField& f : fields) {
      line += ' ';
      line += f.key;
      line += '=';
      // A value with a space is quoted, so that the line still splits on spaces.
      if (f.value.empty() || f.value.find(' ') != std::string::npos) engine::AppendJsonString(&line, f.value);
      else line += f.value;
    }
  }
  logger->log(SpdLevel(level), spdlog::string_view_t(line.data(), line.size()));
}

std::unique_ptr<std::ostream> LogLineStream(std::string component) {
  return std::make_unique<LineStream>(std::move(component));
}

}  // namespace tosgate::server
