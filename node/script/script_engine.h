// ScriptEngine: EVAL / EVALSHA / EVAL_RO / EVALSHA_RO and SCRIPT, as Redis
// 7.0.15 runs them: the script cache (sha -> body and shebang flags), the
// checks before a run (flags, read-only commands, cluster), the run itself
// in the EVAL VM (lua_env.h), and every redis.call made meanwhile: the
// script-specific checks (unknown command, arity, no-script commands,
// writes from read-only scripts, cluster slots), then the command through
// the dispatcher as the script's own client. The script's writes go to the
// write stream inside the caller's execution unit, so replicas receive them
// as one MULTI/EXEC (effects replication, Redis 7's only mode).
//
// Busy scripts: a run longer than busy-reply-threshold becomes "timed out":
// the engine then serves the event loop from the Lua hook (process_events),
// other clients get -BUSY (NodeServices::busy_script_error(), checked by the
// dispatcher) and SCRIPT KILL may stop a script that has not written.
//
// SCRIPT DEBUG (Redis's LDB, node/lua/ldb.h): after SCRIPT DEBUG SYNC the
// client's next EVAL runs under the debugger, which takes its connection
// over (blocking the node, as Redis's sync mode does), and the connection
// closes after the EVAL's reply. SCRIPT DEBUG YES runs the same way but
// rolls the script's writes back when the session ends, where Redis forks
// a child whose changes vanish: the script's writes are neither propagated
// nor kept (its keys are saved before their first write and put back), and
// writes whose keys cannot be saved that way (keyless writes, MOVE, COPY
// ... DB, SWAPDB) are refused in such a session.
//
// Loop: the control loop (scripts run on the loop that runs commands).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "clusterbus/slot_table.h"
#include "node/commands/command.h"
#include "node/lua/ldb.h"
#include "node/lua/lua_env.h"
#include "node/server/server.h"
#include "node/server/session.h"

namespace shardnode::node {
class Server;
class Dispatcher;
}  // namespace shardnode::node

namespace shardnode::node::script {

using lua::CompileResult;
using lua::kReplAll;
using lua::kReplReplica;
using lua::LuaEnv;
using lua::ScriptHost;
using lua::Sha1Hex;

class ScriptEngine final : public ScriptHost {
 public:
  // REQUIRES: `server` and `dispatcher` outlive the engine.
  ScriptEngine(Server& server, Dispatcher& dispatcher);
  ~ScriptEngine() override;

  // EVAL family: `sha`: EVALSHA; `ro`: the _RO forms.
  void Eval(CommandContext& ctx, Args args, bool sha, bool ro);
  // SCRIPT LOAD / EXISTS / FLUSH / KILL / HELP (args[1] is the subcommand).
  void ScriptCommand(CommandContext& ctx, Args args);
  // FCALL / FCALL_RO.
  void Fcall(CommandContext& ctx, Args args, bool ro);
  // FUNCTION LOAD / DELETE / FLUSH / LIST / STATS / KILL / HELP.
  void FunctionCommand(CommandContext& ctx, Args args);

  // What the script command `args` (EVAL, EVALSHA, FCALL and their _RO
  // forms) declares, as Redis recomputes its flags before routing or pausing
  // it: a script with a shebang, or a function, is a write unless it
  // declares no-writes. EVAL without a shebang, an unknown sha or function,
  // and a bad shebang keep the command's own flags (kUndeclared).
  ScriptWrites DeclaredWrites(std::span<const std::string> args) const;
  // Whether a script is running now.
  bool running() const { return run_ != nullptr; }
  // INFO memory figures.
  size_t lua_memory() const;
  size_t scripts_memory() const { return scripts_memory_; }
  size_t cached_scripts() const { return scripts_.size(); }
  size_t functions_memory() const;
  // INFO memory's scripting lines, as Redis 7.0.15 names them.
  std::string MemoryInfo() const;

  // Function libraries in RDB files (NodeServices' hooks): every library's
  // code; loading one (no time limit; false with *error, as FUNCTION LOAD
  // words it, when it does not load or already exists); dropping all.
  std::vector<std::string> LibraryCodes() const;
  bool LoadLibraryFromRdb(std::string_view code, bool replace, std::string* error);
  void FlushLibraries();
  size_t libraries() const { return libraries_.size(); }
  size_t functions() const { return functions_.size(); }

  // Serves the event loop once without blocking (installed by the wiring:
  // io_context::poll). Called from the Lua hook while a script is timed out.
  std::function<void()> process_events;
  // Whether the node is stopping (SHUTDOWN NOSAVE served meanwhile): the
  // running script is then aborted, written or not, so that the node stops.
  std::function<bool()> stopping;
  // How many stop signals (SIGTERM, SIGINT) arrived so far: one arriving
  // while a debugging session waits for its client lets the script run on,
  // as Redis's read interrupted by the signal does.
  std::function<uint64_t()> stop_signals;

  // ScriptHost.
  void Call(std::vector<std::string>& args, int resp, std::string* reply,
            std::string* rejection) override;
  void SetRepl(int flags) override;
  bool AclCheck(std::vector<std::string>& args, bool* allowed) override;
  bool ShouldKill() override;
  std::string WordFailure(const lua::RunFailure& failure) override;

 private:
  struct Cached {
    std::string body;
    uint32_t flags = 0;
    int ref = 0;  // the compiled function in the EVAL VM's registry
  };
  // The state of the run in progress.
  struct Run;
  // A function library (FUNCTION LOAD).
  struct Library {
    std::string name;
    std::string code;  // the whole code, metadata line included
    std::vector<lua::LibraryFunction> functions;
  };
  struct FunctionRef {
    Library* library = nullptr;
    size_t index = 0;  // in library->functions
  };

  // redis.call's command lookup (CommandTable::Find) through
  // command_cache_.
  const CommandSpec* FindCommand(std::string_view name);
  // redis.call's checks (unknown command, arity, no-script, read-only
  // runs, replica, cluster) then the command; Call counts a refusal.
  void CheckAndCall(std::vector<std::string>& args, int resp, std::string* reply,
                    std::string* rejection);
  // EVAL under the debugger (SCRIPT DEBUG YES|SYNC).
  void DebugEval(CommandContext& ctx, Args args, bool ro);
  // SCRIPT DEBUG YES: saves what the write `args` will change, or sets
  // *rejection when it cannot be rolled back.
  void SaveForRollback(Run& run, const CommandSpec& spec, std::vector<std::string>& args,
                       std::string* rejection);
  void RollBack(Run& run);
  // Checks numkeys (args[2]) and replies the error; returns -1 then.
  int64_t NumKeys(CommandContext& ctx, Args args);
  // Runs a prepared script or function: `call` runs it in its VM.
  void RunScript(CommandContext& ctx, Args args, int64_t numkeys, std::string_view name,
                 uint32_t flags, bool ro, bool function,
                 absl::FunctionRef<void(Run& run, std::span<const std::string> keys,
                                        std::span<const std::string> argv)>
                     call);
  // FUNCTION LOAD's work: returns the library name, or sets *error.
  std::string LoadLibrary(std::string_view code, bool replace, bool from_primary,
                          std::string* error);
  void DropLibrary(const std::string& name);
  void FunctionList(CommandContext& ctx, Args args);
  void FunctionRestore(CommandContext& ctx, Args args);
  void FunctionStats(CommandContext& ctx);

  // Compiles and caches `body` unless cached; returns its sha, or empty
  // after replying the error to `ctx`.
  std::string Create(CommandContext* ctx, std::string_view body, std::string* error);
  // The cached script an EVALSHA argument names (its first 40 bytes,
  // case-insensitively), or null. No allocation.
  const std::pair<const std::string, Cached>* FindScript(std::string_view sha) const;
  // The checks before a run (Redis's scriptPrepareForRun); replies and
  // returns false when the script may not run.
  bool Prepare(CommandContext& ctx, uint32_t flags, bool ro);
  void Flush();

  Server& server_;
  Dispatcher& dispatcher_;
  std::unique_ptr<LuaEnv> env_;
  absl::flat_hash_map<std::string, Cached> scripts_;
  // The entry FindScript found last (null after scripts_ changed).
  mutable const std::pair<const std::string, Cached>* last_script_ = nullptr;
  size_t scripts_memory_ = 0;
  Run* run_ = nullptr;
  Session script_client_;        // the scripts' client, reused by every run (RunScript)
  lua::Ldb ldb_;                 // the debugger (one, as Redis's global ldb)
  bool debug_rollback_ = false;  // the next run is a SCRIPT DEBUG YES session
  std::string run_name_;         // the running script's sha or function name, reused
  // redis.call's recent command lookups by the exact name bytes the script
  // passed (scripts spell a command the same way call after call), so that
  // a call does not lower-case and hash the name again; replaced in turn.
  // The command table does not change once the node serves (rename-command
  // applies at startup), so entries never go stale.
  struct CommandCacheEntry {
    std::string name;
    const CommandSpec* spec = nullptr;
  };
  static constexpr size_t kCachedCommandNameMax = 32;
  std::array<CommandCacheEntry, 8> command_cache_;
  size_t command_cache_next_ = 0;
  std::unique_ptr<LuaEnv> functions_env_;
  std::map<std::string, std::unique_ptr<Library>> libraries_;
  absl::flat_hash_map<std::string, FunctionRef> functions_;  // by lower-case name
  clusterbus::SlotTableReader slot_table_;
};

// Registers EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT with handlers
// bound to `engine`. REQUIRES: `engine` outlives the table's use.
void RegisterScriptingCommands(CommandTable& table, ScriptEngine& engine);

}  // namespace shardnode::node::script
