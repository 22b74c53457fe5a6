// The node's log, in redis-server 7.0.15's line format:
//
//   <pid>:<role> <dd Mon yyyy hh:mm:ss.mmm> <level> <message>
//   12345:M 05 Mar 2024 10:11:12.345 * Ready to accept connections
//
// role: M primary, S replica, C child, X sentinel; level: '.' debug,
// '-' verbose, '*' notice, '#' warning. Times are local time.
//
// Like Redis, the log file is opened in append mode for every line, so that
// it can be rotated or removed under a running node; "" logs to stdout.
// Every line is written whole and flushed.
//
// Thread-safe: any thread may log; a mutex serializes the writes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"
#include "node/config/options.h"

namespace shardnode::node {

// Sets the level and the destination ("" = stdout). Returns false, with
// errno set, when `logfile` cannot be opened for appending (Redis refuses to
// start then); the previous destination is kept in that case.
bool LogInit(LogLevel level, const std::string& logfile);
// Same as LogInit; the name the rest of the code may prefer at start-up.
inline bool LogOpen(LogLevel level, const std::string& logfile) { return LogInit(level, logfile); }

// Lines below `level` are dropped (CONFIG SET loglevel). kNothing drops all.
void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// 'M' (default), 'S', 'C' or 'X'.
void SetLogRole(char role);

// True when a line at `level` would be written.
bool LogEnabled(LogLevel level);

// Writes one line. Messages longer than Redis's 1024-byte limit are cut, as
// Redis does.
void Log(LogLevel level, std::string_view message);

// printf-style Log, checked at compile time; formats only when enabled.
template <typename... Args>
void Logf(LogLevel level, const absl::FormatSpec<Args...>& format, const Args&... args) {
  if (!LogEnabled(level)) return;
  Log(level, absl::StrFormat(format, args...));
}

// Writes `text` as it is, without prefix or added newline (Redis's LL_RAW:
// the start-up logo). Subject to the level filter.
void LogRaw(LogLevel level, std::string_view text);

// One formatted line, newline included. Pure except for reading the local
// time zone. `unix_ms`: milliseconds since the epoch.
std::string FormatLogLine(int pid, char role, LogLevel level, int64_t unix_ms,
                          std::string_view message);

}  // namespace shardnode::node
