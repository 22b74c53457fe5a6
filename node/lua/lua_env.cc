#include "node/lua/lua_env.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "node/lua/ldb.h"
#include "node/lua/rand48.h"
#include "node/resp/reply.h"

extern "C" {
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
int luaopen_cjson(lua_State* L);
int luaopen_bit(lua_State* L);
}

namespace shardnode::node::lua {

// Private access to LuaEnv for the C functions below.
struct LuaEnvAccess {
  static std::vector<std::string>& args(LuaEnv& e) { return e.call_args_; }
  static std::string& reply(LuaEnv& e) { return e.call_reply_; }
  static std::string& rejection(LuaEnv& e) { return e.call_rejection_; }
};

// Friends of LuaEnv (lua_env.h), defined with the functions engine below.
int RegisterFunction(lua_State* L);
void LoadHook(lua_State* L, lua_Debug* ar);

namespace {

// Registry keys (addresses of these bytes, as light userdata).
char kReadonlyKey;       // weak table: proxy -> the real table it stands for
char kRealGlobals;       // the real globals table
char kErrHandler;        // the error handler function
char kEnvKey;            // the LuaEnv
char kGlobalsProxy;      // the proxy standing for _G
char kGlobalsMeta;       // the readonly view of _G's metatable (getmetatable(_G))
char kStringMeta;        // the readonly view of the string metatable
char kGlobalsProxyMeta;  // the globals proxy's own metatable (its __index: where it reads)
char kLoadApi;           // functions VM: the globals a library sees while it loads

constexpr char kReadonlyError[] = "Attempt to modify a readonly table";

// The names the conversions look up or set on every table they see, and
// KEYS / ARGV: each VM interns them once, as the first registry references
// SetUp takes (slots 1, 2...), so that pushing one is an array read instead
// of hashing the name again (lua_pushstring).
enum FieldName {
  kFieldErr = 1,
  kFieldOk,
  kFieldDouble,
  kFieldBigNumber,
  kFieldVerbatim,
  kFieldMap,
  kFieldSet,
  kFieldKeys,
  kFieldArgv,
  kFieldLast = kFieldArgv,
};
constexpr const char* kFieldNames[] = {nullptr,           "err", "ok",  "double", "big_number",
                                       "verbatim_string", "map", "set", "KEYS",   "ARGV"};
static_assert(std::size(kFieldNames) == kFieldLast + 1);

void PushField(lua_State* L, FieldName f) { lua_rawgeti(L, LUA_REGISTRYINDEX, f); }

// redis.call's argument and reply buffers keep up to this much capacity
// between calls.
constexpr size_t kKeptBufferBytes = 16 * 1024;

LuaEnv* EnvOf(lua_State* L) {
  lua_pushlightuserdata(L, &kEnvKey);
  lua_rawget(L, LUA_REGISTRYINDEX);
  auto* env = static_cast<LuaEnv*>(lua_touserdata(L, -1));
  lua_pop(L, 1);
  return env;
}

// Raises `error` as Redis's luaError does: an error table.
int RaiseError(lua_State* L, const char* error) {
  PushErrorTable(L, error);
  return lua_error(L);
}

// --- The readonly proxies ---

// Pushes the real table behind the proxy at `idx`, or nothing and returns
// false when the value there is not a proxy.
bool PushReal(lua_State* L, int idx) {
  if (lua_type(L, idx) != LUA_TTABLE) return false;
  lua_pushlightuserdata(L, &kReadonlyKey);
  lua_rawget(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, idx > 0 || idx <= LUA_REGISTRYINDEX ? idx : idx - 1);
  lua_rawget(L, -2);
  lua_remove(L, -2);
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return false;
  }
  return true;
}

bool IsReadonly(lua_State* L, int idx) {
  if (!PushReal(L, idx)) return false;
  lua_pop(L, 1);
  return true;
}

// __newindex of every proxy: raised from a metamethod, so the message gets
// the script's position ("user_script:1: ...") as Redis's patched VM does.
int ProxyNewIndex(lua_State* L) { return luaL_error(L, kReadonlyError); }

int MissingGlobal(lua_State* L) {
  const char* name = lua_tostring(L, 2);
  return luaL_error(L, "Script attempted to access nonexistent global variable '%s'",
                    name ? name : "?");
}

// Pushes a new metatable whose __index raises MissingGlobal's error (the
// real globals', the load API's).
void PushMissingGlobalMeta(lua_State* L) {
  lua_newtable(L);
  lua_pushcfunction(L, MissingGlobal);
  lua_setfield(L, -2, "__index");
}

// __index of a table that raises on unknown names (the load-time `redis`):
// upvalue 1 is the real table.
int StrictIndex(lua_State* L) {
  lua_pushvalue(L, 2);
  lua_rawget(L, lua_upvalueindex(1));
  if (!lua_isnil(L, -1)) return 1;
  return MissingGlobal(L);
}

// Makes a proxy for the table at the top of the stack and replaces it there.
// `index`: the proxy's __index (nil: the real table itself).
void Proxify(lua_State* L, lua_CFunction index = nullptr) {
  const int real = lua_gettop(L);
  lua_newtable(L);  // the proxy
  const int proxy = real + 1;
  lua_newtable(L);  // its metatable
  if (index != nullptr) {
    lua_pushvalue(L, real);
    lua_pushcclosure(L, index, 1);
  } else {
    lua_pushvalue(L, real);
  }
  lua_setfield(L, -2, "__index");
  lua_pushcfunction(L, ProxyNewIndex);
  lua_setfield(L, -2, "__newindex");
  lua_setmetatable(L, proxy);
  // Remember proxy -> real.
  lua_pushlightuserdata(L, &kReadonlyKey);
  lua_rawget(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, proxy);
  lua_pushvalue(L, real);
  lua_rawset(L, -3);
  lua_pop(L, 1);
  lua_replace(L, real);
}

// Forwards to upvalue 1 with the same arguments, after refusing a proxy as
// first argument (setmetatable, rawset, table.insert...). Raised from a C
// function: no position prefix, as in Redis.
int RefuseReadonly(lua_State* L) {
  if (IsReadonly(L, 1)) {
    lua_pushstring(L, kReadonlyError);
    return lua_error(L);
  }
  const int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

// Forwards to upvalue 1 with a proxy first argument replaced by its real
// table (rawget, next, pairs: reading through the proxy).
int SeeThrough(lua_State* L) {
  if (lua_gettop(L) >= 1 && PushReal(L, 1)) lua_replace(L, 1);
  const int n = lua_gettop(L);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, n, LUA_MULTRET);
  return lua_gettop(L);
}

// getmetatable: _G's is a readonly view, the string metatable's too, a
// library proxy has none; others as usual (upvalue 1).
int GetMetatable(lua_State* L) {
  luaL_checkany(L, 1);
  if (lua_type(L, 1) == LUA_TTABLE) {
    lua_pushlightuserdata(L, &kGlobalsProxy);
    lua_rawget(L, LUA_REGISTRYINDEX);
    const bool globals = lua_rawequal(L, 1, -1);
    lua_pop(L, 1);
    if (globals) {
      lua_pushlightuserdata(L, &kGlobalsMeta);
      lua_rawget(L, LUA_REGISTRYINDEX);
      return 1;
    }
    if (IsReadonly(L, 1)) {
      lua_pushnil(L);
      return 1;
    }
  } else if (lua_type(L, 1) == LUA_TSTRING) {
    lua_pushlightuserdata(L, &kStringMeta);
    lua_rawget(L, LUA_REGISTRYINDEX);
    return 1;
  }
  lua_settop(L, 1);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_insert(L, 1);
  lua_call(L, 1, 1);
  return 1;
}

// Replaces field `name` of the table on top with `fn` closed over its
// previous value.
void Wrap(lua_State* L, const char* name, lua_CFunction fn) {
  lua_getfield(L, -1, name);
  lua_pushcclosure(L, fn, 1);
  lua_setfield(L, -2, name);
}

// --- Loading chunks: text only ---

// The message Redis's text-only loader gives for a binary chunk: the lexer
// stops at the ESC byte. The chunk id follows Lua 5.1's luaO_chunkid.
void PushBinaryChunkError(lua_State* L, const char* chunkname) {
  if (*chunkname == '=' || *chunkname == '@') {
    lua_pushfstring(L, "%s:1: unexpected symbol near 'char(27)'", chunkname + 1);
    return;
  }
  constexpr size_t kMax = 60 - sizeof(" [string \"...\"] ");
  size_t len = std::strcspn(chunkname, "\n\r");
  if (len > kMax) len = kMax;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "[string \"");
  luaL_addlstring(&b, chunkname, len);
  if (chunkname[len] != '\0') luaL_addstring(&b, "...");
  luaL_addstring(&b, "\"]:1: unexpected symbol near 'char(27)'");
  luaL_pushresult(&b);
}

// Loads `s` as Lua text (a binary chunk is refused with the error Lua's
// parser gives it): the function, or nil and the error, as loadstring does.
int LoadText(lua_State* L, const char* s, size_t len, const char* chunkname) {
  if (len > 0 && s[0] == '\033') {
    lua_pushnil(L);
    PushBinaryChunkError(L, chunkname);
    return 2;
  }
  if (luaL_loadbuffer(L, s, len, chunkname) == 0) return 1;
  lua_pushnil(L);
  lua_insert(L, -2);
  return 2;
}

int LoadString(lua_State* L) {
  size_t len;
  const char* s = luaL_checklstring(L, 1, &len);
  return LoadText(L, s, len, luaL_optstring(L, 2, s));
}

// load(func [, chunkname]): the pieces are gathered, then loaded as text.
int Load(lua_State* L) {
  luaL_checktype(L, 1, LUA_TFUNCTION);
  const char* chunkname = luaL_optstring(L, 2, "=(load)");
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  for (;;) {
    lua_pushvalue(L, 1);
    lua_call(L, 0, 1);
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      break;
    }
    if (!lua_isstring(L, -1)) return luaL_error(L, "reader function must return a string");
    if (lua_strlen(L, -1) == 0) {
      lua_pop(L, 1);
      break;
    }
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  size_t len;
  const char* s = lua_tolstring(L, -1, &len);
  return LoadText(L, s, len, chunkname);
}

// pcall as Redis replaces it: an error table becomes its `err` string.
int Pcall(lua_State* L) {
  const int argc = lua_gettop(L);
  luaL_checkany(L, 1);
  lua_pushboolean(L, 1);
  lua_insert(L, 1);
  if (lua_pcall(L, argc - 1, LUA_MULTRET, 0) != 0) {
    lua_remove(L, 1);
    if (lua_istable(L, -1)) {
      lua_getfield(L, -1, "err");
      if (lua_isstring(L, -1)) {
        lua_replace(L, -2);
      } else {
        lua_pop(L, 1);
      }
    }
    lua_pushboolean(L, 0);
    lua_insert(L, 1);
  }
  return lua_gettop(L);
}

// --- math.random with Redis's rand48 ---

int MathRandom(lua_State* L) {
  LuaEnv* env = EnvOf(L);
  if (env == nullptr || env->host() == nullptr) {
    return luaL_error(L, "math.random can only be called inside a script invocation");
  }
  const lua_Number r =
      static_cast<lua_Number>(Rand48Next() % kRand48Max) / static_cast<lua_Number>(kRand48Max);
  switch (lua_gettop(L)) {
    case 0:
      lua_pushnumber(L, r);
      break;
    case 1: {
      const int u = luaL_checkint(L, 1);
      luaL_argcheck(L, 1 <= u, 1, "interval is empty");
      lua_pushnumber(L, std::floor(r * u) + 1);
      break;
    }
    case 2: {
      const int l = luaL_checkint(L, 1);
      const int u = luaL_checkint(L, 2);
      luaL_argcheck(L, l <= u, 2, "interval is empty");
      lua_pushnumber(L, std::floor(r * (u - l + 1)) + l);
      break;
    }
    default:
      return luaL_error(L, "wrong number of arguments");
  }
  return 1;
}

int MathRandomSeed(lua_State* L) {
  LuaEnv* env = EnvOf(L);
  if (env == nullptr || env->host() == nullptr) {
    return luaL_error(L, "math.randomseed can only be called inside a script invocation");
  }
  Rand48Seed(luaL_checkint(L, 1));
  return 0;
}

// --- The redis table ---

int RedisGenericCall(lua_State* L, bool raise) {
  LuaEnv* env = EnvOf(L);
  if (env->host() == nullptr) {
    return RaiseError(L, "redis.call/pcall can only be called inside a script invocation");
  }
  const int argc = lua_gettop(L);
  if (argc == 0) {
    PushErrorTable(L, "Please specify at least one argument for this redis lib call");
    return raise ? lua_error(L) : 1;
  }
  bool bad_arg = false;
  bool rejected = false;
  std::string& reply = LuaEnvAccess::reply(*env);
  std::string& rejection = LuaEnvAccess::rejection(*env);
  {
    // The vector and its strings keep their capacity between calls.
    std::vector<std::string>& args = LuaEnvAccess::args(*env);
    args.resize(argc);
    for (int j = 1; j <= argc; ++j) {
      std::string& arg = args[j - 1];
      if (lua_type(L, j) == LUA_TNUMBER) {
        char buf[64];
        const int n = std::snprintf(buf, sizeof(buf), "%.17g", lua_tonumber(L, j));
        arg.assign(buf, n);
      } else {
        size_t len;
        const char* s = lua_tolstring(L, j, &len);
        if (s == nullptr) {
          bad_arg = true;
          break;
        }
        arg.assign(s, len);
      }
    }
    if (!bad_arg) {
      Ldb* ldb = env->ldb();
      if (ldb != nullptr && ldb->logging()) ldb->LogCommand(args);
      rejection.clear();
      reply.clear();
      env->host()->Call(args, env->resp(), &reply, &rejection);
      rejected = !rejection.empty();
    }
    // A big argument's buffer is not kept for the calls that follow.
    for (std::string& arg : args) {
      if (arg.capacity() > kKeptBufferBytes) std::string().swap(arg);
    }
  }
  lua_settop(L, 0);
  if (bad_arg) {
    PushErrorTable(L, "Lua redis lib command arguments must be strings or integers");
    return raise ? lua_error(L) : 1;
  }
  if (rejected) {
    PushErrorTable(L, rejection);
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "ignore_error_stats_update");
    return raise ? lua_error(L) : 1;
  }
  PushResp(L, reply);
  if (Ldb* ldb = env->ldb(); ldb != nullptr && ldb->logging()) ldb->LogReply(reply);
  const bool error = !reply.empty() && (reply[0] == '-' || reply[0] == '!');
  // Nor a big reply's (a C++ call, done before Lua may raise).
  if (reply.capacity() > kKeptBufferBytes) std::string().swap(reply);
  if (raise && error) return lua_error(L);
  return 1;
}

int RedisCall(lua_State* L) { return RedisGenericCall(L, true); }
int RedisPcall(lua_State* L) { return RedisGenericCall(L, false); }

int RedisSha1hex(lua_State* L) {
  if (lua_gettop(L) != 1) return RaiseError(L, "wrong number of arguments");
  size_t len = 0;
  const char* s = lua_tolstring(L, 1, &len);
  char digest[41];
  {
    const std::string hex = Sha1Hex(s == nullptr ? std::string_view() : std::string_view(s, len));
    std::memcpy(digest, hex.data(), 40);
  }
  digest[40] = '\0';
  lua_pushstring(L, digest);
  return 1;
}

int RedisErrorReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    PushErrorTable(L, "wrong number or type of arguments");
    return 1;
  }
  size_t len;
  const char* s = lua_tolstring(L, -1, &len);
  if (len > 0 && s[0] == '-') {
    PushErrorTable(L, std::string_view(s, len));
  } else {
    lua_pushliteral(L, "-");
    lua_pushvalue(L, 1);
    lua_concat(L, 2);
    PushErrorTable(L, std::string_view(lua_tostring(L, -1), lua_strlen(L, -1)));
  }
  return 1;
}

int RedisStatusReply(lua_State* L) {
  if (lua_gettop(L) != 1 || lua_type(L, -1) != LUA_TSTRING) {
    PushErrorTable(L, "wrong number or type of arguments");
    return 1;
  }
  lua_newtable(L);
  PushField(L, kFieldOk);
  lua_pushvalue(L, 1);
  lua_rawset(L, -3);
  return 1;
}

int RedisLog(lua_State* L) {
  const int argc = lua_gettop(L);
  if (argc < 2) return RaiseError(L, "redis.log() requires two arguments or more.");
  if (!lua_isnumber(L, 1)) return RaiseError(L, "First argument must be a number (log level).");
  const int level = static_cast<int>(lua_tonumber(L, 1));
  if (level < kLuaLogDebug || level > kLuaLogWarning) return RaiseError(L, "Invalid debug level.");
  LuaEnv* env = EnvOf(L);
  if (!env->log) return 0;
  // Glue the arguments with spaces (Lua strings first, so that no C++
  // object is alive if converting raised).
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  bool first = true;
  for (int j = 2; j <= argc; ++j) {
    if (!lua_isstring(L, j)) continue;
    if (!first) luaL_addchar(&b, ' ');
    first = false;
    lua_pushvalue(L, j);
    luaL_addvalue(&b);
  }
  luaL_pushresult(&b);
  size_t len;
  const char* text = lua_tolstring(L, -1, &len);
  env->log(level, std::string_view(text, len));
  return 0;
}

int RedisSetResp(lua_State* L) {
  LuaEnv* env = EnvOf(L);
  if (env->host() == nullptr) {
    return RaiseError(L, "redis.setresp can only be called inside a script invocation");
  }
  if (lua_gettop(L) != 1) return RaiseError(L, "redis.setresp() requires one argument.");
  const int resp = static_cast<int>(lua_tonumber(L, 1));
  if (resp != 2 && resp != 3) return RaiseError(L, "RESP version must be 2 or 3.");
  env->set_resp(resp);
  return 0;
}

int RedisSetRepl(lua_State* L) {
  LuaEnv* env = EnvOf(L);
  if (env->host() == nullptr) {
    return RaiseError(L, "redis.set_repl can only be called inside a script invocation");
  }
  if (lua_gettop(L) != 1) return RaiseError(L, "redis.set_repl() requires two arguments.");
  const int flags = static_cast<int>(lua_tonumber(L, -1));
  if ((flags & ~kReplAll) != 0) {
    return RaiseError(
        L, "Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.");
  }
  env->host()->SetRepl(flags);
  return 0;
}

int RedisAclCheckCmd(lua_State* L) {
  LuaEnv* env = EnvOf(L);
  if (env->host() == nullptr) {
    return RaiseError(L, "redis.acl_check_cmd can only be called inside a script invocation");
  }
  const int argc = lua_gettop(L);
  if (argc == 0) {
    return RaiseError(L, "Please specify at least one argument for this redis lib call");
  }
  bool bad_arg = false;
  bool known = false;
  bool allowed = false;
  {
    std::vector<std::string> args;
    for (int j = 1; j <= argc; ++j) {
      size_t len;
      const char* s = lua_tolstring(L, j, &len);
      if (s == nullptr) {
        bad_arg = true;
        break;
      }
      args.emplace_back(s, len);
    }
    if (!bad_arg) known = env->host()->AclCheck(args, &allowed);
  }
  if (bad_arg) return RaiseError(L, "Lua redis lib command arguments must be strings or integers");
  if (!known) return RaiseError(L, "Invalid command passed to redis.acl_check_cmd()");
  lua_pushboolean(L, allowed);
  return 1;
}

int RedisReplicateCommands(lua_State* L) {
  lua_pushboolean(L, 1);
  return 1;
}

// redis.breakpoint(): stops at the next line while a debugging session runs.
int RedisBreakpoint(lua_State* L) {
  Ldb* ldb = EnvOf(L)->ldb();
  const bool active = ldb != nullptr && ldb->active();
  if (active) ldb->RequestBreak();
  lua_pushboolean(L, active);
  return 1;
}

// redis.debug(...): logs its arguments to the debugging client.
int RedisDebug(lua_State* L) {
  Ldb* ldb = EnvOf(L)->ldb();
  if (ldb == nullptr || !ldb->active()) return 0;
  std::string entry = "<debug> line " + std::to_string(ldb->current_line()) + ": ";
  const int argc = lua_gettop(L);
  for (int j = 1; j <= argc; ++j) {
    entry += Ldb::DescribeValue(L, j);
    if (j != argc) entry += ", ";
  }
  ldb->Log(std::move(entry));
  return 0;
}

// The debugger's line and count hook (SCRIPT DEBUG).
void LdbHook(lua_State* L, lua_Debug* ar) {
  LuaEnv* env = EnvOf(L);
  if (env == nullptr || env->ldb() == nullptr) return;
  if (env->ldb()->OnHook(L, ar)) lua_error(L);
}

// The count hook: SCRIPT KILL. Once killed, it runs on every line so that a
// pcall loop cannot swallow the kill.
void Hook(lua_State* L, lua_Debug*) {
  LuaEnv* env = EnvOf(L);
  if (env == nullptr || env->host() == nullptr || !env->host()->ShouldKill()) return;
  lua_sethook(L, Hook, LUA_MASKLINE, 0);
  RaiseError(L, "Script killed by user with SCRIPT KILL...");
}

// The error handler of every run (Redis's __redis__err__handler): makes the
// error a table and adds where it was raised (skipping one C frame).
constexpr char kErrHandlerCode[] =
    "local dbg, rawset = ...\n"
    "return function(err)\n"
    "  local i = dbg.getinfo(2, 'nSl')\n"
    "  if i and i.what == 'C' then i = dbg.getinfo(3, 'nSl') end\n"
    "  if type(err) ~= 'table' then err = {err = 'ERR ' .. tostring(err)} end\n"
    "  if i then\n"
    "    rawset(err, 'source', i.source)\n"
    "    rawset(err, 'line', i.currentline)\n"
    "  end\n"
    "  return err\n"
    "end\n";

// Copies field `name` of the table at `idx` (raw) as a string into *out;
// false when it is not a string or number.
bool RawStringField(lua_State* L, int idx, const char* name, std::string* out) {
  if (idx < 0) idx = lua_gettop(L) + idx + 1;
  lua_pushstring(L, name);
  lua_rawget(L, idx);
  size_t len;
  const char* s = lua_isstring(L, -1) ? lua_tolstring(L, -1, &len) : nullptr;
  if (s != nullptr) out->assign(s, len);
  lua_pop(L, 1);
  return s != nullptr;
}

int64_t ToInteger(lua_Number n) {
  // (long long) of a double out of range is what x86 gives Redis: INT64_MIN.
  if (std::isnan(n) || n >= 9223372036854775808.0 || n < -9223372036854775808.0) {
    return std::numeric_limits<int64_t>::min();
  }
  return static_cast<int64_t>(n);
}

// --- RESP -> Lua ---

struct RespCursor {
  const char* p;
  const char* end;

  std::string_view Line() {
    const char* start = p;
    while (p + 1 < end && !(p[0] == '\r' && p[1] == '\n')) ++p;
    std::string_view line(start, p - start);
    p = p + 2 <= end ? p + 2 : end;
    return line;
  }
  int64_t Number() {
    const std::string_view l = Line();
    // Our own replies: an optional '-' and up to 18 digits cannot overflow;
    // anything else goes through strtoll.
    const bool negative = !l.empty() && l[0] == '-';
    const std::string_view digits = l.substr(negative ? 1 : 0);
    if (!digits.empty() && digits.size() <= 18) {
      int64_t v = 0;
      bool ok = true;
      for (char ch : digits) {
        if (ch < '0' || ch > '9') {
          ok = false;
          break;
        }
        v = v * 10 + (ch - '0');
      }
      if (ok) return negative ? -v : v;
    }
    return std::strtoll(std::string(l).c_str(), nullptr, 10);
  }
  std::string_view Bulk(int64_t len) {
    if (len < 0 || end - p < len) len = 0;
    std::string_view s(p, len);
    p += len;
    p = end - p >= 2 ? p + 2 : end;
    return s;
  }
};

void PushRespValue(lua_State* L, RespCursor& c);

void PushAggregate(lua_State* L, RespCursor& c, int64_t n) {
  lua_createtable(L, static_cast<int>(n > 0 && n < (1 << 20) ? n : 0), 0);
  for (int64_t i = 1; i <= n && c.p < c.end; ++i) {
    PushRespValue(L, c);
    lua_rawseti(L, -2, static_cast<int>(i));
  }
}

void PushRespValue(lua_State* L, RespCursor& c) {
  if (!lua_checkstack(L, 5)) {
    std::fprintf(stderr, "lua stack limit reach when parsing redis.call reply\n");
    std::abort();
  }
  if (c.p >= c.end) {
    lua_pushnil(L);
    return;
  }
  const char type = *c.p++;
  switch (type) {
    case ':':
      lua_pushnumber(L, static_cast<lua_Number>(c.Number()));
      return;
    case '$': {
      const int64_t len = c.Number();
      if (len < 0) {
        lua_pushboolean(L, 0);
        return;
      }
      const std::string_view s = c.Bulk(len);
      lua_pushlstring(L, s.data(), s.size());
      return;
    }
    case '+': {
      const std::string_view s = c.Line();
      lua_newtable(L);
      PushField(L, kFieldOk);
      lua_pushlstring(L, s.data(), s.size());
      lua_rawset(L, -3);
      return;
    }
    case '-':
    case '!': {
      std::string_view s = type == '-' ? c.Line() : c.Bulk(c.Number());
      lua_pushliteral(L, "-");
      lua_pushlstring(L, s.data(), s.size());
      lua_concat(L, 2);
      PushErrorTable(L, std::string_view(lua_tostring(L, -1), lua_strlen(L, -1)));
      lua_remove(L, -2);
      lua_pushboolean(L, 1);
      lua_setfield(L, -2, "ignore_error_stats_update");
      return;
    }
    case '*':
    case '>': {
      const int64_t n = c.Number();
      if (n < 0) {
        lua_pushboolean(L, 0);
        return;
      }
      PushAggregate(L, c, n);
      return;
    }
    case '_':
      c.Line();
      lua_pushnil(L);
      return;
    case '#':
      lua_pushboolean(L, c.Line() == "t");
      return;
    case ',': {
      const std::string_view s = c.Line();
      lua_newtable(L);
      lua_pushnumber(L, std::strtod(std::string(s).c_str(), nullptr));
      lua_setfield(L, -2, "double");
      return;
    }
    case '(': {
      const std::string_view s = c.Line();
      lua_newtable(L);
      lua_pushlstring(L, s.data(), s.size());
      lua_setfield(L, -2, "big_number");
      return;
    }
    case '=': {
      const std::string_view s = c.Bulk(c.Number());
      lua_newtable(L);
      lua_newtable(L);
      const size_t colon = s.size() >= 4 ? 3 : 0;
      lua_pushlstring(L, s.data(), colon);
      lua_setfield(L, -2, "format");
      const std::string_view text = colon ? s.substr(4) : s;
      lua_pushlstring(L, text.data(), text.size());
      lua_setfield(L, -2, "string");
      lua_setfield(L, -2, "verbatim_string");
      return;
    }
    case '%': {
      const int64_t n = c.Number();
      lua_newtable(L);
      lua_newtable(L);
      for (int64_t i = 0; i < n && c.p < c.end; ++i) {
        PushRespValue(L, c);
        PushRespValue(L, c);
        if (lua_isnil(L, -2)) {
          lua_pop(L, 2);
          continue;
        }
        lua_settable(L, -3);
      }
      lua_setfield(L, -2, "map");
      return;
    }
    case '~': {
      const int64_t n = c.Number();
      lua_newtable(L);
      lua_newtable(L);
      for (int64_t i = 0; i < n && c.p < c.end; ++i) {
        PushRespValue(L, c);
        if (lua_isnil(L, -1)) {
          lua_pop(L, 1);
          continue;
        }
        lua_pushboolean(L, 1);
        lua_settable(L, -3);
      }
      lua_setfield(L, -2, "set");
      return;
    }
    case '|': {
      // An attribute: read and dropped; the reply that follows is the value.
      const int64_t n = c.Number();
      for (int64_t i = 0; i < 2 * n && c.p < c.end; ++i) {
        PushRespValue(L, c);
        lua_pop(L, 1);
      }
      PushRespValue(L, c);
      return;
    }
    default:
      c.Line();
      lua_pushnil(L);
      return;
  }
}

}  // namespace

size_t PushResp(lua_State* L, std::string_view bytes) {
  RespCursor c{bytes.data(), bytes.data() + bytes.size()};
  PushRespValue(L, c);
  return static_cast<size_t>(c.p - bytes.data());
}

void PushErrorTable(lua_State* L, std::string_view error) {
  // While a debugging session steps, every error pushed is logged (Redis's
  // luaPushErrorBuff).
  if (LuaEnv* env = EnvOf(L); env != nullptr && env->ldb() != nullptr && env->ldb()->logging()) {
    env->ldb()->Log(std::string("<error> ").append(error));
  }
  // "-CODE msg" keeps its code; "-msg" without a space and plain "msg"
  // get ERR. Trailing CR/LF are trimmed (and leading ones, as sdstrim).
  std::string_view code = "ERR";
  std::string_view msg = error;
  if (!error.empty() && error[0] == '-') {
    const size_t space = error.find(' ');
    if (space == std::string_view::npos) {
      msg = error.substr(1);
    } else {
      code = error.substr(1, space - 1);
      msg = error.substr(space + 1);
    }
  }
  while (!msg.empty() && (msg.front() == '\r' || msg.front() == '\n')) msg.remove_prefix(1);
  while (!msg.empty() && (msg.back() == '\r' || msg.back() == '\n')) msg.remove_suffix(1);
  lua_newtable(L);
  PushField(L, kFieldErr);
  lua_pushlstring(L, code.data(), code.size());
  lua_pushliteral(L, " ");
  lua_pushlstring(L, msg.data(), msg.size());
  lua_concat(L, 3);
  lua_rawset(L, -3);
}

// --- Lua -> RESP ---

namespace {

// Appends an error reply that INFO errorstats must not count again: one
// that came from a command the script ran, counted when it failed (Redis's
// ignore_error_stats_update mark).
void UncountedError(resp::ReplyBuilder& out, std::string_view message) {
  std::function<void(std::string_view)> count = std::move(out.on_error);
  out.on_error = nullptr;
  out.Error(message);
  out.on_error = std::move(count);
}

// Whether the table at the top has the ignore_error_stats_update mark.
bool StatsCounted(lua_State* L) {
  lua_pushstring(L, "ignore_error_stats_update");
  lua_rawget(L, -2);
  const bool counted = lua_toboolean(L, -1);
  lua_pop(L, 1);
  return counted;
}

// Appends `s` with CR/LF made spaces (status and big number replies).
std::string NoNewlines(const char* s, size_t len) {
  std::string out(s, len);
  for (char& ch : out) {
    if (ch == '\r' || ch == '\n') ch = ' ';
  }
  return out;
}

// Looks up field `name` (raw) of the table at -1 and pushes it; returns
// its type.
int RawField(lua_State* L, const char* name) {
  lua_pushstring(L, name);
  lua_rawget(L, -2);
  return lua_type(L, -1);
}
int RawField(lua_State* L, FieldName name) {
  PushField(L, name);
  lua_rawget(L, -2);
  return lua_type(L, -1);
}

// The table on top of the stack as one of the single-value shapes ({err=},
// {ok=}, {double=}, {big_number=}, {verbatim_string=}): written and popped,
// true; else false with the stack as it was. Kept out of WriteLuaValue so the
// recursive frame stays small (nesting reaches the Lua stack limit, about
// 8000 levels, before the C stack ends, sanitizer builds included).
[[gnu::noinline]] bool WriteSingleValueTable(lua_State* L, resp::ReplyBuilder& out) {
  if (RawField(L, kFieldErr) == LUA_TSTRING) {
    size_t len;
    const char* s = lua_tolstring(L, -1, &len);
    lua_pop(L, 1);
    if (StatsCounted(L)) {
      UncountedError(out, std::string_view(s, len));
    } else {
      out.Error(std::string_view(s, len));
    }
    lua_pop(L, 1);
    return true;
  }
  lua_pop(L, 1);
  if (RawField(L, kFieldOk) == LUA_TSTRING) {
    size_t len;
    const char* s = lua_tolstring(L, -1, &len);
    out.SimpleString(NoNewlines(s, len));
    lua_pop(L, 2);
    return true;
  }
  lua_pop(L, 1);
  if (RawField(L, kFieldDouble) == LUA_TNUMBER) {
    out.Double(lua_tonumber(L, -1));
    lua_pop(L, 2);
    return true;
  }
  lua_pop(L, 1);
  if (RawField(L, kFieldBigNumber) == LUA_TSTRING) {
    size_t len;
    const char* s = lua_tolstring(L, -1, &len);
    const std::string digits = NoNewlines(s, len);
    if (out.protocol() >= 3) {
      out.Raw("(" + digits + "\r\n");
    } else {
      out.Bulk(digits);
    }
    lua_pop(L, 2);
    return true;
  }
  lua_pop(L, 1);
  if (RawField(L, kFieldVerbatim) == LUA_TTABLE) {
    if (RawField(L, "format") == LUA_TSTRING) {
      lua_pushstring(L, "string");
      lua_rawget(L, -3);
      if (lua_type(L, -1) == LUA_TSTRING) {
        size_t flen, slen;
        const char* f = lua_tolstring(L, -2, &flen);
        const char* s = lua_tolstring(L, -1, &slen);
        out.Verbatim(std::string_view(s, slen), std::string_view(f, flen));
        lua_pop(L, 4);
        return true;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
  return false;
}

[[gnu::noinline]] void WriteLuaString(lua_State* L, resp::ReplyBuilder& out) {
  size_t len;
  const char* s = lua_tolstring(L, -1, &len);
  out.Bulk(std::string_view(s, len));
}

}  // namespace

void WriteLuaValue(lua_State* L, resp::ReplyBuilder& out, int script_resp, ScriptHost& host) {
  if (!lua_checkstack(L, 4)) {
    out.Error(host.WordFailure({.kind = RunFailure::Kind::kStackLimit}));
    lua_pop(L, 1);
    return;
  }
  switch (lua_type(L, -1)) {
    case LUA_TSTRING:
      WriteLuaString(L, out);
      break;
    case LUA_TBOOLEAN:
      if (script_resp == 2) {
        if (lua_toboolean(L, -1)) {
          out.Integer(1);
        } else {
          out.NullBulk();
        }
      } else {
        out.Bool(lua_toboolean(L, -1));
      }
      break;
    case LUA_TNUMBER:
      out.Integer(ToInteger(lua_tonumber(L, -1)));
      break;
    case LUA_TTABLE: {
      if (WriteSingleValueTable(L, out)) return;
      if (RawField(L, kFieldMap) == LUA_TTABLE) {
        size_t n = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pop(L, 1);
          ++n;
        }
        out.MapHeader(n);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pushvalue(L, -2);
          WriteLuaValue(L, out, script_resp, host);  // the key
          WriteLuaValue(L, out, script_resp, host);  // the value
        }
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      if (RawField(L, kFieldSet) == LUA_TTABLE) {
        size_t n = 0;
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pop(L, 1);
          ++n;
        }
        out.SetHeader(n);
        lua_pushnil(L);
        while (lua_next(L, -2)) {
          lua_pop(L, 1);
          lua_pushvalue(L, -1);
          WriteLuaValue(L, out, script_resp, host);
        }
        lua_pop(L, 2);
        return;
      }
      lua_pop(L, 1);
      // An array: t[1], t[2]... up to the first nil.
      size_t n = 0;
      for (;;) {
        lua_rawgeti(L, -1, static_cast<int>(n + 1));
        const bool nil = lua_isnil(L, -1);
        lua_pop(L, 1);
        if (nil) break;
        ++n;
      }
      out.ArrayHeader(n);
      for (size_t j = 1; j <= n; ++j) {
        lua_rawgeti(L, -1, static_cast<int>(j));
        WriteLuaValue(L, out, script_resp, host);
      }
      break;
    }
    default:
      out.NullBulk();
  }
  lua_pop(L, 1);
}

// --- LuaEnv ---

void* LuaEnv::TakeSmall(size_t cls) {
  if (FreeBlock* b = free_[cls]) {
    free_[cls] = b->next;
    --free_count_[cls];
    return b;
  }
  return std::malloc((cls + 1) * kSmallStep);
}

void LuaEnv::GiveSmall(size_t cls, void* block) {
  if (free_count_[cls] >= kSmallKeep) {
    std::free(block);
    return;
  }
  auto* b = static_cast<FreeBlock*>(block);
  b->next = free_[cls];
  free_[cls] = b;
  ++free_count_[cls];
}

void* LuaEnv::Alloc(void* ud, void* ptr, size_t osize, size_t nsize) {
  auto* env = static_cast<LuaEnv*>(ud);
  // A size's class, or kSmallClasses for a block malloc holds as it is.
  auto class_of = [](size_t size) {
    return size == 0 || size > kSmallClasses * kSmallStep ? kSmallClasses : (size - 1) / kSmallStep;
  };
  const size_t ocls = ptr == nullptr ? kSmallClasses : class_of(osize);
  if (nsize == 0) {
    env->memory_ -= osize;
    if (ocls < kSmallClasses) {
      env->GiveSmall(ocls, ptr);
    } else {
      std::free(ptr);
    }
    return nullptr;
  }
  const size_t ncls = class_of(nsize);
  void* p = nullptr;
  if (ptr != nullptr && ocls == ncls && ncls < kSmallClasses) {
    p = ptr;  // the block has room for the new size
  } else if (ocls == kSmallClasses && ncls == kSmallClasses) {
    p = std::realloc(ptr, nsize);
  } else {
    // Into or out of a size class: a new block, the bytes moved over.
    p = ncls < kSmallClasses ? env->TakeSmall(ncls) : std::malloc(nsize);
    if (p == nullptr) return nullptr;
    if (ptr != nullptr) {
      std::memcpy(p, ptr, std::min(osize, nsize));
      if (ocls < kSmallClasses) {
        env->GiveSmall(ocls, ptr);
      } else {
        std::free(ptr);
      }
    }
  }
  if (p != nullptr) env->memory_ = env->memory_ - osize + nsize;
  return p;
}

LuaEnv::LuaEnv(VmKind kind) : kind_(kind) {
  L_ = lua_newstate(Alloc, this);
  SetUp();
}

LuaEnv::~LuaEnv() {
  if (L_ != nullptr) lua_close(L_);
  for (FreeBlock* b : free_) {
    while (b != nullptr) {
      FreeBlock* next = b->next;
      std::free(b);
      b = next;
    }
  }
}

namespace {

void OpenLib(lua_State* L, const char* name, lua_CFunction open) {
  lua_pushcfunction(L, open);
  lua_pushstring(L, name);
  lua_call(L, 1, 0);
}

void SetFunction(lua_State* L, const char* name, lua_CFunction fn) {
  lua_pushcfunction(L, fn);
  lua_setfield(L, -2, name);
}

void SetNumber(lua_State* L, const char* name, lua_Number n) {
  lua_pushnumber(L, n);
  lua_setfield(L, -2, name);
}

}  // namespace

void LuaEnv::SetUp() {
  lua_State* L = L_;
  // First: the interned field names take registry slots 1, 2...
  for (int f = 1; f <= kFieldLast; ++f) {
    lua_pushstring(L, kFieldNames[f]);
    if (luaL_ref(L, LUA_REGISTRYINDEX) != f) {
      std::fprintf(stderr, "lua: field name %s did not get registry slot %d\n", kFieldNames[f], f);
      std::abort();
    }
  }
  lua_pushlightuserdata(L, &kEnvKey);
  lua_pushlightuserdata(L, this);
  lua_rawset(L, LUA_REGISTRYINDEX);
  // proxy -> real, weak keys.
  lua_pushlightuserdata(L, &kReadonlyKey);
  lua_newtable(L);
  lua_newtable(L);
  lua_pushliteral(L, "k");
  lua_setfield(L, -2, "__mode");
  lua_setmetatable(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);

  OpenLib(L, "", luaopen_base);
  OpenLib(L, LUA_TABLIBNAME, luaopen_table);
  OpenLib(L, LUA_STRLIBNAME, luaopen_string);
  OpenLib(L, LUA_MATHLIBNAME, luaopen_math);
  OpenLib(L, LUA_DBLIBNAME, luaopen_debug);
  lua_pushcfunction(L, luaopen_cjson);
  lua_call(L, 0, 1);
  lua_setglobal(L, "cjson");
  lua_pushcfunction(L, OpenCmsgpack);
  lua_call(L, 0, 1);
  lua_setglobal(L, "cmsgpack");
  lua_pushcfunction(L, OpenStruct);
  lua_call(L, 0, 1);
  lua_setglobal(L, "struct");
  OpenLib(L, "bit", luaopen_bit);
  // luaopen_bit registers the global itself; make sure of it.
  lua_getglobal(L, "bit");
  const bool have_bit = lua_istable(L, -1);
  lua_pop(L, 1);
  if (!have_bit) {
    lua_pushcfunction(L, luaopen_bit);
    lua_call(L, 0, 1);
    lua_setglobal(L, "bit");
  }

  // The error handler, built while `debug` is still there.
  lua_pushlightuserdata(L, &kErrHandler);
  luaL_loadbuffer(L, kErrHandlerCode, sizeof(kErrHandlerCode) - 1, "@err_handler_def");
  lua_getglobal(L, "debug");
  lua_getglobal(L, "rawset");
  lua_call(L, 2, 1);
  lua_rawset(L, LUA_REGISTRYINDEX);

  // What Debian's redis-server 7.0.15 does not offer.
  for (const char* name : {"debug", "dofile", "loadfile", "print", "getfenv", "setfenv", "newproxy",
                           "module", "require", "package"}) {
    lua_pushnil(L);
    lua_setglobal(L, name);
  }

  // Replacements and wrappers in the base library.
  lua_pushvalue(L, LUA_GLOBALSINDEX);
  SetFunction(L, "pcall", Pcall);
  SetFunction(L, "loadstring", LoadString);
  SetFunction(L, "load", Load);
  Wrap(L, "setmetatable", RefuseReadonly);
  Wrap(L, "rawset", RefuseReadonly);
  Wrap(L, "getmetatable", GetMetatable);
  Wrap(L, "rawget", SeeThrough);
  Wrap(L, "next", SeeThrough);
  Wrap(L, "pairs", SeeThrough);
  lua_getfield(L, -1, "table");
  Wrap(L, "insert", RefuseReadonly);
  Wrap(L, "remove", RefuseReadonly);
  Wrap(L, "sort", RefuseReadonly);
  Wrap(L, "setn", RefuseReadonly);
  lua_pop(L, 1);
  lua_getfield(L, -1, "math");
  SetFunction(L, "random", MathRandom);
  SetFunction(L, "randomseed", MathRandomSeed);
  lua_pop(L, 1);

  // The redis table.
  lua_newtable(L);
  SetFunction(L, "call", RedisCall);
  SetFunction(L, "pcall", RedisPcall);
  SetFunction(L, "log", RedisLog);
  SetNumber(L, "LOG_DEBUG", kLuaLogDebug);
  SetNumber(L, "LOG_VERBOSE", kLuaLogVerbose);
  SetNumber(L, "LOG_NOTICE", kLuaLogNotice);
  SetNumber(L, "LOG_WARNING", kLuaLogWarning);
  SetNumber(L, "REDIS_VERSION_NUM", 0x0007000f);
  lua_pushliteral(L, "7.0.15");
  lua_setfield(L, -2, "REDIS_VERSION");
  SetFunction(L, "setresp", RedisSetResp);
  SetFunction(L, "sha1hex", RedisSha1hex);
  SetFunction(L, "error_reply", RedisErrorReply);
  SetFunction(L, "status_reply", RedisStatusReply);
  SetFunction(L, "set_repl", RedisSetRepl);
  SetNumber(L, "REPL_NONE", kReplNone);
  SetNumber(L, "REPL_AOF", kReplAof);
  SetNumber(L, "REPL_SLAVE", kReplReplica);
  SetNumber(L, "REPL_REPLICA", kReplReplica);
  SetNumber(L, "REPL_ALL", kReplAll);
  SetFunction(L, "acl_check_cmd", RedisAclCheckCmd);
  if (kind_ == VmKind::kEval) {
    SetFunction(L, "replicate_commands", RedisReplicateCommands);
    SetFunction(L, "breakpoint", RedisBreakpoint);
    SetFunction(L, "debug", RedisDebug);
  }
  lua_setfield(L, -2, "redis");

  if (kind_ == VmKind::kFunctions) {
    // The load API: globals holding only a `redis` with register_function,
    // log and the constants, both raising on unknown names.
    lua_pushlightuserdata(L, &kLoadApi);
    lua_newtable(L);
    PushMissingGlobalMeta(L);
    lua_setmetatable(L, -2);
    lua_newtable(L);
    lua_pushcfunction(L, RegisterFunction);
    lua_setfield(L, -2, "register_function");
    SetFunction(L, "log", RedisLog);
    SetNumber(L, "LOG_DEBUG", kLuaLogDebug);
    SetNumber(L, "LOG_VERBOSE", kLuaLogVerbose);
    SetNumber(L, "LOG_NOTICE", kLuaLogNotice);
    SetNumber(L, "LOG_WARNING", kLuaLogWarning);
    SetNumber(L, "REDIS_VERSION_NUM", 0x0007000f);
    lua_pushliteral(L, "7.0.15");
    lua_setfield(L, -2, "REDIS_VERSION");
    Proxify(L, StrictIndex);
    lua_setfield(L, -2, "redis");
    lua_rawset(L, LUA_REGISTRYINDEX);
  }

  // Every library table becomes a readonly proxy in the real globals.
  for (const char* name :
       {"redis", "string", "math", "table", "cjson", "bit", "cmsgpack", "struct", "coroutine"}) {
    lua_getfield(L, -1, name);
    if (lua_istable(L, -1)) {
      Proxify(L);
      lua_setfield(L, -2, name);
    } else {
      lua_pop(L, 1);
    }
  }
  // The string metatable: its __index goes to the proxy, and scripts see
  // it through a readonly view.
  lua_pushliteral(L, "");
  lua_getmetatable(L, -1);
  lua_getfield(L, -3, "string");
  lua_setfield(L, -2, "__index");
  lua_pushlightuserdata(L, &kStringMeta);
  lua_pushvalue(L, -2);
  Proxify(L);
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_pop(L, 2);

  // The globals: a proxy whose __index is the real globals table itself, so
  // that a global read is a table lookup in the VM (no C call); the real
  // table's own metatable raises on the names it lacks, as Redis's
  // luaSetErrorMetatable does for its _G. Scripts see the proxy's metatable
  // as Redis's: a readonly table whose __index raises.
  lua_pushlightuserdata(L, &kRealGlobals);
  lua_pushvalue(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, -1);
  Proxify(L);  // stack: real, proxy
  lua_pushlightuserdata(L, &kGlobalsProxyMeta);
  lua_getmetatable(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_pushvalue(L, -1);
  lua_setfield(L, -3, "_G");
  lua_pushlightuserdata(L, &kGlobalsProxy);
  lua_pushvalue(L, -2);
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_pushlightuserdata(L, &kGlobalsMeta);
  PushMissingGlobalMeta(L);
  Proxify(L);
  lua_rawset(L, LUA_REGISTRYINDEX);
  lua_replace(L, LUA_GLOBALSINDEX);  // chunks loaded from now on see the proxy
  // Last: from here on a non-raw read of a missing global raises.
  PushMissingGlobalMeta(L);
  lua_setmetatable(L, -2);
  lua_pop(L, 1);
  lua_gc(L, LUA_GCCOLLECT, 0);
}

CompileResult LuaEnv::Compile(std::string_view name, std::string_view code) {
  CompileResult r;
  if (!code.empty() && code[0] == '\033') {
    r.error = "user_script:1: unexpected symbol near 'char(27)'";
    return r;
  }
  if (luaL_loadbuffer(L_, code.data(), code.size(), "@user_script") != 0) {
    size_t len;
    const char* msg = lua_tolstring(L_, -1, &len);
    r.error.assign(msg ? msg : "", msg ? len : 0);
    lua_pop(L_, 1);
    return r;
  }
  lua_pushvalue(L_, -1);
  lua_setfield(L_, LUA_REGISTRYINDEX, std::string(name).c_str());
  r.ref = luaL_ref(L_, LUA_REGISTRYINDEX);
  r.ok = true;
  return r;
}

bool LuaEnv::Has(std::string_view name) const {
  lua_getfield(L_, LUA_REGISTRYINDEX, std::string(name).c_str());
  const bool found = lua_isfunction(L_, -1);
  lua_pop(L_, 1);
  return found;
}

namespace {

void SetGlobalArray(lua_State* L, FieldName name, std::span<const std::string> values) {
  lua_pushlightuserdata(L, &kRealGlobals);
  lua_rawget(L, LUA_REGISTRYINDEX);
  PushField(L, name);
  lua_createtable(L, static_cast<int>(values.size()), 0);
  for (size_t j = 0; j < values.size(); ++j) {
    lua_pushlstring(L, values[j].data(), values[j].size());
    lua_rawseti(L, -2, static_cast<int>(j + 1));
  }
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

}  // namespace

bool LuaEnv::Run(std::string_view name, std::string_view run_name,
                 std::span<const std::string> keys, std::span<const std::string> args,
                 ScriptHost& host, bool hook, resp::ReplyBuilder& out) {
  lua_State* L = L_;
  lua_pushlightuserdata(L, &kErrHandler);
  lua_rawget(L, LUA_REGISTRYINDEX);
  // Raw, and without a temporary string: the registry has no metatable.
  lua_pushlstring(L, name.data(), name.size());
  lua_rawget(L, LUA_REGISTRYINDEX);
  SetGlobalArray(L, kFieldKeys, keys);
  SetGlobalArray(L, kFieldArgv, args);
  return CallPushed(0, run_name, host, hook, out);
}

bool LuaEnv::Run(int ref, std::string_view run_name, std::span<const std::string> keys,
                 std::span<const std::string> args, ScriptHost& host, bool hook,
                 resp::ReplyBuilder& out) {
  lua_State* L = L_;
  lua_pushlightuserdata(L, &kErrHandler);
  lua_rawget(L, LUA_REGISTRYINDEX);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  SetGlobalArray(L, kFieldKeys, keys);
  SetGlobalArray(L, kFieldArgv, args);
  return CallPushed(0, run_name, host, hook, out);
}

namespace {

void PushArray(lua_State* L, std::span<const std::string> values) {
  lua_createtable(L, static_cast<int>(values.size()), 0);
  for (size_t j = 0; j < values.size(); ++j) {
    lua_pushlstring(L, values[j].data(), values[j].size());
    lua_rawseti(L, -2, static_cast<int>(j + 1));
  }
}

}  // namespace

bool LuaEnv::RunFunction(int ref, std::string_view run_name, std::span<const std::string> keys,
                         std::span<const std::string> args, ScriptHost& host, bool hook,
                         resp::ReplyBuilder& out) {
  lua_State* L = L_;
  lua_pushlightuserdata(L, &kErrHandler);
  lua_rawget(L, LUA_REGISTRYINDEX);
  lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
  PushArray(L, keys);
  PushArray(L, args);
  return CallPushed(2, run_name, host, hook, out);
}

bool LuaEnv::CallPushed(int nargs, std::string_view run_name, ScriptHost& host, bool hook,
                        resp::ReplyBuilder& out) {
  lua_State* L = L_;
  host_ = &host;
  resp_ = 2;
  const bool debugging = ldb_ != nullptr && ldb_->active();
  if (debugging) {
    lua_sethook(L, LdbHook, LUA_MASKLINE | LUA_MASKCOUNT, 100000);
  } else if (hook) {
    lua_sethook(L, Hook, LUA_MASKCOUNT, 100000);
  }
  const int err = lua_pcall(L, nargs, 1, -(nargs + 2));
  if (++gc_count_ == 50) {
    lua_gc(L, LUA_GCSTEP, 50);
    gc_count_ = 0;
  }
  bool failed = false;
  if (err != 0) {
    failed = true;
    RunFailure failure{.run_name = run_name};
    if (!lua_istable(L, -1)) {
      failure.kind = RunFailure::Kind::kRaisedValue;
      if (lua_isstring(L, -1)) {
        const char* msg = lua_tostring(L, -1);
        failure.message = std::string_view(msg, std::min<size_t>(std::strlen(msg), 100));
      }
      out.Error(host.WordFailure(failure));
    } else {
      failure.kind = RunFailure::Kind::kRaisedTable;
      std::string msg, source, line;
      if (RawStringField(L, -1, "err", &msg)) failure.message = msg;
      if (RawStringField(L, -1, "source", &source) && RawStringField(L, -1, "line", &line)) {
        failure.source = source;
        failure.line = line;
      }
      const std::string text = host.WordFailure(failure);
      if (StatsCounted(L)) {
        UncountedError(out, text);
      } else {
        out.Error(text);
      }
    }
    lua_pop(L, 1);
  } else {
    const uint64_t errors_before = out.errors();
    WriteLuaValue(L, out, resp_, host);
    failed = out.errors() != errors_before;
  }
  lua_pop(L, 1);  // the error handler
  if (hook || debugging) lua_sethook(L, nullptr, 0, 0);
  host_ = nullptr;
  return failed;
}

// --- Functions ---

namespace {

bool ValidFunctionName(const char* s, size_t len) {
  if (len == 0) return false;
  for (size_t i = 0; i < len; ++i) {
    const char c = s[i];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

bool EqualsNoCase(const char* a, const char* b) {
  for (; *a && *b; ++a, ++b) {
    char x = *a, y = *b;
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return *a == *b;
}

}  // namespace

// redis.register_function(name, callback) or redis.register_function{...}.
// Validation is Lua-only (it may raise); the C++ bookkeeping comes last.
int RegisterFunction(lua_State* L) {
  LuaEnv* env = EnvOf(L);
  if (env->loading_ == nullptr) {
    return RaiseError(L, "redis.register_function can only be called on FUNCTION LOAD command");
  }
  const int argc = lua_gettop(L);
  uint32_t flags = 0;
  int name_idx = 0, callback_idx = 0, description_idx = 0;
  if (argc == 1) {
    if (!lua_istable(L, 1)) {
      return RaiseError(L,
                        "calling redis.register_function with a single argument is only "
                        "applicable to Lua table (representing named arguments).");
    }
    lua_pushnil(L);
    while (lua_next(L, 1)) {
      // stack: ... key value
      if (lua_type(L, -2) != LUA_TSTRING) {
        return RaiseError(L, "named argument key given to redis.register_function is not a string");
      }
      const char* key = lua_tostring(L, -2);
      // The named values are kept at index 2, below the iteration pair;
      // what was kept there before moves up one.
      struct Named {
        const char* key;
        int type;
        const char* error;
        int* kept;
      };
      const Named named[] = {
          {"function_name", LUA_TSTRING,
           "function_name argument given to redis.register_function must be a string", &name_idx},
          {"description", LUA_TSTRING,
           "description argument given to redis.register_function must be a string",
           &description_idx},
          {"callback", LUA_TFUNCTION,
           "callback argument given to redis.register_function must be a function", &callback_idx},
      };
      const Named* match = nullptr;
      for (const Named& n : named) {
        if (EqualsNoCase(key, n.key)) match = &n;
      }
      if (match != nullptr) {
        if (lua_type(L, -1) != match->type) return RaiseError(L, match->error);
        lua_pushvalue(L, -1);
        lua_insert(L, 2);
        for (int* idx : {&name_idx, &description_idx, &callback_idx}) {
          if (*idx >= 2) ++*idx;
        }
        *match->kept = 2;
      } else if (EqualsNoCase(key, "flags")) {
        if (lua_type(L, -1) != LUA_TTABLE) {
          return RaiseError(L,
                            "flags argument to redis.register_function must be a table "
                            "representing function flags");
        }
        for (int j = 1;; ++j) {
          lua_rawgeti(L, -1, j);
          if (lua_isnil(L, -1)) {
            lua_pop(L, 1);
            break;
          }
          uint32_t f = 0;
          if (lua_type(L, -1) == LUA_TSTRING) {
            const char* flag = lua_tostring(L, -1);
            for (size_t i = 0; i < std::size(kFunctionFlagNames); ++i) {
              if (EqualsNoCase(flag, kFunctionFlagNames[i])) f = 1u << i;
            }
          }
          if (f == 0) return RaiseError(L, "unknown flag given");
          flags |= f;
          lua_pop(L, 1);
        }
      } else {
        return RaiseError(L, "unknown argument given to redis.register_function");
      }
      lua_pop(L, 1);  // the value; the key stays for lua_next
    }
    if (name_idx == 0)
      return RaiseError(L, "redis.register_function must get a function name argument");
    if (callback_idx == 0)
      return RaiseError(L, "redis.register_function must get a callback argument");
  } else if (argc == 2) {
    if (lua_type(L, 1) != LUA_TSTRING) {
      return RaiseError(L, "first argument to redis.register_function must be a string");
    }
    if (lua_type(L, 2) != LUA_TFUNCTION) {
      return RaiseError(L, "second argument to redis.register_function must be a function");
    }
    name_idx = 1;
    callback_idx = 2;
  } else {
    return RaiseError(L, "wrong number of arguments to redis.register_function");
  }
  size_t name_len;
  const char* name = lua_tolstring(L, name_idx, &name_len);
  if (!ValidFunctionName(name, name_len)) {
    return RaiseError(L,
                      "Library names can only contain letters, numbers, or underscores(_) and "
                      "must be at least one character long");
  }
  bool duplicate = false;
  for (const LibraryFunction& f : *env->loading_) {
    if (f.name == std::string_view(name, name_len)) duplicate = true;
  }
  if (duplicate) return RaiseError(L, "Function already exists in the library");
  lua_pushvalue(L, callback_idx);
  const int ref = luaL_ref(L, LUA_REGISTRYINDEX);
  {
    LibraryFunction f;
    f.name.assign(name, name_len);
    f.ref = ref;
    f.flags = flags;
    if (description_idx != 0) {
      size_t len;
      const char* d = lua_tolstring(L, description_idx, &len);
      f.has_description = true;
      f.description.assign(d, len);
    }
    env->loading_->push_back(std::move(f));
  }
  return 0;
}

namespace {

// Points the globals proxy's __index at the table the registry holds under
// `key` (the real globals, or the load API while a library loads).
void SetGlobalsSource(lua_State* L, char* key) {
  lua_pushlightuserdata(L, &kGlobalsProxyMeta);
  lua_rawget(L, LUA_REGISTRYINDEX);
  lua_pushliteral(L, "__index");
  lua_pushlightuserdata(L, key);
  lua_rawget(L, LUA_REGISTRYINDEX);
  lua_rawset(L, -3);
  lua_pop(L, 1);
}

}  // namespace

void LoadHook(lua_State* L, lua_Debug*) {
  LuaEnv* env = EnvOf(L);
  if (env->load_timed_out_ == nullptr || !(*env->load_timed_out_)()) return;
  RaiseError(L, "FUNCTION LOAD timeout");
}

bool LuaEnv::LoadLibrary(std::string_view code, const std::function<bool()>& timed_out,
                         std::vector<LibraryFunction>* functions, LoadFailure* failure) {
  lua_State* L = L_;
  functions->clear();
  if (!code.empty() && code[0] == '\033') {
    // What Lua's text loader says of the ESC that starts a binary chunk.
    *failure = {LoadFailure::Kind::kCompile, "user_function:1: unexpected symbol near 'char(27)'"};
    return false;
  }
  if (luaL_loadbuffer(L, code.data(), code.size(), "@user_function") != 0) {
    *failure = {LoadFailure::Kind::kCompile, std::string(lua_tostring(L, -1))};
    lua_pop(L, 1);
    return false;
  }
  // The library's top level sees the load API as its globals.
  SetGlobalsSource(L, &kLoadApi);
  loading_ = functions;
  load_timed_out_ = &timed_out;
  lua_sethook(L, LoadHook, LUA_MASKCOUNT, 100000);
  const int err = lua_pcall(L, 0, 0, 0);
  lua_sethook(L, nullptr, 0, 0);
  loading_ = nullptr;
  load_timed_out_ = nullptr;
  SetGlobalsSource(L, &kRealGlobals);
  if (err != 0) {
    std::string msg;
    if (lua_istable(L, -1)) {
      *failure = {LoadFailure::Kind::kRaisedTable, std::nullopt};
      if (RawStringField(L, -1, "err", &msg)) failure->message = std::move(msg);
    } else {
      *failure = {LoadFailure::Kind::kRaisedValue, std::nullopt};
      if (lua_isstring(L, -1)) failure->message = std::string(lua_tostring(L, -1));
    }
    lua_pop(L, 1);
  } else if (functions->empty()) {
    *failure = {LoadFailure::Kind::kNoFunctions, std::nullopt};
  } else {
    return true;
  }
  for (const LibraryFunction& f : *functions) Release(f.ref);
  functions->clear();
  return false;
}

void LuaEnv::Release(int ref) { luaL_unref(L_, LUA_REGISTRYINDEX, ref); }

}  // namespace shardnode::node::lua
