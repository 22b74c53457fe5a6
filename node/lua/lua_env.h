// LuaEnv: one Lua 5.1 VM set up as Redis 7.0.15 sets up its EVAL VM (or,
// with VmKind::kFunctions, its functions VM): the libraries (base, table,
// string, math, cjson and bit from Debian's packages, our cmsgpack and
// struct), the `redis` table, the sandbox and the conversions between RESP
// replies and Lua values.
//
// Pure in the sense of ARCHITECTURE.md: no sockets, clock or threads. What a
// script asks of the node (redis.call, redis.log, the busy-script hook) goes
// through the ScriptHost given to Run; the conversions work on RESP bytes.
//
// The sandbox without a patched Lua (Debian's liblua5.1 is stock): the
// globals table and every library table are replaced by empty *proxies*
// whose metatables read through to the real tables (their __index is the
// real table: a read is a table lookup in the VM, no C call) and raise
// "Attempt to modify a readonly table" on stores; reading a missing global
// raises "Script attempted to access nonexistent global variable '<name>'"
// from the real globals' own metatable, as Redis's _G does.
// rawset, setmetatable, getmetatable, rawget, next, pairs and table.insert /
// remove / sort / setn see through or refuse proxies; load and loadstring
// refuse binary chunks; getfenv, setfenv, newproxy, dofile, loadfile and
// print are gone (as in Debian's redis-server 7.0.15).
//
// Errors raised from our C functions never unwind C++ frames that own
// objects: each C function finishes its C++ work in an inner scope before it
// calls lua_error (Lua 5.1 uses longjmp).
//
// Loop: the loop that runs scripts (the control loop). Not thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

struct lua_State;
struct lua_Debug;

namespace shardnode::resp {
class ReplyBuilder;
}

namespace shardnode::node::lua {

class Ldb;

// Log levels of redis.log, as Redis numbers them.
enum LuaLogLevel { kLuaLogDebug = 0, kLuaLogVerbose = 1, kLuaLogNotice = 2, kLuaLogWarning = 3 };
// redis.set_repl flags.
enum LuaReplFlags { kReplNone = 0, kReplAof = 1, kReplReplica = 2, kReplAll = 3 };

// How a run failed, as an outcome: node/lua writes no client error texts
// (issue 9: node/commands/errors.h holds them), so the ScriptHost words each
// failure and the env sends that as the run's error reply.
struct RunFailure {
  enum class Kind {
    kStackLimit,   // the script's reply nests deeper than the Lua stack allows
    kRaisedValue,  // the script raised a value that is not an error table
    kRaisedTable,  // the script raised an error table
  };
  Kind kind = Kind::kStackLimit;
  std::string_view run_name;  // what errors name: the sha, or the function's name
  // kRaisedValue: Lua's text, at most 100 bytes; absent when the value is
  // not a string. kRaisedTable: the table's `err`; absent when it has none.
  std::optional<std::string_view> message;
  // kRaisedTable: where the error was raised, when known.
  std::optional<std::string_view> source;
  std::optional<std::string_view> line;
};

// Why LoadLibrary failed, as an outcome (worded by its owner, as RunFailure).
struct LoadFailure {
  enum class Kind {
    kCompile,      // the code does not compile: `message` is Lua's compiler message
    kRaisedValue,  // running the code raised a value that is not an error table:
                   // `message` is its text, absent when it is not a string
    kRaisedTable,  // running the code raised an error table: `message` is its
                   // `err`, absent when it has none
    kNoFunctions,  // the code registered no function
  };
  Kind kind = Kind::kCompile;
  std::optional<std::string> message;
};

// What a running script asks of the node. Called only during Run.
class ScriptHost {
 public:
  virtual ~ScriptHost() = default;

  // redis.call / redis.pcall with `args` (REQUIRES: non-empty), the script
  // client speaking RESP `resp` (2 or 3). Sets *reply (given empty) to the
  // command's reply as RESP bytes (one complete reply, an error reply
  // included), or sets *rejection (given empty) to the error when the
  // script may not run it (unknown command, arity, no-script, read-only
  // script, cluster rules...), in Redis's luaPushError form: "-CODE msg" or
  // "msg" (then the code is ERR). Both buffers are reused between calls.
  virtual void Call(std::vector<std::string>& args, int resp, std::string* reply,
                    std::string* rejection) = 0;
  // redis.set_repl(flags) (0..3).
  virtual void SetRepl(int flags) = 0;
  // redis.acl_check_cmd: false when args[0] names no command (the script
  // then gets Redis's error); *allowed says whether the caller may run it.
  virtual bool AclCheck(std::vector<std::string>& args, bool* allowed) = 0;
  // Called every 100000 VM instructions while a hook is set: true kills the
  // script (SCRIPT KILL / FUNCTION KILL).
  virtual bool ShouldKill() = 0;
  // The error reply (without the leading '-') for a run's failure.
  virtual std::string WordFailure(const RunFailure& failure) = 0;
};

// Which of Redis's two VMs: EVAL's, or the functions engine's (FUNCTION LOAD
// / FCALL), whose globals at load time hold only the library API.
enum class VmKind { kEval, kFunctions };

// Function flags as redis.register_function reads them (case-insensitive),
// bit i for kFunctionFlagNames[i]: the same bits as script::ScriptFlag.
inline constexpr const char* kFunctionFlagNames[] = {"no-writes", "allow-oom", "allow-stale",
                                                     "no-cluster", "allow-cross-slot-keys"};

// One function a library registered.
struct LibraryFunction {
  std::string name;
  int ref = 0;  // its callback in the VM's registry (Release when dropped)
  uint32_t flags = 0;
  bool has_description = false;
  std::string description;
};

// The outcome of Compile.
struct CompileResult {
  bool ok = false;
  std::string error;  // Lua's message ("user_script:1: unexpected symbol near '<eof>'")
  int ref = 0;        // ok: a registry reference to the function, for Run by reference
};

class LuaEnv {
 public:
  // Creates the VM and its sandbox.
  explicit LuaEnv(VmKind kind = VmKind::kEval);
  ~LuaEnv();
  LuaEnv(const LuaEnv&) = delete;
  LuaEnv& operator=(const LuaEnv&) = delete;

  // Compiles `code` as chunk "@user_script" and stores it under `name`
  // (f_<sha>) in the registry. A chunk starting with ESC (bytecode) fails
  // as Redis's text-only loader does.
  CompileResult Compile(std::string_view name, std::string_view code);
  // Whether `name` was compiled.
  bool Has(std::string_view name) const;

  // Runs compiled function `name` (REQUIRES: Has(name)) with the globals
  // KEYS and ARGV set, and appends its reply (or error) to `out`, the
  // caller's reply in the caller's protocol. `run_name` is what errors name
  // (the sha). `hook`: install the 100000-instruction hook (busy scripts).
  // Returns true when the script ended with an error reply.
  bool Run(std::string_view name, std::string_view run_name, std::span<const std::string> keys,
           std::span<const std::string> args, ScriptHost& host, bool hook, resp::ReplyBuilder& out);
  // The same, for the function Compile returned as `ref` (no name lookup).
  bool Run(int ref, std::string_view run_name, std::span<const std::string> keys,
           std::span<const std::string> args, ScriptHost& host, bool hook, resp::ReplyBuilder& out);

  // redis.log's output (level 0..3, the text); the owner filters by
  // verbosity. Unset: dropped. redis.log also works outside a run.
  std::function<void(int level, std::string_view message)> log;

  // FUNCTION LOAD (kFunctions only): runs library `code` (the text after
  // the metadata line, its '\n' kept) as chunk "@user_function" with the
  // load-time globals, collecting its redis.register_function calls into
  // *functions. `timed_out` is asked every 100000 instructions (the load's
  // time budget). On failure returns false with *failure set, nothing
  // registered.
  bool LoadLibrary(std::string_view code, const std::function<bool()>& timed_out,
                   std::vector<LibraryFunction>* functions, LoadFailure* failure);
  // Drops a registered callback.
  void Release(int ref);
  // FCALL: runs callback `ref` with (keys, args) tables; as Run otherwise
  // (`run_name`: the function's name, for errors).
  bool RunFunction(int ref, std::string_view run_name, std::span<const std::string> keys,
                   std::span<const std::string> args, ScriptHost& host, bool hook,
                   resp::ReplyBuilder& out);

  // Bytes the VM holds (INFO used_memory_lua).
  size_t memory() const { return memory_; }
  lua_State* state() { return L_; }

  // SCRIPT DEBUG: while set (REQUIRES: it outlives the setting), runs use
  // the debugger's line hook instead of the busy-script hook, and
  // redis.call, redis.debug and redis.breakpoint talk to it (ldb.h).
  void set_ldb(Ldb* ldb) { ldb_ = ldb; }
  Ldb* ldb() const { return ldb_; }

  // The currently running env's host, or null outside a run.
  ScriptHost* host() const { return host_; }
  int resp() const { return resp_; }
  void set_resp(int resp) { resp_ = resp; }

 private:
  static void* Alloc(void* ud, void* ptr, size_t osize, size_t nsize);
  // Small blocks (a script's garbage: its strings, tables and their parts)
  // go back to per-size free lists rather than to malloc, and new ones come
  // from there first: class c holds blocks of (c + 1) * kSmallStep bytes,
  // each list keeps up to kSmallKeep of them. A block's class follows from
  // the size Lua gives with it (Lua 5.1 passes every block's exact size).
  static constexpr size_t kSmallStep = 16;
  static constexpr size_t kSmallClasses = 8;  // up to 128 bytes
  static constexpr uint32_t kSmallKeep = 4096;
  struct FreeBlock {
    FreeBlock* next;
  };
  void* TakeSmall(size_t cls);
  void GiveSmall(size_t cls, void* block);
  void SetUp();
  // Calls the function under the error handler (both pushed, then `nargs`
  // arguments) and writes the reply.
  bool CallPushed(int nargs, std::string_view run_name, ScriptHost& host, bool hook,
                  resp::ReplyBuilder& out);

  VmKind kind_;
  // During LoadLibrary: where register_function adds.
  std::vector<LibraryFunction>* loading_ = nullptr;
  const std::function<bool()>* load_timed_out_ = nullptr;

  lua_State* L_ = nullptr;
  size_t memory_ = 0;  // the bytes Lua asked for, not what the free lists keep
  FreeBlock* free_[kSmallClasses] = {};
  uint32_t free_count_[kSmallClasses] = {};
  ScriptHost* host_ = nullptr;
  Ldb* ldb_ = nullptr;
  int resp_ = 2;
  int gc_count_ = 0;
  // redis.call's arguments and reply, kept here so that no C++ object
  // lives on the C stack while Lua may raise (longjmp), and reused between
  // calls (no allocation per call once their capacity fits).
  std::vector<std::string> call_args_;
  std::string call_reply_;
  std::string call_rejection_;
  friend struct LuaEnvAccess;
  friend int RegisterFunction(lua_State* L);
  friend void LoadHook(lua_State* L, ::lua_Debug* ar);
};

// --- Conversions (exposed for tests; REQUIRES: a LuaEnv's state) ---

// Pushes the Lua value of one RESP reply (redis.call's result): integer ->
// number, bulk -> string, null -> false (RESP2) or nil (RESP3 null), status
// -> {ok=...}, error -> {err=...} (Redis's luaPushErrorBuff rules), array ->
// table, and the RESP3 types as the spec's section 4 says. `bytes` must
// hold one complete, well-formed reply (our own). Returns bytes consumed.
size_t PushResp(lua_State* L, std::string_view bytes);

// Pushes the error table Redis's luaPushError builds from `error` ("-CODE
// msg" or "msg").
void PushErrorTable(lua_State* L, std::string_view error);

// Appends the reply for the Lua value on top of the stack (and pops it):
// the spec's section 5. `script_resp` is the script's RESP (redis.setresp),
// which decides how booleans are sent; `host` words a failure.
void WriteLuaValue(lua_State* L, resp::ReplyBuilder& out, int script_resp, ScriptHost& host);

// Push the cmsgpack and struct library tables (cmsgpack.cc, struct.cc).
int OpenCmsgpack(lua_State* L);
int OpenStruct(lua_State* L);

// Lower-case hex SHA1 of `data` (40 chars).
std::string Sha1Hex(std::string_view data);

}  // namespace shardnode::node::lua
