#include "node/server/crash_report.h"

#include <execinfo.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/utsname.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

namespace shardnode::node {
namespace {

constexpr int kFatalSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};

// Prepared at installation, read by the handler. Plain arrays: the handler
// must not touch anything that allocates or locks.
char g_logfile[4096];
char g_info[4096];
size_t g_info_len = 0;
int64_t g_start_mono_sec = 0;
std::atomic<bool> g_reporting{false};

// The alternate stack the handler runs on (a stack overflow leaves no room
// on the thread's own stack).
constexpr size_t kAltStackSize = 64 * 1024;
alignas(16) char g_alt_stack[kAltStackSize];

// A fixed buffer that formats without allocating.
class Line {
 public:
  Line& Str(const char* s) {
    while (*s != '\0' && n_ < sizeof(buf_)) buf_[n_++] = *s++;
    return *this;
  }
  Line& Int(int64_t v) {
    char tmp[24];
    size_t len = 0;
    // Work with the magnitude as unsigned: INT64_MIN has no positive twin.
    uint64_t u = v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
    do {
      tmp[len++] = static_cast<char>('0' + u % 10);
      u /= 10;
    } while (u != 0);
    if (v < 0) tmp[len++] = '-';
    while (len > 0 && n_ < sizeof(buf_)) buf_[n_++] = tmp[--len];
    return *this;
  }
  Line& Hex(uintptr_t v) {
    static constexpr char kDigits[] = "0123456789abcdef";
    char tmp[2 * sizeof(uintptr_t)];
    size_t len = 0;
    do {
      tmp[len++] = kDigits[v & 15];
      v >>= 4;
    } while (v != 0);
    Str("0x");
    while (len > 0 && n_ < sizeof(buf_)) buf_[n_++] = tmp[--len];
    return *this;
  }
  const char* data() const { return buf_; }
  size_t size() const { return n_; }

 private:
  char buf_[512];
  size_t n_ = 0;
};

void WriteAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return;
    p += w;
    n -= static_cast<size_t>(w);
  }
}

void WriteStr(int fd, const char* s) { WriteAll(fd, s, strlen(s)); }

// One line as Redis's serverLogFromHandler writes it:
// "<pid>:signal-handler (<unix time>) <message>".
void LogLine(int fd, const Line& message) {
  Line prefix;
  prefix.Int(getpid()).Str(":signal-handler (");
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  prefix.Int(ts.tv_sec).Str(") ");
  WriteAll(fd, prefix.data(), prefix.size());
  WriteAll(fd, message.data(), message.size());
  WriteAll(fd, "\n", 1);
}

const char* SignalName(int sig) {
  switch (sig) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
    default:
      return "?";
  }
}

void* InstructionPointer(void* secret) {
#if defined(__linux__) && defined(__x86_64__)
  return reinterpret_cast<void*>(static_cast<ucontext_t*>(secret)->uc_mcontext.gregs[REG_RIP]);
#elif defined(__linux__) && defined(__aarch64__)
  return reinterpret_cast<void*>(static_cast<ucontext_t*>(secret)->uc_mcontext.pc);
#else
  (void)secret;
  return nullptr;
#endif
}

void DieBySignal(int sig) {
  struct sigaction act;
  memset(&act, 0, sizeof(act));
  sigemptyset(&act.sa_mask);
  act.sa_flags = SA_NODEFER | SA_ONSTACK | SA_RESETHAND;
  act.sa_handler = SIG_DFL;
  sigaction(sig, &act, nullptr);
  kill(getpid(), sig);
  // A blocked or ignored signal would let us come back here.
  _exit(128 + sig);
}

// The log as the handlers write it: the log file, or stdout without one.
int OpenLog() {
  return g_logfile[0] == '\0' ? STDOUT_FILENO
                              : open(g_logfile, O_APPEND | O_CREAT | O_WRONLY, 0644);
}
void CloseLog(int fd) {
  if (g_logfile[0] != '\0') close(fd);
}

// The stack trace as Redis's logStackTrace writes it: the instruction the
// signal interrupted, then the frames below the handler's own.
void WriteStackTrace(int fd, void* eip) {
  void* trace[100];
  const int depth = backtrace(trace, 100);
  WriteStr(fd, "\n------ STACK TRACE ------\n");
  if (eip != nullptr) {
    WriteStr(fd, "EIP:\n");
    backtrace_symbols_fd(&eip, 1, fd);
  }
  WriteStr(fd, "\nBacktrace:\n");
  if (depth > 1) backtrace_symbols_fd(trace + 1, depth - 1, fd);
}

// The software watchdog's SIGALRM: the loop has not re-armed the timer for
// a whole period. Logs where the loop is stuck and lets it go on.
void OnWatchdogSignal(int /*sig*/, siginfo_t* /*info*/, void* secret) {
  const int saved_errno = errno;
  const int fd = OpenLog();
  if (fd >= 0) {
    LogLine(fd, Line().Str("\n--- WATCHDOG TIMER EXPIRED ---"));
    WriteStackTrace(fd, InstructionPointer(secret));
    LogLine(fd, Line().Str("--------\n"));
    CloseLog(fd);
  }
  errno = saved_errno;
}

timer_t g_watchdog_timer;
bool g_watchdog_created = false;
bool g_watchdog_armed = false;

void OnFatalSignal(int sig, siginfo_t* info, void* secret) {
  // A second thread crashing while the first reports waits to be killed
  // with the process (the first one's kill ends everything).
  if (g_reporting.exchange(true)) {
    for (;;) pause();
  }
  const int fd = OpenLog();
  if (fd < 0) DieBySignal(sig);

  WriteStr(fd, "\n\n=== REDIS BUG REPORT START: Cut & paste starting from here ===\n");
  LogLine(fd, Line()
                  .Str("Redis 7.0.15 crashed by signal: ")
                  .Int(sig)
                  .Str(" (")
                  .Str(SignalName(sig))
                  .Str("), si_code: ")
                  .Int(info->si_code));
  if (sig == SIGSEGV || sig == SIGBUS) {
    LogLine(fd, Line().Str("Accessing address: ").Hex(reinterpret_cast<uintptr_t>(info->si_addr)));
  }
  if (info->si_code == SI_USER && info->si_pid != -1) {
    LogLine(fd, Line()
                    .Str("Killed by PID: ")
                    .Int(info->si_pid)
                    .Str(", UID: ")
                    .Int(static_cast<int64_t>(info->si_uid)));
  }
  void* eip = InstructionPointer(secret);
  if (eip != nullptr) {
    LogLine(
        fd,
        Line().Str("Crashed running the instruction at: ").Hex(reinterpret_cast<uintptr_t>(eip)));
  }

  // The trace first: later steps could fault again. The handler's own frame
  // is left out. After a call through a bad function pointer, eip is the
  // unmapped address and the trace may end at that frame; should the
  // unwinder fault, SA_RESETHAND makes that second fault end the process.
  WriteStackTrace(fd, eip);

  WriteStr(fd, "\n------ INFO OUTPUT ------\n");
  WriteAll(fd, g_info, g_info_len);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const int64_t uptime = ts.tv_sec - g_start_mono_sec;
  Line up;
  up.Str("uptime_in_seconds:").Int(uptime).Str("\r\nuptime_in_days:").Int(uptime / 86400);
  up.Str("\r\n");
  WriteAll(fd, up.data(), up.size());

  WriteStr(fd,
           "\n=== REDIS BUG REPORT END. Make sure to include from START to END. ===\n\n"
           "       Please report the crash with this report and the log above it:\n"
           "       shardnode is a Redis Cluster node compatible with redis-server 7.0.15.\n\n");
  CloseLog(fd);
  DieBySignal(sig);
}

}  // namespace

void InstallCrashHandler(const CrashReportInfo& info) {
  snprintf(g_logfile, sizeof(g_logfile), "%s", info.logfile.c_str());
  struct utsname uts;
  std::string os = "unknown";
  if (uname(&uts) == 0) os = std::string(uts.sysname) + " " + uts.release + " " + uts.machine;
  const int n = snprintf(g_info, sizeof(g_info),
                         "# Server\r\n"
                         "redis_version:7.0.15\r\n"
                         "redis_mode:%s\r\n"
                         "os:%s\r\n"
                         "arch_bits:%d\r\n"
                         "process_id:%d\r\n"
                         "tcp_port:%d\r\n"
                         "executable:%s\r\n"
                         "config_file:%s\r\n",
                         info.mode.c_str(), os.c_str(), static_cast<int>(sizeof(void*) * 8),
                         static_cast<int>(getpid()), info.port, info.executable.c_str(),
                         info.config_file.c_str());
  g_info_len = n < 0 ? 0 : std::min(static_cast<size_t>(n), sizeof(g_info) - 1);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  g_start_mono_sec = ts.tv_sec;

  // backtrace() loads libgcc on first use, which allocates: do it now, not
  // in the handler.
  void* warm[4];
  backtrace(warm, 4);

  stack_t ss;
  memset(&ss, 0, sizeof(ss));
  ss.ss_sp = g_alt_stack;
  ss.ss_size = kAltStackSize;
  sigaltstack(&ss, nullptr);

  struct sigaction act;
  memset(&act, 0, sizeof(act));
  sigemptyset(&act.sa_mask);
  // SA_RESETHAND: a fault inside the handler kills the process at once.
  act.sa_flags = SA_SIGINFO | SA_NODEFER | SA_RESETHAND | SA_ONSTACK;
  act.sa_sigaction = OnFatalSignal;
  for (int sig : kFatalSignals) sigaction(sig, &act, nullptr);
}

void ArmWatchdog(int period_ms) {
  if (period_ms <= 0) {
    if (!g_watchdog_armed) return;
    struct itimerspec off = {};
    timer_settime(g_watchdog_timer, 0, &off, nullptr);
    g_watchdog_armed = false;
    return;
  }
  if (!g_watchdog_created) {
    struct sigaction act;
    memset(&act, 0, sizeof(act));
    sigemptyset(&act.sa_mask);
    act.sa_flags = SA_SIGINFO | SA_RESTART | SA_ONSTACK;
    act.sa_sigaction = OnWatchdogSignal;
    sigaction(SIGALRM, &act, nullptr);
    // The signal goes to this thread (the loop being watched), not to any
    // thread of the process that happens not to block it.
    struct sigevent ev;
    memset(&ev, 0, sizeof(ev));
    ev.sigev_notify = SIGEV_THREAD_ID;
    ev.sigev_signo = SIGALRM;
    ev._sigev_un._tid = static_cast<pid_t>(gettid());
    if (timer_create(CLOCK_MONOTONIC, &ev, &g_watchdog_timer) != 0) return;
    g_watchdog_created = true;
  }
  // One shot: the next call pushes it back; only a loop stuck for the
  // whole period lets it fire.
  struct itimerspec when = {};
  when.it_value.tv_sec = period_ms / 1000;
  when.it_value.tv_nsec = static_cast<long>(period_ms % 1000) * 1000000L;
  timer_settime(g_watchdog_timer, 0, &when, nullptr);
  g_watchdog_armed = true;
}

}  // namespace shardnode::node
