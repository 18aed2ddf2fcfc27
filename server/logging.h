// The process's log: one line per event, through spdlog, to stderr (the
// journal under systemd). Two formats:
//
//   text  (the default; what a person at a terminal reads) the lines
//         `tosgate serve` always printed, "tosgate: <message>", then any
//         fields as key=value
//   json  (log.format: json, or --log-format json) one JSON object a line:
//         {"time":"2026-12-07T16:00:00.123Z","level":"info",
//          "component":"server","msg":"...", <fields>}
//
// Every event has a level, a component and, when it is about a decision,
// its decision_id. What a log line never holds: API keys, prompts or any
// other request text (docs/install.md, "Logs"; tests/cli/log_secrets_test.cc
// greps a run's logs for them). Callers pass only identifiers and counts.
//
// Thread-safe: Event may be called from any thread; Configure once, before
// the threads that log start.
#pragma once

#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>

namespace tosgate::server {

enum class LogFormat { kText, kJson };
enum class LogLevel { kDebug, kInfo, kWarn, kError };

std::string_view LogLevelName(LogLevel level);  // "debug" | "info" | "warn" | "error"

// One key and its value; `number` writes the value unquoted in JSON.
struct LogField {
  std::string_view key;
  std::string value;
  bool number = false;
};

// Sets the format, the lowest level written, and where lines go: `out`, or
// stderr when null (tests pass a stream). Replaces an earlier configuration.
void ConfigureLog(LogFormat format, LogLevel min_level, std::ostream* out = nullptr);
LogFormat CurrentLogFormat();

// Writes one event.
void LogEvent(LogLevel level, std::string_view component, std::string_view message,
              std::initializer_list<LogField> fields = {});

// A stream whose every line is one event of `component`, for code that
// reports through a std::ostream (server::Server's progress and errors).
// A leading "tosgate: " is taken off the message; a line that says the
// server failed ("cannot", "error", "failed", ...) is a warning.
std::unique_ptr<std::ostream> LogLineStream(std::string component);

}  // namespace tosgate::server
