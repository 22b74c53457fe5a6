// Crash report: when the node dies of a fatal signal (SIGSEGV, SIGBUS,
// SIGFPE, SIGILL, SIGABRT), a handler writes to the log what redis-server
// 7.0.15 writes there (its "bug report"): the banner lines an operator and
// Redis's own tooling look for,
//
//   === REDIS BUG REPORT START: Cut & paste starting from here ===
//   ... crashed by signal, the faulting address, the stack trace,
//   ... INFO-like basics (version, mode, pid, port, uptime, executable)
//   === REDIS BUG REPORT END. Make sure to include from START to END. ===
//
// and then dies of the same signal with its default action, so a core dump
// is still written where the system allows one.
//
// The handler is async-signal-safe: everything it needs (the log's path,
// the INFO text) is prepared at installation; at crash time it only calls
// open/write/close, backtrace_symbols_fd, clock_gettime and kill. It runs on
// an alternate signal stack, so a stack overflow is reported too.
//
// Loop: install once from the main thread, before serving.
#pragma once

#include <string>

namespace shardnode::node {

struct CrashReportInfo {
  std::string logfile;      // "" = stdout, as the log
  std::string mode;         // "standalone" or "cluster"
  int port = 0;             // the client port
  std::string executable;   // absolute path of the binary
  std::string config_file;  // absolute path, or ""
};

// Installs the handler for every fatal signal above. Calling it again
// replaces the prepared information (the handler stays installed).
void InstallCrashHandler(const CrashReportInfo& info);

// The software watchdog (`watchdog-period`, as Redis's): SIGALRM to the
// calling thread once `period_ms` pass without another call; its handler
// logs "--- WATCHDOG TIMER EXPIRED ---" and the stack trace where the
// thread is stuck, and the thread goes on. 0 disarms it. The loop's cron
// calls it every tick while the setting is on.
// Loop: the control loop only (the thread it watches).
void ArmWatchdog(int period_ms);

// The period the watchdog runs with for the `watchdog-period` setting: off
// at 0, else at least two cron ticks (Redis's applyWatchdogPeriod).
inline int WatchdogPeriodMs(int setting, int hz) {
  if (setting <= 0) return 0;
  const int min_period = 2 * (1000 / (hz < 1 ? 1 : hz));
  return setting < min_period ? min_period : setting;
}

}  // namespace shardnode::node
