#include "node/script/script_engine.h"

#include <chrono>
#include <optional>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/split_args.h"
#include "clusterbus/routing.h"
#include "node/commands/acl_family.h"
#include "node/commands/command_table.h"
#include "node/commands/dispatcher.h"
#include "node/commands/errors.h"
#include "node/config/config.h"
#include "node/config/glob.h"
#include "node/keyspace/keyspace.h"
#include "node/resp/reply.h"
#include "node/script/debug_channel.h"
#include "node/script/shebang.h"
#include "node/server/log.h"
#include "node/server/replication_control.h"
#include "node/server/server.h"
#include "replication/rdb.h"
#include "slots/hash_slot.h"

namespace shardnode::node::script {

namespace {

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string LowerSha(std::string_view sha) {
  std::string out(sha.substr(0, 40));
  absl::AsciiStrToLower(&out);
  return out;
}

}  // namespace

struct ScriptEngine::Run {
  Session& session;  // the script's client (ScriptEngine::script_client_)
  Session* caller = nullptr;
  std::string_view sha;  // the sha, or the function's name (ScriptEngine::run_name_)
  bool function = false;
  std::span<const std::string> command;  // the caller's command (FUNCTION STATS)
  bool read_only = false;
  bool allow_cross_slot = false;
  bool allow_oom = false;  // the allow-oom shebang flag
  bool wrote = false;
  bool timed_out = false;
  bool kill = false;
  int slot = -1;  // the slot the run's keys hash to, once known (cluster)
  int repl_flags = kReplAll;
  int64_t now_ms = 0;
  int64_t start_steady_ms = 0;
  int64_t threshold_ms = 0;
  // SCRIPT DEBUG YES: the keys the script wrote, as they were before its
  // first write to them (no value: the key did not exist).
  bool rollback = false;
  struct Saved {
    int db = 0;
    std::string key;
    std::optional<Value> value;
    int64_t expire_ms = -1;
  };
  std::vector<Saved> saved;
};

ScriptEngine::ScriptEngine(Server& server, Dispatcher& dispatcher)
    : server_(server),
      dispatcher_(dispatcher),
      env_(std::make_unique<LuaEnv>()),
      functions_env_(std::make_unique<LuaEnv>(lua::VmKind::kFunctions)),
      slot_table_(server.slot_tables()) {
  env_->log = [](int level, std::string_view message) {
    Log(static_cast<LogLevel>(level), message);
  };
  functions_env_->log = env_->log;
}

ScriptEngine::~ScriptEngine() = default;

size_t ScriptEngine::functions_memory() const { return functions_env_->memory(); }

std::string ScriptEngine::MemoryInfo() const {
  auto human = [](size_t bytes) {
    if (bytes < 1024) return absl::StrCat(bytes, "B");
    if (bytes < 1024 * 1024) return absl::StrFormat("%.2fK", bytes / 1024.0);
    return absl::StrFormat("%.2fM", bytes / (1024.0 * 1024));
  };
  const size_t eval_vm = lua_memory();
  const size_t functions_vm = functions_memory();
  size_t functions_bytes = 0;
  for (const auto& [name, lib] : libraries_) functions_bytes += name.size() + lib->code.size();
  return absl::StrCat(
      "used_memory_lua:", eval_vm, "\r\n", "used_memory_vm_eval:", eval_vm, "\r\n",
      "used_memory_lua_human:", human(eval_vm), "\r\n",
      "used_memory_scripts_eval:", scripts_memory_, "\r\n",
      "number_of_cached_scripts:", scripts_.size(), "\r\n",
      "number_of_functions:", functions_.size(), "\r\n", "number_of_libraries:", libraries_.size(),
      "\r\n", "used_memory_vm_functions:", functions_vm, "\r\n",
      "used_memory_vm_total:", eval_vm + functions_vm, "\r\n",
      "used_memory_vm_total_human:", human(eval_vm + functions_vm), "\r\n",
      "used_memory_functions:", functions_bytes, "\r\n",
      "used_memory_scripts:", scripts_memory_ + functions_bytes, "\r\n",
      "used_memory_scripts_human:", human(scripts_memory_ + functions_bytes), "\r\n");
}

size_t ScriptEngine::lua_memory() const { return env_->memory(); }

void ScriptEngine::Flush() {
  scripts_.clear();
  last_script_ = nullptr;
  scripts_memory_ = 0;
  env_ = std::make_unique<LuaEnv>();
  env_->log = [](int level, std::string_view message) {
    Log(static_cast<LogLevel>(level), message);
  };
}

std::string ScriptEngine::Create(CommandContext* ctx, std::string_view body, std::string* error) {
  std::string sha = Sha1Hex(body);
  if (scripts_.contains(sha)) return sha;
  Shebang shebang;
  std::string shebang_error;
  if (!ParseShebang(body, &shebang, &shebang_error)) {
    *error = errors::Err(shebang_error);
    return {};
  }
  const CompileResult compiled = env_->Compile("f_" + sha, body.substr(shebang.length));
  if (!compiled.ok) {
    *error = errors::ScriptCompileError(compiled.error);
    return {};
  }
  (void)ctx;
  scripts_memory_ += sha.size() + body.size();
  scripts_.emplace(sha, Cached{std::string(body), shebang.flags, compiled.ref});
  last_script_ = nullptr;  // the map may have moved its entries
  return sha;
}

bool ScriptEngine::Prepare(CommandContext& ctx, uint32_t flags, bool ro) {
  ReplicationControl* repl = ctx.node.replication();
  const bool obey = ctx.session.from_primary;
  if (flags & kScriptCompatMode) {
    // EVAL without a shebang keeps its static flags (stale among them):
    // only a stale replica refuses it here.
    if (repl != nullptr && !obey) {
      const std::string refusal = repl->CheckCommand(false, false);
      if (!refusal.empty()) {
        ctx.reply.Error(refusal);
        return false;
      }
    }
    return true;
  }
  // A shebang script or a function is a write unless no-writes, and may
  // run stale only with allow-stale: the dispatcher's checks of a command
  // with those flags (Redis recomputes the command's flags from them).
  if (repl != nullptr && !obey) {
    const std::string refusal =
        repl->CheckCommand(!(flags & kScriptNoWrites), (flags & kScriptAllowStale) != 0);
    if (!refusal.empty()) {
      ctx.reply.Error(refusal);
      return false;
    }
  }
  if ((flags & kScriptNoCluster) && ctx.node.cluster_enabled()) {
    ctx.reply.Error(errors::kScriptNoCluster);
    return false;
  }
  if (!(flags & kScriptNoWrites) && ro) {
    ctx.reply.Error(errors::kScriptWriteFlagReadOnly);
    return false;
  }
  // no-writes implies allow-oom. Redis refuses such a script before it
  // runs, as a deny-oom command (its flags come from the shebang).
  if (server_.options().maxmemory > 0 && server_.pre_command_oom() && !obey &&
      !(flags & (kScriptAllowOom | kScriptNoWrites))) {
    ctx.reply.Error(errors::kOom);
    return false;
  }
  return true;
}

int64_t ScriptEngine::NumKeys(CommandContext& ctx, Args args) {
  int64_t numkeys = 0;
  if (!absl::SimpleAtoi(args[2], &numkeys)) {
    ctx.reply.Error(errors::kNotInteger);
    return -1;
  }
  const int64_t rest = static_cast<int64_t>(args.size()) - 3;
  if (numkeys > rest) {
    ctx.reply.Error(errors::kNumKeysOverArgs);
    return -1;
  }
  if (numkeys < 0) {
    ctx.reply.Error(errors::kNumKeysNegative);
    return -1;
  }
  return numkeys;
}

const std::pair<const std::string, ScriptEngine::Cached>* ScriptEngine::FindScript(
    std::string_view sha) const {
  // The cache key is the first 40 bytes, lower-cased. Clients send the sha
  // as SCRIPT LOAD replied it: try it as given before lower-casing a copy.
  const absl::string_view given(sha.data(), std::min<size_t>(sha.size(), 40));
  // The dispatcher asks for the script's flags (DeclaredWrites) just before
  // the run looks it up: the last one found is tried first.
  if (last_script_ != nullptr && given == absl::string_view(last_script_->first)) {
    return last_script_;
  }
  auto it = scripts_.find(given);
  if (it != scripts_.end()) return last_script_ = &*it;
  char buf[40];
  bool changed = false;
  for (size_t i = 0; i < given.size(); ++i) {
    buf[i] = absl::ascii_tolower(given[i]);
    changed = changed || buf[i] != given[i];
  }
  if (!changed) return nullptr;
  it = scripts_.find(absl::string_view(buf, given.size()));
  return it == scripts_.end() ? nullptr : last_script_ = &*it;
}

ScriptWrites ScriptEngine::DeclaredWrites(std::span<const std::string> args) const {
  if (args.size() < 2) return ScriptWrites::kUndeclared;
  const std::string name = absl::AsciiStrToLower(args[0]);
  uint32_t flags = kScriptCompatMode;
  if (name == "fcall" || name == "fcall_ro") {
    auto it = functions_.find(absl::AsciiStrToLower(args[1]));
    if (it == functions_.end()) return ScriptWrites::kUndeclared;
    flags = it->second.library->functions[it->second.index].flags;
  } else if (name == "evalsha" || name == "evalsha_ro") {
    const auto* script = FindScript(args[1]);
    if (script == nullptr) return ScriptWrites::kUndeclared;
    flags = script->second.flags;
  } else {
    Shebang shebang;
    std::string error;
    if (!ParseShebang(args[1], &shebang, &error)) return ScriptWrites::kUndeclared;
    flags = shebang.flags;
  }
  if (flags & kScriptCompatMode) return ScriptWrites::kUndeclared;
  return (flags & kScriptNoWrites) ? ScriptWrites::kNoWrites : ScriptWrites::kWrites;
}

void ScriptEngine::Eval(CommandContext& ctx, Args args, bool sha, bool ro) {
  if (ctx.session.lua_debug != LuaDebugMode::kOff && !debug_rollback_ && !ldb_.active()) {
    if (sha) {
      ctx.reply.Error(args[1].size() != 40 ? errors::kNoScript : errors::kDebugEvalSha);
      return;
    }
    DebugEval(ctx, args, ro);
    return;
  }
  const int64_t numkeys = NumKeys(ctx, args);
  if (numkeys < 0) return;
  const Cached* script = nullptr;
  std::string_view name;
  if (sha) {
    const auto* found = args[1].size() < 40 ? nullptr : FindScript(args[1]);
    if (found == nullptr) {
      ctx.reply.Error(errors::kNoScript);
      return;
    }
    name = found->first;
    script = &found->second;
  } else {
    std::string error;
    const std::string created = Create(&ctx, args[1], &error);
    if (created.empty()) {
      ctx.reply.Error(error);
      return;
    }
    auto it = scripts_.find(created);
    name = it->first;
    script = &it->second;
  }
  // The run names the script by a copy kept in a buffer reused between runs
  // (the cache may change while a busy script serves other clients).
  run_name_.assign(name);
  const int ref = script->ref;
  LuaEnv& env = *env_;
  RunScript(ctx, args, numkeys, run_name_, script->flags, ro, false,
            [&](Run& run, std::span<const std::string> keys, std::span<const std::string> argv) {
              env.Run(ref, run_name_, keys, argv, *this, run.threshold_ms > 0, ctx.reply);
            });
}

void ScriptEngine::Fcall(CommandContext& ctx, Args args, bool ro) {
  auto it = functions_.find(absl::AsciiStrToLower(args[1]));
  if (it == functions_.end()) {
    ctx.reply.Error(errors::kFunctionNotFound);
    return;
  }
  // FCALL's own numkeys errors.
  int64_t numkeys = 0;
  if (!absl::SimpleAtoi(args[2], &numkeys)) {
    ctx.reply.Error(errors::kBadNumKeys);
    return;
  }
  if (numkeys > static_cast<int64_t>(args.size()) - 3) {
    ctx.reply.Error(errors::kNumKeysOverArgs);
    return;
  }
  if (numkeys < 0) {
    ctx.reply.Error(errors::kNumKeysNegative);
    return;
  }
  const lua::LibraryFunction& f = it->second.library->functions[it->second.index];
  const int ref = f.ref;
  run_name_.assign(f.name);
  LuaEnv& env = *functions_env_;
  RunScript(ctx, args, numkeys, run_name_, f.flags, ro, true,
            [&](Run& run, std::span<const std::string> keys, std::span<const std::string> argv) {
              env.RunFunction(ref, run_name_, keys, argv, *this, run.threshold_ms > 0, ctx.reply);
            });
}

void ScriptEngine::RunScript(CommandContext& ctx, Args args, int64_t numkeys, std::string_view name,
                             uint32_t flags, bool ro, bool function,
                             absl::FunctionRef<void(Run& run, std::span<const std::string> keys,
                                                    std::span<const std::string> argv)>
                                 call) {
  if (!Prepare(ctx, flags, ro)) return;
  // One script client serves every run, as Redis's lua client does; what
  // a run may have changed on it (SELECT, ASKING, READONLY...) is set anew.
  // The commands that would change the rest (MULTI, WATCH, SUBSCRIBE,
  // CLIENT, HELLO, AUTH...) are no-script.
  Session& client = script_client_;
  client.id = 0;
  client.name = "lua";
  client.script = true;
  client.db_index = ctx.db_index();
  client.authenticated = true;
  client.user = ctx.session.user;
  client.deny_blocking = true;
  client.readonly = ctx.session.readonly;
  client.asking = ctx.session.asking;
  client.from_primary = ctx.session.from_primary;
  client.protocol = 2;
  client.waiting = WaitReason::kNone;
  Run run{client};
  run.caller = &ctx.session;
  run.sha = name;
  run.function = function;
  run.command = std::span<const std::string>(args.data(), args.size());
  const bool compat = flags & kScriptCompatMode;
  run.read_only = ro || (!compat && (flags & kScriptNoWrites));
  run.allow_cross_slot = compat || (flags & kScriptAllowCrossSlot);
  run.allow_oom = !compat && (flags & kScriptAllowOom);
  if (ctx.node.cluster_enabled() && numkeys > 0) run.slot = slots::KeyHashSlot(args[3]);
  run.now_ms = ctx.now_ms;
  run.start_steady_ms = SteadyMs();
  run.threshold_ms = server_.options().busy_reply_threshold;

  run.rollback = std::exchange(debug_rollback_, false);

  std::span<const std::string> all(args.data(), args.size());
  run_ = &run;
  call(run, all.subspan(3, numkeys), all.subspan(3 + numkeys));
  run_ = nullptr;
  if (run.rollback) RollBack(run);
  if (run.timed_out) {
    server_.set_busy_script_error({});
    Logf(LogLevel::kWarning, "Slow script finished after %d milliseconds",
         static_cast<int>(SteadyMs() - run.start_steady_ms));
  }
  client.user = nullptr;  // not kept past the run (ACL DELUSER)
}

void ScriptEngine::Call(std::vector<std::string>& args, int resp, std::string* reply,
                        std::string* rejection) {
  CheckAndCall(args, resp, reply, rejection);
  // A refusal counts in INFO errorstats as the script client's error reply
  // does in Redis; the script's own reply will not count it again.
  if (!rejection->empty()) {
    const std::string counted =
        (*rejection)[0] == '-' ? rejection->substr(1) : errors::Err(*rejection);
    server_.stats().CountError(counted);
  }
}

void ScriptEngine::CheckAndCall(std::vector<std::string>& args, int resp, std::string* reply,
                                std::string* rejection) {
  Run& run = *run_;
  const CommandSpec* spec = FindCommand(args[0]);
  if (spec != nullptr && !spec->subcommands.empty() && args.size() >= 2) {
    spec = CommandTable::FindSub(*spec, args[1]);
  }
  if (spec == nullptr) {
    *rejection = errors::kScriptUnknownCommand;
    return;
  }
  const int argc = static_cast<int>(args.size());
  if ((spec->arity > 0 && spec->arity != argc) || argc < -spec->arity) {
    *rejection = errors::kScriptWrongArity;
    ++StatsOf(server_.local_shard(), *spec).rejected_calls;
    return;
  }
  if ((spec->flags & kCmdNoScript) && !server_.script_allows_noscript()) {
    *rejection = errors::kScriptNoScriptCommand;
    ++StatsOf(server_.local_shard(), *spec).rejected_calls;
    return;
  }
  // A stale replica (link down, replica-serve-stale-data no) runs only the
  // commands with the stale flag, even for a script that may start stale.
  if (!(spec->flags & kCmdStale) && server_.replication() != nullptr && !run.caller->from_primary &&
      !server_.replication()->CheckCommand(false, false).empty()) {
    *rejection = errors::kScriptStaleReplica;
    ++StatsOf(server_.local_shard(), *spec).rejected_calls;
    return;
  }
  // The caller's ACL rules hold inside the script (Redis's scriptVerifyACL).
  if (acl::CheckResult r = node::AclCheck(server_.acl_ref(), run.caller->user, *spec, args);
      r.verdict != acl::Verdict::kOk) {
    AclLogDenial(server_, *run.caller, *run.caller->user, r, acl::LogContext::kLua, *spec, args,
                 run.now_ms);
    *rejection = std::string("The user executing the script ").append(AclErrorMessage(r.verdict));
    ++StatsOf(server_.local_shard(), *spec).rejected_calls;
    return;
  }
  if (run.read_only && (spec->flags & (kCmdWrite | kCmdMayReplicate))) {
    *rejection = errors::kScriptWriteFromReadOnly;
    ++StatsOf(server_.local_shard(), *spec).rejected_calls;
    return;
  }
  if (spec->is_write() && !run.wrote && server_.replication() != nullptr &&
      !run.caller->from_primary) {
    std::string refusal = server_.replication()->CheckCommand(true, true);
    if (!refusal.empty()) {
      *rejection = "-" + refusal;
      ++StatsOf(server_.local_shard(), *spec).rejected_calls;
      return;
    }
  }
  // Out of memory when the script started: its first deny-oom command is
  // refused (after a write it cannot stop half-way).
  if ((spec->flags & kCmdDenyOom) && !run.wrote && !run.allow_oom && server_.pre_command_oom() &&
      server_.options().maxmemory > 0 && !run.caller->from_primary) {
    *rejection = "-" + std::string(errors::kOom);
    ++StatsOf(server_.local_shard(), *spec).rejected_calls;
    return;
  }
  if (run.rollback && spec->is_write()) {
    SaveForRollback(run, *spec, args, rejection);
    if (!rejection->empty()) {
      ++StatsOf(server_.local_shard(), *spec).rejected_calls;
      return;
    }
  }
  if (spec->is_write()) run.wrote = true;

  // Cluster: every key must be served here, and (unless the run allows
  // cross-slot access) in the run's one slot.
  if (server_.cluster() != nullptr && !run.caller->from_primary) {
    clusterbus::RouteInput in;
    ForEachKeyIndex(*spec, args, [&](int i) { in.keys.push_back(args[i]); });
    const clusterbus::SlotTable* slot_table = slot_table_.Get();
    if (!in.keys.empty() && slot_table != nullptr) {
      in.is_write = spec->is_write();
      in.asking = run.session.asking || (spec->flags & kCmdAsking);
      in.readonly = run.session.readonly;
      in.allow_reads_when_down = server_.options().cluster_allow_reads_when_down;
      const int64_t now_ms = run.now_ms;
      auto exists = [this, now_ms](std::string_view key) {
        return server_.ShardForSlot(slots::KeyHashSlot(key)).db(0).Exists(key, now_ms);
      };
      const clusterbus::RouteResult r = clusterbus::Route(*slot_table, in, exists);
      if (r.outcome != clusterbus::RouteOutcome::kLocal) {
        if (r.outcome == clusterbus::RouteOutcome::kDownReadOnly) {
          *rejection = errors::kScriptClusterDownReadOnly;
        } else if (r.outcome == clusterbus::RouteOutcome::kDown) {
          *rejection = errors::kScriptClusterDown;
        } else {
          *rejection = errors::kScriptNonLocalKey;
        }
        ++StatsOf(server_.local_shard(), *spec).rejected_calls;
        return;
      }
      if (!run.allow_cross_slot && r.slot >= 0) {
        if (run.slot == -1) {
          run.slot = r.slot;
        } else if (run.slot != r.slot) {
          *rejection = errors::kScriptCrossSlot;
          ++StatsOf(server_.local_shard(), *spec).rejected_calls;
          return;
        }
      }
    }
  }

  resp::ReplyBuilder out(reply, resp);
  // The command's own error replies count in INFO errorstats now, as the
  // script client's do in Redis (the script's reply does not count them
  // again: lua_env.h's ignore_error_stats_update).
  out.on_error = [this](std::string_view message) { server_.stats().CountError(message); };
  run.session.protocol = resp;
  // A rolled-back session's writes go nowhere (Redis's forked child).
  const WriteTargets targets =
      run.rollback ? kToNone : static_cast<WriteTargets>(run.repl_flags & kToAll);
  dispatcher_.CallForScript(run.session, *spec, args, out, run.now_ms, targets);
  if (reply->empty()) out.NullBulk();  // a handler that replied nothing (never expected)
}

const CommandSpec* ScriptEngine::FindCommand(std::string_view name) {
  for (const CommandCacheEntry& e : command_cache_) {
    if (e.spec != nullptr && e.name == name) return e.spec;
  }
  const CommandSpec* spec = server_.commands().Find(name);
  if (spec != nullptr && name.size() <= kCachedCommandNameMax) {
    CommandCacheEntry& e = command_cache_[command_cache_next_];
    command_cache_next_ = (command_cache_next_ + 1) % command_cache_.size();
    e.name.assign(name);
    e.spec = spec;
  }
  return spec;
}

void ScriptEngine::SetRepl(int flags) { run_->repl_flags = flags; }

std::string ScriptEngine::WordFailure(const lua::RunFailure& failure) {
  switch (failure.kind) {
    case lua::RunFailure::Kind::kStackLimit:
      return std::string(errors::kLuaStackLimit);
    case lua::RunFailure::Kind::kRaisedValue:
      return failure.message ? errors::ScriptRunError(failure.run_name, *failure.message)
                             : errors::ScriptExecutionFailure(failure.run_name);
    case lua::RunFailure::Kind::kRaisedTable:
      break;
  }
  const std::string_view error = failure.message.value_or(errors::kLuaUnknownError);
  if (!failure.source || !failure.line) return std::string(error);
  return errors::ScriptErrorAt(error, failure.run_name, *failure.source, *failure.line);
}

bool ScriptEngine::AclCheck(std::vector<std::string>& args, bool* allowed) {
  const CommandSpec* spec = server_.commands().Find(args[0]);
  if (spec != nullptr && !spec->subcommands.empty() && args.size() >= 2) {
    spec = CommandTable::FindSub(*spec, args[1]);
  }
  if (spec == nullptr) return false;
  *allowed = node::AclCheck(server_.acl_ref(), run_->caller->user, *spec, args).verdict ==
             acl::Verdict::kOk;
  return true;
}

bool ScriptEngine::ShouldKill() {
  Run& run = *run_;
  if (!run.timed_out) {
    const int64_t elapsed = SteadyMs() - run.start_steady_ms;
    if (run.threshold_ms <= 0 || elapsed < run.threshold_ms) return false;
    run.timed_out = true;
    Logf(LogLevel::kWarning,
         "Slow script detected: still in execution after %d milliseconds. You can try killing "
         "the script using the %s command. Script name is: %s.",
         static_cast<int>(elapsed), run.function ? "FUNCTION KILL" : "SCRIPT KILL", run.sha);
    server_.set_busy_script_error(
        std::string(run.function ? errors::kBusyFunction : errors::kBusyScript));
  }
  if (process_events) process_events();
  if (stopping && stopping()) return true;
  if (run.kill) Log(LogLevel::kWarning, "Lua script killed by user with SCRIPT KILL.");
  return run.kill;
}

void ScriptEngine::DebugEval(CommandContext& ctx, Args args, bool ro) {
  const bool sync = ctx.session.lua_debug == LuaDebugMode::kSync;
  Log(LogLevel::kWarning, sync ? "Redis synchronous debugging eval session started"
                               : "Redis debugging eval session started (changes rolled back at "
                                 "its end)");
  const uint64_t signals = stop_signals ? stop_signals() : 0;
  SocketDebugChannel channel(
      ctx.session.fd,
      [this, signals]() {
        return (stopping && stopping()) || (stop_signals && stop_signals() != signals);
      },
      ctx.session.debug_io.get());
  const int64_t threshold = server_.options().busy_reply_threshold;
  ldb_.Start(args[1], &channel, SteadyMs, threshold > 0 ? threshold : 5000);
  LuaEnv* env = env_.get();
  env->set_ldb(&ldb_);
  debug_rollback_ = !sync;
  Eval(ctx, args, /*sha=*/false, ro);
  debug_rollback_ = false;  // a run that never started (numkeys...)
  // SCRIPT FLUSH cannot run meanwhile: env_ is the same VM.
  env->set_ldb(nullptr);
  ldb_.End();
  Log(LogLevel::kWarning, sync ? "Redis synchronous debugging eval session ended"
                               : "Redis debugging eval session ended, changes rolled back");
  // The connection closes after the EVAL's reply, which ends the session
  // for the client.
  ctx.session.lua_debug = LuaDebugMode::kOff;
  ctx.session.close_after_reply = true;
}

void ScriptEngine::SaveForRollback(Run& run, const CommandSpec& spec,
                                   std::vector<std::string>& args, std::string* rejection) {
  const std::string& name = spec.name;
  bool other_db = name == "move" || name == "swapdb" || name == "flushall" || name == "flushdb";
  if (name == "copy") {
    for (size_t i = 3; i < args.size(); ++i) {
      if (absl::EqualsIgnoreCase(args[i], "db")) other_db = true;
    }
  }
  std::vector<int> keys;
  ForEachKeyIndex(spec, args, [&](int i) { keys.push_back(i); });
  if (other_db || keys.empty()) {
    *rejection = errors::kDebugCannotRollBack;
    return;
  }
  const int db = run.session.db_index;
  for (int i : keys) {
    const std::string& key = args[i];
    bool known = false;
    for (const Run::Saved& s : run.saved) known = known || (s.db == db && s.key == key);
    if (known) continue;
    Run::Saved saved{.db = db, .key = key};
    Db& store = server_.ShardForSlot(slots::KeyHashSlot(key)).db(db);
    if (const Entry* e = store.Peek(key); e != nullptr) {
      const int64_t expire = store.ExpireOf(e);
      if (expire < 0 || expire > run.now_ms) {
        saved.value = e->value().Clone();
        saved.expire_ms = expire;
      }
    }
    run.saved.push_back(std::move(saved));
  }
}

void ScriptEngine::RollBack(Run& run) {
  for (Run::Saved& s : run.saved) {
    Db& store = server_.ShardForSlot(slots::KeyHashSlot(s.key)).db(s.db);
    if (!s.value) {
      store.Delete(s.key, run.now_ms);
      continue;
    }
    Entry* e = store.Set(s.key, std::move(*s.value), run.now_ms);
    if (s.expire_ms >= 0) store.SetExpire(e, s.expire_ms);
  }
  run.saved.clear();
}

void ScriptEngine::ScriptCommand(CommandContext& ctx, Args args) {
  const std::string sub = absl::AsciiStrToLower(args[1]);
  if (args.size() == 2 && sub == "help") {
    static const char* kLines[] = {
        "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DEBUG (YES|SYNC|NO)",
        "    Set the debug mode for subsequent scripts executed.",
        "EXISTS <sha1> [<sha1> ...]",
        "    Return information about the existence of the scripts in the script cache.",
        "FLUSH [ASYNC|SYNC]",
        "    Flush the Lua scripts cache. Very dangerous on replicas.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the scripts cache.",
        "    * SYNC: Synchronously flush the scripts cache.",
        "KILL",
        "    Kill the currently executing Lua script.",
        "LOAD <script>",
        "    Load a script into the scripts cache without executing it.",
        "HELP",
        "    Prints this help."};
    ctx.reply.ArrayHeader(std::size(kLines));
    for (const char* line : kLines) ctx.reply.SimpleString(line);
  } else if (sub == "flush") {
    if (args.size() == 3) {
      const std::string mode = absl::AsciiStrToLower(args[2]);
      if (mode != "sync" && mode != "async") {
        ctx.reply.Error(errors::kScriptFlushMode);
        return;
      }
    } else if (args.size() != 2) {
      ctx.reply.Error(errors::kScriptFlushMode);
      return;
    }
    if (running()) {
      // Only reachable from a script's own event serving; never drop the
      // VM under a running script.
      ctx.reply.Error(server_.busy_script_error());
      return;
    }
    Flush();
    ctx.reply.Ok();
  } else if (sub == "exists") {
    ctx.reply.ArrayHeader(args.size() - 2);
    for (size_t j = 2; j < args.size(); ++j) {
      ctx.reply.Integer(args[j].size() == 40 && scripts_.contains(LowerSha(args[j])) ? 1 : 0);
    }
  } else if (args.size() == 3 && sub == "load") {
    std::string error;
    const std::string sha = Create(&ctx, args[2], &error);
    if (sha.empty()) {
      ctx.reply.Error(error);
      return;
    }
    ctx.reply.Bulk(sha);
  } else if (args.size() == 3 && sub == "debug") {
    // Replies not yet written (an earlier command of the same pipeline, a
    // transaction's header) would interleave with the debugger's output.
    if (!ctx.reply.buffer()->empty() || ctx.session.output_buffer_bytes > 0) {
      ctx.reply.Error(errors::kDebugInPipeline);
      return;
    }
    const std::string mode = absl::AsciiStrToLower(args[2]);
    if (mode == "no") {
      ctx.session.lua_debug = LuaDebugMode::kOff;
    } else if (mode == "yes" || mode == "sync") {
      // The debugger talks over the client's socket, or through its TLS
      // session (Session::debug_io); not for a client without either.
      if (ctx.session.fd < 0 || (ctx.session.tls && ctx.session.debug_io == nullptr)) {
        ctx.reply.Error(errors::kDebugNeedsPlainSocket);
        return;
      }
      ldb_.Enable();
      ctx.session.lua_debug = mode == "yes" ? LuaDebugMode::kYes : LuaDebugMode::kSync;
    } else {
      ctx.reply.Error(errors::kDebugMode);
      return;
    }
    ctx.reply.Ok();
  } else if (args.size() == 2 && sub == "kill") {
    if (run_ != nullptr && run_->function) {
      ctx.reply.Error(errors::kBusyFunction);
    } else if (run_ == nullptr) {
      ctx.reply.Error(errors::kNotBusy);
    } else if (run_->caller->from_primary) {
      ctx.reply.Error(errors::kUnkillableMaster);
    } else if (run_->wrote) {
      ctx.reply.Error(errors::kUnkillableWrote);
    } else {
      run_->kill = true;
      ctx.reply.Ok();
    }
  } else {
    ctx.reply.Error(errors::SubcommandSyntax("script", args[1]));
  }
}

// --- Functions ---

namespace {

// FUNCTION LOAD's wording of the functions VM's outcome (without the ERR code).
std::string WordLoadFailure(const lua::LoadFailure& failure) {
  switch (failure.kind) {
    case lua::LoadFailure::Kind::kCompile:
      return errors::FunctionCompileError(failure.message.value_or(""));
    case lua::LoadFailure::Kind::kRaisedValue:
      return errors::FunctionRegisterError(failure.message ? errors::Err(*failure.message)
                                                           : std::string(errors::kLuaUnknownError));
    case lua::LoadFailure::Kind::kRaisedTable:
      return errors::FunctionRegisterError(failure.message ? std::string_view(*failure.message)
                                                           : errors::kLuaUnknownError);
    case lua::LoadFailure::Kind::kNoFunctions:
      break;
  }
  return std::string(errors::kNoFunctionsRegistered);
}

bool ValidLibraryName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

}  // namespace

std::string ScriptEngine::LoadLibrary(std::string_view code, bool replace, bool from_primary,
                                      std::string* error) {
  // The metadata line: "#!<engine> name=<lib>".
  if (code.substr(0, 2) != "#!") {
    *error = errors::kLibraryMetadataMissing;
    return {};
  }
  const size_t eol = code.find('\n');
  if (eol == std::string_view::npos) {
    *error = errors::kLibraryMetadataInvalid;
    return {};
  }
  std::optional<std::vector<std::string>> parts = base::SplitArgs(code.substr(0, eol));
  if (!parts || parts->empty()) {
    *error = errors::kLibraryMetadataInvalid;
    return {};
  }
  std::string lib_name;
  bool have_name = false;
  for (size_t j = 1; j < parts->size(); ++j) {
    const std::string& part = (*parts)[j];
    if (absl::AsciiStrToLower(part.substr(0, 5)) == "name=") {
      if (have_name) {
        *error = errors::kLibraryNameRepeated;
        return {};
      }
      have_name = true;
      lib_name = part.substr(5);
    } else {
      *error = errors::InvalidMetadataValue(part);
      return {};
    }
  }
  const std::string engine = (*parts)[0].substr(2);
  if (absl::AsciiStrToLower(engine) != "lua") {
    *error = errors::EngineNotFound(engine);
    return {};
  }
  if (!have_name) {
    *error = errors::kLibraryNameNotGiven;
    return {};
  }
  if (!ValidLibraryName(lib_name)) {
    *error = errors::kLibraryNameInvalid;
    return {};
  }
  auto existing = libraries_.find(lib_name);
  if (existing != libraries_.end() && !replace) {
    *error = errors::LibraryExists(lib_name);
    return {};
  }
  const int64_t start = SteadyMs();
  const std::function<bool()> timed_out = [start, from_primary]() {
    return !from_primary && SteadyMs() - start >= 500;
  };
  std::vector<lua::LibraryFunction> functions;
  lua::LoadFailure failure;
  if (!functions_env_->LoadLibrary(code.substr(eol), timed_out, &functions, &failure)) {
    *error = WordLoadFailure(failure);
    return {};
  }
  // Function names are unique across libraries (case-insensitively).
  for (const lua::LibraryFunction& f : functions) {
    auto other = functions_.find(absl::AsciiStrToLower(f.name));
    if (other != functions_.end() && other->second.library->name != lib_name) {
      *error = errors::FunctionExists(f.name);
      for (const lua::LibraryFunction& g : functions) functions_env_->Release(g.ref);
      return {};
    }
  }
  if (existing != libraries_.end()) DropLibrary(lib_name);
  auto lib = std::make_unique<Library>();
  lib->name = lib_name;
  lib->code = std::string(code);
  lib->functions = std::move(functions);
  for (size_t i = 0; i < lib->functions.size(); ++i) {
    functions_[absl::AsciiStrToLower(lib->functions[i].name)] = FunctionRef{lib.get(), i};
  }
  libraries_[lib_name] = std::move(lib);
  return lib_name;
}

void ScriptEngine::DropLibrary(const std::string& name) {
  auto it = libraries_.find(name);
  if (it == libraries_.end()) return;
  for (const lua::LibraryFunction& f : it->second->functions) {
    functions_.erase(absl::AsciiStrToLower(f.name));
    functions_env_->Release(f.ref);
  }
  libraries_.erase(it);
}

std::vector<std::string> ScriptEngine::LibraryCodes() const {
  std::vector<std::string> codes;
  codes.reserve(libraries_.size());
  for (const auto& [name, lib] : libraries_) codes.push_back(lib->code);
  return codes;
}

bool ScriptEngine::LoadLibraryFromRdb(std::string_view code, bool replace, std::string* error) {
  return !LoadLibrary(code, replace, /*from_primary=*/true, error).empty();
}

void ScriptEngine::FlushLibraries() {
  while (!libraries_.empty()) DropLibrary(libraries_.begin()->first);
}

void ScriptEngine::FunctionRestore(CommandContext& ctx, Args args) {
  resp::ReplyBuilder& r = ctx.reply;
  if (args.size() > 4) {
    r.Error(errors::SubcommandSyntax("function", args[1]));
    return;
  }
  enum class Policy { kAppend, kReplace, kFlush } policy = Policy::kAppend;
  if (args.size() == 4) {
    const std::string p = absl::AsciiStrToLower(args[3]);
    if (p == "append") {
      policy = Policy::kAppend;
    } else if (p == "replace") {
      policy = Policy::kReplace;
    } else if (p == "flush") {
      policy = Policy::kFlush;
    } else {
      r.Error(errors::kRestorePolicy);
      return;
    }
  }
  absl::StatusOr<std::vector<std::string>> codes = replication::ParseFunctionsPayload(args[2]);
  if (!codes.ok()) {
    r.Error(errors::Err(codes.status()));
    return;
  }
  // All or nothing: remember what is there, load, and put it back on error.
  const std::vector<std::string> before = LibraryCodes();
  auto restore_before = [&]() {
    FlushLibraries();
    std::string ignored;
    for (const std::string& code : before) LoadLibraryFromRdb(code, false, &ignored);
  };
  if (policy == Policy::kFlush) FlushLibraries();
  std::string error;
  for (const std::string& code : *codes) {
    std::string name;
    if (policy == Policy::kAppend) {
      // The library's name, to word a collision as Redis's libraryJoin does.
      const size_t eol = code.find('\n');
      std::optional<std::vector<std::string>> parts =
          base::SplitArgs(std::string_view(code).substr(0, eol));
      if (parts) {
        for (size_t j = 1; j < parts->size(); ++j) {
          if (absl::AsciiStrToLower((*parts)[j].substr(0, 5)) == "name=") {
            name = (*parts)[j].substr(5);
          }
        }
      }
      if (!name.empty() && libraries_.contains(name)) {
        error = errors::LibraryExistsOnRestore(name);
        break;
      }
    }
    if (LoadLibrary(code, policy == Policy::kReplace, /*from_primary=*/true, &error).empty()) {
      break;
    }
    error.clear();
  }
  if (!error.empty()) {
    restore_before();
    r.Error(errors::Err(error));
    return;
  }
  ctx.AddDirty(1);
  r.Ok();
}

void ScriptEngine::FunctionList(CommandContext& ctx, Args args) {
  bool with_code = false;
  bool have_pattern = false;
  std::string pattern;
  for (size_t i = 2; i < args.size(); ++i) {
    const std::string opt = absl::AsciiStrToLower(args[i]);
    if (opt == "withcode" && !with_code) {
      with_code = true;
    } else if (opt == "libraryname" && !have_pattern) {
      if (i + 1 >= args.size()) {
        ctx.reply.Error(errors::kLibraryNameArgMissing);
        return;
      }
      have_pattern = true;
      pattern = args[++i];
    } else {
      ctx.reply.Error(errors::UnknownArgument(args[i]));
      return;
    }
  }
  std::vector<const Library*> shown;
  for (const auto& [name, lib] : libraries_) {
    if (have_pattern && !GlobMatch(pattern, name, true)) continue;
    shown.push_back(lib.get());
  }
  resp::ReplyBuilder& r = ctx.reply;
  r.ArrayHeader(shown.size());
  for (const Library* lib : shown) {
    r.MapHeader(with_code ? 4 : 3);
    r.Bulk("library_name");
    r.Bulk(lib->name);
    r.Bulk("engine");
    r.Bulk("LUA");
    r.Bulk("functions");
    r.ArrayHeader(lib->functions.size());
    for (const lua::LibraryFunction& f : lib->functions) {
      r.MapHeader(3);
      r.Bulk("name");
      r.Bulk(f.name);
      r.Bulk("description");
      if (f.has_description) {
        r.Bulk(f.description);
      } else {
        r.NullBulk();
      }
      r.Bulk("flags");
      size_t n = 0;
      for (size_t i = 0; i < std::size(kScriptFlagNames); ++i) n += (f.flags >> i) & 1;
      r.SetHeader(n);
      for (size_t i = 0; i < std::size(kScriptFlagNames); ++i) {
        if (f.flags & (1u << i)) r.SimpleString(kScriptFlagNames[i]);
      }
    }
    if (with_code) {
      r.Bulk("library_code");
      r.Bulk(lib->code);
    }
  }
}

void ScriptEngine::FunctionStats(CommandContext& ctx) {
  resp::ReplyBuilder& r = ctx.reply;
  r.MapHeader(2);
  r.Bulk("running_script");
  if (run_ == nullptr) {
    r.NullBulk();
  } else {
    r.MapHeader(3);
    r.Bulk("name");
    r.Bulk(run_->sha);
    r.Bulk("command");
    r.ArrayHeader(run_->command.size());
    for (const std::string& a : run_->command) r.Bulk(a);
    r.Bulk("duration_ms");
    r.Integer(SteadyMs() - run_->start_steady_ms);
  }
  r.Bulk("engines");
  r.MapHeader(1);
  r.Bulk("LUA");
  r.MapHeader(2);
  r.Bulk("libraries_count");
  r.Integer(static_cast<int64_t>(libraries_.size()));
  r.Bulk("functions_count");
  r.Integer(static_cast<int64_t>(functions_.size()));
}

void ScriptEngine::FunctionCommand(CommandContext& ctx, Args args) {
  const std::string sub = absl::AsciiStrToLower(args[1]);
  resp::ReplyBuilder& r = ctx.reply;
  if (sub == "load") {
    bool replace = false;
    size_t pos = 2;
    while (pos < args.size() - 1) {
      const std::string& opt = args[pos++];
      if (absl::AsciiStrToLower(opt) == "replace") {
        replace = true;
        continue;
      }
      r.Error(errors::UnknownOptionGiven(opt));
      return;
    }
    if (pos >= args.size()) {
      r.Error(errors::kFunctionCodeMissing);
      return;
    }
    std::string error;
    const std::string name = LoadLibrary(args[pos], replace, ctx.session.from_primary, &error);
    if (name.empty()) {
      r.Error(errors::Err(error));
      return;
    }
    ctx.AddDirty(1);
    r.Bulk(name);
  } else if (sub == "delete") {
    if (!libraries_.contains(args[2])) {
      r.Error(errors::kLibraryNotFound);
      return;
    }
    DropLibrary(args[2]);
    ctx.AddDirty(1);
    r.Ok();
  } else if (sub == "flush") {
    if (args.size() > 3) {
      r.Error(errors::SubcommandSyntax("function", args[1]));
      return;
    }
    if (args.size() == 3) {
      const std::string mode = absl::AsciiStrToLower(args[2]);
      if (mode != "sync" && mode != "async") {
        r.Error(errors::kFunctionFlushMode);
        return;
      }
    }
    while (!libraries_.empty()) DropLibrary(libraries_.begin()->first);
    ctx.AddDirty(1);
    r.Ok();
  } else if (sub == "list") {
    FunctionList(ctx, args);
  } else if (sub == "dump") {
    const bool compress = ctx.node.options().rdbcompression;
    r.Bulk(replication::FunctionsPayload(LibraryCodes(), compress));
  } else if (sub == "restore") {
    FunctionRestore(ctx, args);
  } else if (sub == "stats") {
    if (run_ != nullptr && !run_->function) {
      r.Error(server_.busy_script_error().empty() ? std::string(errors::kBusyScript)
                                                  : server_.busy_script_error());
      return;
    }
    FunctionStats(ctx);
  } else if (sub == "kill") {
    if (run_ != nullptr && !run_->function) {
      r.Error(errors::kBusyScript);
    } else if (run_ == nullptr) {
      r.Error(errors::kNotBusy);
    } else if (run_->caller->from_primary) {
      r.Error(errors::kUnkillableMaster);
    } else if (run_->wrote) {
      r.Error(errors::kUnkillableWrote);
    } else {
      run_->kill = true;
      r.Ok();
    }
  } else if (sub == "help") {
    static const char* kLines[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME "
        "argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored "
        "using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a "
        "restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, "
        "abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, "
        "replace the old",
        "      libraries with the new libraries (notice that even on this option there is a "
        "chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help."};
    r.ArrayHeader(std::size(kLines));
    for (const char* line : kLines) r.SimpleString(line);
  } else {
    r.Error(errors::SubcommandSyntax("function", args[1]));
  }
}

namespace {

std::vector<int> EvalKeys(std::span<const std::string> args) { return NumKeysIndexes(args, 2); }

}  // namespace

void RegisterScriptingCommands(CommandTable& table, ScriptEngine& engine) {
  ScriptEngine* e = &engine;
  const uint32_t eval_flags =
      kCmdNoScript | kCmdSkipMonitor | kCmdMayReplicate | kCmdNoMandatoryKeys | kCmdStale;
  const uint32_t ro_flags =
      kCmdNoScript | kCmdSkipMonitor | kCmdNoMandatoryKeys | kCmdStale | kCmdReadonly;
  struct Variant {
    const char* name;
    bool sha;
    bool ro;
    const char* summary;
    const char* since;
  };
  for (const Variant& v : {
           Variant{"eval", false, false, "Execute a Lua script server side", "2.6.0"},
           Variant{"evalsha", true, false, "Execute a Lua script server side", "2.6.0"},
           Variant{"eval_ro", false, true, "Execute a read-only Lua script server side", "7.0.0"},
           Variant{"evalsha_ro", true, true, "Execute a read-only Lua script server side", "7.0.0"},
       }) {
    const bool sha = v.sha;
    const bool ro = v.ro;
    table.Register({.name = v.name,
                    .arity = -3,
                    .flags = ro ? ro_flags : eval_flags,
                    .bound_handler = [e, sha, ro](CommandContext& ctx,
                                                  Args args) { e->Eval(ctx, args, sha, ro); },
                    .keys = EvalKeys,
                    .group = "scripting",
                    .summary = v.summary,
                    .since = v.since});
  }
  const BoundHandler script = [e](CommandContext& ctx, Args args) { e->ScriptCommand(ctx, args); };
  auto sub = [&](std::string_view name, int arity, uint32_t flags) {
    CommandSpec s = SubcommandSpec("script", name, arity, flags, CallBoundHandler, "scripting");
    s.bound_handler = script;
    return s;
  };
  CommandSpec parent{.name = "script",
                     .arity = -2,
                     .flags = 0,
                     .handler = CallBoundHandler,
                     .bound_handler = script,
                     .group = "scripting",
                     .summary = "A container for Lua scripts management commands",
                     .since = "2.6.0"};
  parent.subcommands = {
      sub("debug", 3, kCmdNoScript),
      sub("exists", -3, kCmdNoScript),
      sub("flush", -2, kCmdNoScript),
      sub("help", 2, kCmdLoading | kCmdStale),
      sub("kill", 2, kCmdNoScript | kCmdAllowBusy),
      sub("load", 3, kCmdNoScript | kCmdStale),
  };
  table.Register(std::move(parent));

  for (const bool ro : {false, true}) {
    table.Register(
        {.name = ro ? "fcall_ro" : "fcall",
         .arity = -3,
         .flags = ro ? ro_flags : eval_flags,
         .bound_handler = [e, ro](CommandContext& ctx, Args args) { e->Fcall(ctx, args, ro); },
         .keys = EvalKeys,
         .group = "scripting",
         .summary = ro ? "Invoke a read-only function" : "Invoke a function",
         .since = "7.0.0"});
  }
  const BoundHandler function = [e](CommandContext& ctx, Args args) {
    e->FunctionCommand(ctx, args);
  };
  auto fsub = [&](std::string_view name, int arity, uint32_t flags) {
    CommandSpec s = SubcommandSpec("function", name, arity, flags, CallBoundHandler, "scripting");
    s.bound_handler = function;
    return s;
  };
  CommandSpec fparent{.name = "function",
                      .arity = -2,
                      .flags = 0,
                      .handler = CallBoundHandler,
                      .bound_handler = function,
                      .group = "scripting",
                      .summary = "A container for function commands",
                      .since = "7.0.0"};
  fparent.subcommands = {
      fsub("delete", 3, kCmdWrite | kCmdNoScript),
      fsub("dump", 2, kCmdNoScript),
      fsub("restore", -3, kCmdWrite | kCmdDenyOom | kCmdNoScript),
      fsub("flush", -2, kCmdWrite | kCmdNoScript),
      fsub("help", 2, kCmdLoading | kCmdStale),
      fsub("kill", 2, kCmdNoScript | kCmdAllowBusy),
      fsub("list", -2, kCmdNoScript),
      fsub("load", -3, kCmdWrite | kCmdDenyOom | kCmdNoScript),
      fsub("stats", 2, kCmdNoScript | kCmdAllowBusy),
  };
  table.Register(std::move(fparent));
}

}  // namespace shardnode::node::script
