#include "node/lua/ldb.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "node/lua/lua_env.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
}

namespace shardnode::node::lua {

namespace {

// Redis's LDB_MAX_VALUES_DEPTH (LUA_MINSTACK / 2).
constexpr int kMaxValueDepth = LUA_MINSTACK / 2;
constexpr size_t kMaxInput = 1 << 20;

const char* const kHelp[] = {
    "Redis Lua debugger help:",
    "[h]elp               Show this help.",
    "[s]tep               Run current line and stop again.",
    "[n]ext               Alias for step.",
    "[c]ontinue           Run till next breakpoint.",
    "[l]ist               List source code around current line.",
    "[l]ist [line]        List source code around [line].",
    "                     line = 0 means: current position.",
    "[l]ist [line] [ctx]  In this form [ctx] specifies how many lines",
    "                     to show before/after [line].",
    "[w]hole              List all source code. Alias for 'list 1 1000000'.",
    "[p]rint              Show all the local variables.",
    "[p]rint <var>        Show the value of the specified variable.",
    "                     Can also show global vars KEYS and ARGV.",
    "[b]reak              Show all breakpoints.",
    "[b]reak <line>       Add a breakpoint to the specified line.",
    "[b]reak -<line>      Remove breakpoint from the specified line.",
    "[b]reak 0            Remove all breakpoints.",
    "[t]race              Show a backtrace.",
    "[e]val <code>        Execute some Lua code (in a different callframe).",
    "[r]edis <cmd>        Execute a Redis command.",
    "[m]axlen [len]       Trim logged Redis replies and Lua var dumps to len.",
    "                     Specifying zero as <len> means unlimited.",
    "[a]bort              Stop the execution of the script. In sync",
    "                     mode dataset changes will be retained.",
    "",
    "Debugger functions you can call from Lua scripts:",
    "redis.debug()        Produce logs in the debugger console.",
    "redis.breakpoint()   Stop execution like if there was a breakpoint in the",
    "                     next line of code.",
};

bool Is(const std::string& arg, const char* short_name, const char* long_name) {
  return strcasecmp(arg.c_str(), short_name) == 0 || strcasecmp(arg.c_str(), long_name) == 0;
}

// Redis's string2l: an optional '-', digits without leading zeros, in range.
bool StrictLong(const std::string& s, long* out) {
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    *out = 0;
    return true;
  }
  size_t i = s[0] == '-' ? 1 : 0;
  if (i >= s.size() || s[i] < '1' || s[i] > '9') return false;
  for (size_t j = i; j < s.size(); ++j) {
    if (s[j] < '0' || s[j] > '9') return false;
  }
  int64_t v = 0;
  if (!absl::SimpleAtoi(s, &v)) return false;
  *out = static_cast<long>(v);
  return true;
}

int Absolute(lua_State* L, int idx) { return idx < 0 ? lua_gettop(L) + idx + 1 : idx; }

void CatValue(std::string* s, lua_State* L, int idx, int level) {
  idx = Absolute(L, idx);
  const int t = lua_type(L, idx);
  if (level++ == kMaxValueDepth) {
    s->append("<max recursion level reached! Nested table?>");
    return;
  }
  switch (t) {
    case LUA_TSTRING: {
      size_t len;
      const char* p = lua_tolstring(L, idx, &len);
      s->append(QuoteRepr(std::string_view(p, len)));
      break;
    }
    case LUA_TBOOLEAN:
      s->append(lua_toboolean(L, idx) ? "true" : "false");
      break;
    case LUA_TNUMBER:
      s->append(absl::StrFormat("%g", static_cast<double>(lua_tonumber(L, idx))));
      break;
    case LUA_TNIL:
      s->append("nil");
      break;
    case LUA_TTABLE: {
      // Both forms at once (an array, a general table); the walk decides.
      int expected = 1;
      bool is_array = true;
      std::string as_array, as_table;
      lua_pushnil(L);
      while (lua_next(L, idx)) {
        if (is_array && (lua_type(L, -2) != LUA_TNUMBER || lua_tonumber(L, -2) != expected)) {
          is_array = false;
        }
        CatValue(&as_array, L, -1, level);
        as_array.append("; ");
        as_table.append("[");
        CatValue(&as_table, L, -2, level);
        as_table.append("]=");
        CatValue(&as_table, L, -1, level);
        as_table.append("; ");
        lua_pop(L, 1);
        ++expected;
      }
      if (!as_array.empty()) as_array.resize(as_array.size() - 2);
      if (!as_table.empty()) as_table.resize(as_table.size() - 2);
      absl::StrAppend(s, "{", is_array ? as_array : as_table, "}");
      break;
    }
    case LUA_TFUNCTION:
    case LUA_TUSERDATA:
    case LUA_TTHREAD:
    case LUA_TLIGHTUSERDATA: {
      const char* name = t == LUA_TFUNCTION   ? "function"
                         : t == LUA_TUSERDATA ? "userdata"
                         : t == LUA_TTHREAD   ? "thread"
                                              : "light-userdata";
      char buf[64];
      std::snprintf(buf, sizeof(buf), "\"%s@%p\"", name, lua_topointer(L, idx));
      s->append(buf);
      break;
    }
    default:
      s->append("\"<unknown-lua-type>\"");
  }
}

// One reply rendered (ldbRedisProtocolToHuman); returns where it ended. An
// unknown type byte renders nothing and consumes nothing, as in Redis.
size_t Human(std::string* o, std::string_view r, size_t p);

size_t LineEnd(std::string_view r, size_t p) {
  const size_t cr = r.find('\r', p);
  return cr == std::string_view::npos ? r.size() : cr;
}

size_t After(std::string_view r, size_t cr) { return std::min(r.size(), cr + 2); }

int64_t LineNumber(std::string_view r, size_t from, size_t to) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(std::string(r.substr(from, to - from)), &n)) return 0;
  return n;
}

size_t HumanItems(std::string* o, std::string_view r, size_t p, int64_t n, bool map) {
  for (int64_t j = 0; j < n && p < r.size(); ++j) {
    p = Human(o, r, p);
    if (map) {
      o->append(" => ");
      p = Human(o, r, p);
    }
    if (j != n - 1) o->append(",");
  }
  return p;
}

size_t Human(std::string* o, std::string_view r, size_t p) {
  if (p >= r.size()) return p;
  const size_t cr = LineEnd(r, p + 1);
  switch (r[p]) {
    case ':':
      o->append(r.substr(p + 1, cr - p - 1));
      return After(r, cr);
    case '$': {
      const int64_t len = LineNumber(r, p + 1, cr);
      if (len == -1) {
        o->append("NULL");
        return After(r, cr);
      }
      const size_t start = After(r, cr);
      const size_t n =
          std::min<size_t>(static_cast<size_t>(std::max<int64_t>(len, 0)), r.size() - start);
      o->append(QuoteRepr(r.substr(start, n)));
      return std::min(r.size(), start + n + 2);
    }
    case '+':
    case '-':
      o->append(QuoteRepr(r.substr(p, cr - p)));
      return After(r, cr);
    case '*': {
      const int64_t n = LineNumber(r, p + 1, cr);
      if (n == -1) {
        o->append("NULL");
        return After(r, cr);
      }
      o->append("[");
      const size_t end = HumanItems(o, r, After(r, cr), n, false);
      o->append("]");
      return end;
    }
    case '~': {
      o->append("~(");
      const size_t end = HumanItems(o, r, After(r, cr), LineNumber(r, p + 1, cr), false);
      o->append(")");
      return end;
    }
    case '%': {
      o->append("{");
      const size_t end = HumanItems(o, r, After(r, cr), LineNumber(r, p + 1, cr), true);
      o->append("}");
      return end;
    }
    case '_':
      o->append("(null)");
      return After(r, cr);
    case '#':
      o->append(p + 1 < r.size() && r[p + 1] == 't' ? "#true" : "#false");
      return After(r, cr);
    case ',':
      o->append("(double) ").append(r.substr(p + 1, cr - p - 1));
      return After(r, cr);
    default:
      return p;
  }
}

}  // namespace

std::string QuoteRepr(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
      case '"':
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      case '\a':
        out.append("\\a");
        break;
      case '\b':
        out.append("\\b");
        break;
      default:
        if (isprint(c)) {
          out.push_back(static_cast<char>(c));
        } else {
          out.append(absl::StrFormat("\\x%02x", static_cast<int>(c)));
        }
    }
  }
  out.push_back('"');
  return out;
}

bool ParseLdbCommand(const std::string& buf, std::vector<std::string>* argv, std::string* error) {
  // Redis's parser works on a NUL-terminated copy with strchr / strstr, so
  // an embedded NUL ends what it sees; so does c_str() here.
  argv->clear();
  error->clear();
  if (buf.empty()) return false;
  const char* copy = buf.c_str();
  const size_t size = buf.size();
  const char* p = std::strchr(copy, '*');
  if (p == nullptr) {
    *error = "protocol error";
    return false;
  }
  const char* count_at = p + 1;
  p = std::strstr(p, "\r\n");
  if (p == nullptr) return false;
  const int argc = std::atoi(std::string(count_at, p - count_at).c_str());
  p += 2;
  if (argc <= 0 || argc > 1024) {
    *error = "protocol error";
    return false;
  }
  while (static_cast<int>(argv->size()) < argc) {
    if (*p == '\0') {
      argv->clear();
      return false;
    }
    if (*p != '$') {
      argv->clear();
      *error = "protocol error";
      return false;
    }
    const char* len_at = p + 1;
    p = std::strstr(p, "\r\n");
    if (p == nullptr) {
      argv->clear();
      return false;
    }
    const int len = std::atoi(std::string(len_at, p - len_at).c_str());
    p += 2;
    if (len <= 0 || len > 1024) {
      argv->clear();
      *error = "protocol error";
      return false;
    }
    if (static_cast<size_t>(p + len + 2 - copy) > size) {
      argv->clear();
      return false;
    }
    argv->emplace_back(p, len);
    p += len;
    if (p[0] != '\r' || p[1] != '\n') {
      argv->clear();
      *error = "protocol error";
      return false;
    }
    p += 2;
  }
  return true;
}

std::string Ldb::DescribeValue(lua_State* L, int idx) {
  std::string s;
  CatValue(&s, L, idx, 0);
  return s;
}

std::string Ldb::DescribeReply(std::string_view reply) {
  std::string s;
  Human(&s, reply, 0);
  return s;
}

void Ldb::Enable() {
  logs_.clear();
  step_ = true;
  breakpoints_.clear();
  lua_break_ = false;
  cbuf_.clear();
  max_len_ = kDefaultMaxLen;
  max_len_hint_sent_ = false;
}

void Ldb::Start(std::string_view source, DebugChannel* channel, std::function<int64_t()> now_ms,
                int64_t time_limit_ms) {
  channel_ = channel;
  now_ms_ = std::move(now_ms);
  time_limit_ms_ = time_limit_ms;
  start_ms_ = now_ms_();
  active_ = true;
  while (!source.empty() && (source.back() == '\n' || source.back() == '\r')) {
    source.remove_suffix(1);
  }
  source_.clear();
  if (!source.empty()) {
    size_t from = 0;
    for (;;) {
      const size_t nl = source.find('\n', from);
      source_.emplace_back(source.substr(from, nl == std::string_view::npos ? nl : nl - from));
      if (nl == std::string_view::npos) break;
      from = nl + 1;
    }
  }
}

void Ldb::End() {
  Log("<endsession>");
  SendLogs();
  source_.clear();
  active_ = false;
  channel_ = nullptr;
}

void Ldb::Log(std::string entry) { logs_.push_back(std::move(entry)); }

void Ldb::LogWithMaxLen(std::string entry) {
  bool trimmed = false;
  if (max_len_ != 0 && entry.size() > max_len_) {
    entry.resize(max_len_);
    entry.append(" ...");
    trimmed = true;
  }
  Log(std::move(entry));
  if (trimmed && !max_len_hint_sent_) {
    max_len_hint_sent_ = true;
    Log("<hint> The above reply was trimmed. Use 'maxlen 0' to disable trimming.");
  }
}

void Ldb::LogCommand(const std::vector<std::string>& args) {
  std::string entry = "<redis>";
  for (size_t j = 0; j < args.size(); ++j) {
    if (j == 10) {
      // Redis counts one less than it leaves out.
      absl::StrAppend(&entry, " ... (", static_cast<int>(args.size() - j - 1), " more)");
      break;
    }
    absl::StrAppend(&entry, " ", args[j]);
  }
  Log(std::move(entry));
}

void Ldb::LogReply(std::string_view reply) { LogWithMaxLen("<reply> " + DescribeReply(reply)); }

void Ldb::SendLogs() {
  std::string proto = absl::StrCat("*", logs_.size(), "\r\n");
  for (std::string& entry : logs_) {
    for (char& c : entry) {
      if (c == '\r' || c == '\n') c = ' ';
    }
    absl::StrAppend(&proto, "+", entry, "\r\n");
  }
  logs_.clear();
  if (channel_ != nullptr) channel_->Write(proto);
}

std::string_view Ldb::SourceLine(int line) const {
  const int idx = line - 1;
  if (idx < 0 || idx >= static_cast<int>(source_.size())) {
    return "<out of range source code line>";
  }
  return source_[idx];
}

bool Ldb::IsBreakpoint(int line) const {
  for (int bp : breakpoints_) {
    if (bp == line) return true;
  }
  return false;
}

bool Ldb::AddBreakpoint(int line) {
  if (line <= 0 || line > static_cast<int>(source_.size())) return false;
  if (!IsBreakpoint(line) && breakpoints_.size() != kMaxBreakpoints) {
    breakpoints_.push_back(line);
    return true;
  }
  return false;
}

bool Ldb::DeleteBreakpoint(int line) {
  for (size_t j = 0; j < breakpoints_.size(); ++j) {
    if (breakpoints_[j] != line) continue;
    // Redis moves (count - j) *bytes* of the int array down, not ints: the
    // entries after the removed one come out as Redis leaves them.
    const size_t count = breakpoints_.size() - 1;
    std::memmove(breakpoints_.data() + j, breakpoints_.data() + j + 1, count - j);
    breakpoints_.resize(count);
    return true;
  }
  return false;
}

void Ldb::LogSourceLine(int line) {
  const bool bp = IsBreakpoint(line);
  const bool current = current_line_ == line;
  const char* prefix = current && bp ? "->#" : current ? "-> " : bp ? "  #" : "   ";
  Log(absl::StrFormat("%s%-3d %s", prefix, line, std::string(SourceLine(line))));
}

void Ldb::List(int around, int context) {
  for (int j = 1; j <= static_cast<int>(source_.size()); ++j) {
    if (around != 0 && std::abs(around - j) > context) continue;
    LogSourceLine(j);
  }
}

void Ldb::Print(lua_State* L, const std::string& name) {
  lua_Debug ar;
  for (int level = 0; lua_getstack(L, level, &ar) != 0; ++level) {
    for (int i = 1;; ++i) {
      const char* local = lua_getlocal(L, &ar, i);
      if (local == nullptr) break;
      if (std::strcmp(name.c_str(), local) == 0) {
        LogWithMaxLen("<value> " + DescribeValue(L, -1));
        lua_pop(L, 1);
        return;
      }
      lua_pop(L, 1);
    }
  }
  if (std::strcmp(name.c_str(), "ARGV") == 0 || std::strcmp(name.c_str(), "KEYS") == 0) {
    lua_getglobal(L, name.c_str());
    LogWithMaxLen("<value> " + DescribeValue(L, -1));
    lua_pop(L, 1);
  } else {
    Log("No such variable.");
  }
}

void Ldb::PrintAll(lua_State* L) {
  lua_Debug ar;
  int vars = 0;
  if (lua_getstack(L, 0, &ar) != 0) {
    for (int i = 1;; ++i) {
      const char* local = lua_getlocal(L, &ar, i);
      if (local == nullptr) break;
      if (std::strstr(local, "(*temporary)") == nullptr) {
        LogWithMaxLen(absl::StrCat("<value> ", local, " = ", DescribeValue(L, -1)));
        ++vars;
      }
      lua_pop(L, 1);
    }
  }
  if (vars == 0) Log("No local variables in the current context.");
}

void Ldb::Break(const std::vector<std::string>& argv) {
  if (argv.size() == 1) {
    if (breakpoints_.empty()) {
      Log("No breakpoints set. Use 'b <line>' to add one.");
      return;
    }
    Log(absl::StrCat(breakpoints_.size(), " breakpoints set:"));
    for (int bp : breakpoints_) LogSourceLine(bp);
    return;
  }
  for (size_t j = 1; j < argv.size(); ++j) {
    long line = 0;
    if (!StrictLong(argv[j], &line)) {
      // %s of a C string: an embedded NUL ends it.
      Log(absl::StrCat("Invalid argument:'", argv[j].c_str(), "'"));
    } else if (line == 0) {
      breakpoints_.clear();
      Log("All breakpoints removed.");
    } else if (line > 0) {
      if (breakpoints_.size() == kMaxBreakpoints) {
        Log("Too many breakpoints set.");
      } else if (AddBreakpoint(static_cast<int>(line))) {
        List(static_cast<int>(line), 1);
      } else {
        Log("Wrong line number.");
      }
    } else {
      Log(DeleteBreakpoint(static_cast<int>(-line)) ? "Breakpoint removed."
                                                    : "No breakpoint in the specified line.");
    }
  }
}

void Ldb::Eval(lua_State* L, const std::vector<std::string>& argv) {
  std::string code;
  for (size_t j = 1; j < argv.size(); ++j) {
    if (j > 1) code.push_back(' ');
    code.append(argv[j]);
  }
  const std::string expr = "return " + code;
  // An expression first ("return " prepended), then a statement.
  if (luaL_loadbuffer(L, expr.data(), expr.size(), "@ldb_eval") != 0) {
    lua_pop(L, 1);
    if (luaL_loadbuffer(L, code.data(), code.size(), "@ldb_eval") != 0) {
      Log(absl::StrCat("<error> ", lua_tostring(L, -1)));
      lua_pop(L, 1);
      return;
    }
  }
  if (lua_pcall(L, 0, 1, 0) != 0) {
    // An error table (redis.call's) has no text: show its err field.
    const char* msg = lua_tostring(L, -1);
    std::string text = msg != nullptr ? msg : "(null)";
    if (msg == nullptr && lua_istable(L, -1)) {
      lua_getfield(L, -1, "err");
      if (lua_isstring(L, -1)) text = lua_tostring(L, -1);
      lua_pop(L, 1);
    }
    Log("<error> " + text);
    lua_pop(L, 1);
    return;
  }
  LogWithMaxLen("<retval> " + DescribeValue(L, -1));
  lua_pop(L, 1);
}

void Ldb::Redis(lua_State* L, const std::vector<std::string>& argv) {
  const int argc = static_cast<int>(argv.size());
  if (!lua_checkstack(L, argc + 1)) {
    LogReply("max lua stack reached");
    return;
  }
  lua_getglobal(L, "redis");
  lua_pushstring(L, "call");
  lua_gettable(L, -2);
  for (int j = 1; j < argc; ++j) lua_pushlstring(L, argv[j].data(), argv[j].size());
  step_ = true;  // redis.call logs the command and its reply
  lua_pcall(L, argc - 1, 1, 0);
  step_ = false;
  lua_pop(L, 2);
}

void Ldb::Trace(lua_State* L) {
  lua_Debug ar;
  int level = 0;
  while (lua_getstack(L, level, &ar)) {
    lua_getinfo(L, "Snl", &ar);
    if (std::strstr(ar.short_src, "user_script") != nullptr) {
      Log(absl::StrCat(level == 0 ? "In" : "From", " ", ar.name ? ar.name : "top level", ":"));
      LogSourceLine(ar.currentline);
    }
    ++level;
  }
  if (level == 0) Log("<error> Can't retrieve Lua stack.");
}

void Ldb::MaxLen(const std::vector<std::string>& argv) {
  if (argv.size() == 2) {
    int value = std::atoi(argv[1].c_str());
    max_len_hint_sent_ = true;
    if (value != 0 && value <= 60) value = 60;
    max_len_ = static_cast<size_t>(value);
  }
  if (max_len_ != 0) {
    Log(absl::StrFormat("<value> replies are truncated at %d bytes.", static_cast<int>(max_len_)));
  } else {
    Log("<value> replies are unlimited.");
  }
}

bool Ldb::RunCommand(lua_State* L, std::vector<std::string>& argv, ReplOutcome* outcome) {
  const std::string& cmd = argv[0];
  const size_t argc = argv.size();
  if (Is(cmd, "h", "help")) {
    for (const char* line : kHelp) Log(line);
  } else if (Is(cmd, "s", "step") || Is(cmd, "n", "next")) {
    step_ = true;
    *outcome = ReplOutcome::kContinue;
    return true;
  } else if (Is(cmd, "c", "continue")) {
    *outcome = ReplOutcome::kContinue;
    return true;
  } else if (Is(cmd, "a", "abort")) {
    raise_ = "script aborted for user request";
    *outcome = ReplOutcome::kRaise;
    return true;
  } else if (Is(cmd, "t", "trace")) {
    Trace(L);
  } else if (Is(cmd, "m", "maxlen")) {
    MaxLen(argv);
  } else if (Is(cmd, "b", "break")) {
    Break(argv);
  } else if (Is(cmd, "e", "eval")) {
    Eval(L, argv);
  } else if (argc > 1 && Is(cmd, "r", "redis")) {
    Redis(L, argv);
  } else if (Is(cmd, "p", "print")) {
    if (argc == 2) {
      Print(L, argv[1]);
    } else {
      PrintAll(L);
    }
  } else if (Is(cmd, "l", "list")) {
    int around = current_line_;
    int context = 5;
    if (argc > 1) {
      const int num = std::atoi(argv[1].c_str());
      if (num > 0) around = num;
    }
    if (argc > 2) context = std::atoi(argv[2].c_str());
    List(around, context);
  } else if (Is(cmd, "w", "whole")) {
    List(1, 1000000);
  } else {
    Log("<error> Unknown Redis Lua debugger command or wrong number of arguments.");
  }
  SendLogs();
  return false;
}

Ldb::ReplOutcome Ldb::Repl(lua_State* L) {
  for (;;) {
    std::vector<std::string> argv;
    std::string error;
    while (!ParseLdbCommand(cbuf_, &argv, &error)) {
      if (!error.empty()) {
        raise_ = error;
        return ReplOutcome::kRaise;
      }
      char buf[1024];
      const long n = channel_ != nullptr ? channel_->Read(buf, sizeof(buf)) : 0;
      if (n <= 0) {
        // The client is gone: the script runs on without stopping.
        step_ = false;
        breakpoints_.clear();
        return ReplOutcome::kClientGone;
      }
      cbuf_.append(buf, static_cast<size_t>(n));
      if (cbuf_.size() > kMaxInput) {
        cbuf_.clear();
        raise_ = "max client buffer reached";
        return ReplOutcome::kRaise;
      }
    }
    // What followed the command in the buffer is dropped, as in Redis.
    cbuf_.clear();
    ReplOutcome outcome = ReplOutcome::kContinue;
    if (RunCommand(L, argv, &outcome)) return outcome;
  }
}

bool Ldb::OnHook(lua_State* L, lua_Debug* ar) {
  lua_getstack(L, 0, ar);
  lua_getinfo(L, "Sl", ar);
  current_line_ = ar->currentline;
  const bool bp = IsBreakpoint(current_line_) || lua_break_;
  bool timeout = false;
  // Events outside the script (the error handler, ldb's own eval) are not
  // stops.
  if (std::strstr(ar->short_src, "user_script") == nullptr) return false;
  if (ar->event == LUA_HOOKCOUNT && !step_ && !bp) {
    if (now_ms_() - start_ms_ < time_limit_ms_) return false;
    timeout = true;
    step_ = true;
  }
  if (!step_ && !bp) return false;
  const char* reason = bp        ? (lua_break_ ? "redis.breakpoint() called" : "break point")
                       : timeout ? "timeout reached, infinite loop?"
                                 : "step over";
  step_ = false;
  lua_break_ = false;
  Log(absl::StrFormat("* Stopped at %d, stop reason = %s", current_line_, reason));
  LogSourceLine(current_line_);
  SendLogs();
  const ReplOutcome outcome = Repl(L);
  if (outcome == ReplOutcome::kClientGone && timeout) {
    // Nobody will ever continue a script stopped in an endless loop.
    raise_ = "timeout during Lua debugging with client closing connection";
  } else if (outcome != ReplOutcome::kRaise) {
    start_ms_ = now_ms_();
    return false;
  }
  PushErrorTable(L, raise_);
  return true;
}

}  // namespace shardnode::node::lua
