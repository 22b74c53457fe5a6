// Ldb: the Lua debugger of SCRIPT DEBUG, as Redis 7.0.15's LDB speaks it
// (redis-cli --ldb is its client). While a debugged EVAL runs, a line hook
// stops the script (step, breakpoints, redis.breakpoint(), a run past the
// busy threshold) and reads debugger commands (step, continue, list, print,
// break, eval, redis, trace, maxlen, abort, help) straight from the client's
// connection; every answer is an array of status lines ("<reply> ...",
// "<value> ...", "<error> ..."), sent at once, and the session ends with
// "<endsession>" before the EVAL's own reply.
//
// Pure apart from the channel: the bytes come and go through a DebugChannel
// (the socket shell, or a test's script of input), the clock through a
// function. What Redis words, we word the same (help text, line listing
// "->#3  ...", value dumps, reply rendering).
//
// Errors raised into the script (abort, a protocol error, the timeout with
// the client gone) are pushed by OnHook and raised by the C hook after every
// C++ object of the step is gone (Lua 5.1 unwinds with longjmp).
//
// Loop: the loop that runs scripts. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

struct lua_State;
struct lua_Debug;

namespace shardnode::node::lua {

// The debugging client's connection, taken over for the session.
class DebugChannel {
 public:
  virtual ~DebugChannel() = default;
  // Blocks until some bytes arrive; returns how many (<= len), or 0 / a
  // negative number once the client is gone (or the node is stopping).
  virtual long Read(char* buf, size_t len) = 0;
  // Writes all of `bytes` (blocking, bounded by the shell's send timeout);
  // failures are ignored: the next Read sees the client gone.
  virtual void Write(std::string_view bytes) = 0;
};

class Ldb {
 public:
  static constexpr int kMaxBreakpoints = 64;
  static constexpr size_t kDefaultMaxLen = 256;

  // SCRIPT DEBUG YES|SYNC: clears the state of any previous session
  // (breakpoints, pending logs, maxlen), stepping from the first line.
  void Enable();
  // Starts a session over `channel` for script `source` (the EVAL body as
  // sent, shebang line included). REQUIRES: `channel` outlives End().
  // `now_ms` is the clock of the busy-threshold stop (steady, ms),
  // `time_limit_ms` that threshold (Redis: busy-reply-threshold, or 5000
  // when it is 0).
  void Start(std::string_view source, DebugChannel* channel, std::function<int64_t()> now_ms,
             int64_t time_limit_ms);
  // Logs "<endsession>", sends the pending logs and ends the session.
  void End();
  bool active() const { return active_; }
  // Redis's ldbIsEnabled: commands, replies and errors are logged now.
  bool logging() const { return active_ && step_; }
  int current_line() const { return current_line_; }

  // Log entries, sent with the next stop (or at the session's end).
  void Log(std::string entry);
  // Log, cut to maxlen (with a one-time hint about `maxlen 0`).
  void LogWithMaxLen(std::string entry);
  // "<redis> cmd args..." (at most ten arguments shown).
  void LogCommand(const std::vector<std::string>& args);
  // "<reply> ..." for one RESP reply (`reply` holds one complete reply).
  void LogReply(std::string_view reply);
  // redis.breakpoint(): stop at the next line.
  void RequestBreak() { lua_break_ = true; }

  // The line/count hook's work. Returns true when it pushed an error that
  // the caller must raise (lua_error) at once.
  bool OnHook(lua_State* L, lua_Debug* ar);

  // The value at `idx` as the debugger prints it ("{1; 2}", "\"a\"").
  static std::string DescribeValue(lua_State* L, int idx);
  // One RESP reply as the debugger renders it ("[1,\"a\"]", "NULL").
  static std::string DescribeReply(std::string_view reply);

 private:
  enum class ReplOutcome { kContinue, kClientGone, kRaise };

  void SendLogs();
  // Reads and runs debugger commands until one resumes the script.
  ReplOutcome Repl(lua_State* L);
  // Runs one command; true when it ends the stop (*outcome: resume or raise).
  bool RunCommand(lua_State* L, std::vector<std::string>& argv, ReplOutcome* outcome);
  std::string_view SourceLine(int line) const;
  bool IsBreakpoint(int line) const;
  bool AddBreakpoint(int line);
  bool DeleteBreakpoint(int line);
  void LogSourceLine(int line);
  void List(int around, int context);
  void Print(lua_State* L, const std::string& name);
  void PrintAll(lua_State* L);
  void Break(const std::vector<std::string>& argv);
  void Eval(lua_State* L, const std::vector<std::string>& argv);
  void Redis(lua_State* L, const std::vector<std::string>& argv);
  void Trace(lua_State* L);
  void MaxLen(const std::vector<std::string>& argv);

  DebugChannel* channel_ = nullptr;
  std::function<int64_t()> now_ms_;
  int64_t time_limit_ms_ = 5000;
  int64_t start_ms_ = 0;
  bool active_ = false;
  std::vector<std::string> logs_;
  std::vector<int> breakpoints_;
  bool step_ = false;
  bool lua_break_ = false;
  std::vector<std::string> source_;
  int current_line_ = 0;
  std::string cbuf_;  // debugger input not yet parsed
  size_t max_len_ = kDefaultMaxLen;
  bool max_len_hint_sent_ = false;
  std::string raise_;  // the error OnHook pushes
};

// Parses one debugger command from `buf` as Redis's lenient parser does
// (exposed for tests): returns true with *argv set, or false with *error
// set to "protocol error" when the input is malformed, or false with
// *error empty when more input is needed.
bool ParseLdbCommand(const std::string& buf, std::vector<std::string>* argv, std::string* error);

// Redis's sdscatrepr: `s` quoted, with \n \r \t \a \b \\ \" escaped and
// other unprintable bytes as \xHH.
std::string QuoteRepr(std::string_view s);

}  // namespace shardnode::node::lua
