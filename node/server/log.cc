#include "node/server/log.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace shardnode::node {
namespace {

// Redis's LOG_MAX_LEN: serverLog formats into a buffer of this size.
constexpr size_t kMaxMessage = 1024 - 1;

struct LogState {
  std::mutex mu;
  std::string logfile;  // guarded by mu; "" = stdout
  std::atomic<int> level{static_cast<int>(LogLevel::kNotice)};
  std::atomic<char> role{'M'};
};

LogState& State() {
  static LogState* state = new LogState;
  return *state;
}

char LevelChar(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return '.';
    case LogLevel::kVerbose:
      return '-';
    case LogLevel::kNotice:
      return '*';
    default:
      return '#';
  }
}

// Appends `bytes` to the destination. REQUIRES: the state's mutex is held.
void WriteLocked(const std::string& logfile, std::string_view bytes) {
  FILE* fp = logfile.empty() ? stdout : std::fopen(logfile.c_str(), "a");
  if (fp == nullptr) return;
  std::fwrite(bytes.data(), 1, bytes.size(), fp);
  std::fflush(fp);
  if (fp != stdout) std::fclose(fp);
}

}  // namespace

bool LogInit(LogLevel level, const std::string& logfile) {
  if (!logfile.empty()) {
    FILE* fp = std::fopen(logfile.c_str(), "a");
    if (fp == nullptr) return false;
    std::fclose(fp);
  }
  LogState& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  s.logfile = logfile;
  s.level.store(static_cast<int>(level));
  return true;
}

void SetLogLevel(LogLevel level) { State().level.store(static_cast<int>(level)); }

LogLevel GetLogLevel() { return static_cast<LogLevel>(State().level.load()); }

void SetLogRole(char role) { State().role.store(role); }

bool LogEnabled(LogLevel level) {
  int min = State().level.load();
  return min != static_cast<int>(LogLevel::kNothing) && static_cast<int>(level) >= min &&
         level != LogLevel::kNothing;
}

std::string FormatLogLine(int pid, char role, LogLevel level, int64_t unix_ms,
                          std::string_view message) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&secs, &tm);
  char when[64];
  size_t n = std::strftime(when, sizeof(when), "%d %b %Y %H:%M:%S", &tm);
  std::string out = absl::StrFormat("%d:%c %s.%03d %c ", pid, role, std::string_view(when, n),
                                    static_cast<int>(unix_ms % 1000), LevelChar(level));
  out.append(message.substr(0, kMaxMessage));
  out += '\n';
  return out;
}

void Log(LogLevel level, std::string_view message) {
  if (!LogEnabled(level)) return;
  LogState& s = State();
  const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  std::string line =
      FormatLogLine(static_cast<int>(getpid()), s.role.load(), level, now_ms, message);
  std::lock_guard<std::mutex> lock(s.mu);
  WriteLocked(s.logfile, line);
}

void LogRaw(LogLevel level, std::string_view text) {
  if (!LogEnabled(level)) return;
  LogState& s = State();
  std::lock_guard<std::mutex> lock(s.mu);
  WriteLocked(s.logfile, text);
}

}  // namespace shardnode::node
