// Dispatcher: runs one parsed command for a session. It decides everything
// that is common to all commands before any handler runs, in Redis's order:
// lookup (unknown command / subcommand), arity, authentication, MULTI
// queuing, cluster routing (MOVED / ASK / CROSSSLOT / CLUSTERDOWN / TRYAGAIN),
// then grants the command the shards of its key arguments (GrantFor: its
// context reaches no other) and calls the handler, or, for a command that
// spans shards, runs its fan-out: the per-shard steps, then the merge that
// replies (fan_out.h).
// MULTI, EXEC and DISCARD are implemented here because EXEC re-enters it.
//
// One per thread that runs commands: the control loop's, and with shard
// threads one per shard thread (`home_shard`: its keyspace shard), which
// runs the plain data commands of that shard only (shard.h) and leaves out
// what their state never needs there (client tracking's bookkeeping: no
// tracking client exists while shard threads run commands).
//
// Loop: the loop that owns the session. Not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "clusterbus/slot_table.h"
#include "node/commands/command.h"
#include "node/server/server.h"

namespace shardnode::resp {
class ReplyBuilder;
}

namespace shardnode::node {

class Server;
struct Session;

class Dispatcher {
 public:
  // REQUIRES: `server` (and its command table) outlive the dispatcher.
  // The control loop's dispatcher (its refusals count in shard 0's view).
  explicit Dispatcher(Server& server);
  // A shard thread's: `home_shard` is the keyspace shard the thread serves
  // (its refusals count in that shard's view).
  Dispatcher(Server& server, int home_shard);

  // True for a shard thread's dispatcher.
  bool on_shard_thread() const { return shard_thread_; }
  int home_shard() const { return home_shard_; }
  // Where a shard thread may run `args` for `session` (REQUIRES:
  // on_shard_thread(), Server::shard_commands()): the keyspace shard of a
  // plain data command whose keys are all in that shard (not blocking,
  // admin, Pub/Sub, scripting, a transaction's, nor one spanning shards),
  // kAnyShard for PING and ECHO, or kControlLoop: any other command, or
  // any command of a session in a state that the control loop keeps
  // (MULTI, a suspended command, subscriptions, tracking, MONITOR, a
  // replica or primary link, a script's or an import link's client).
  static constexpr int kControlLoop = -1;
  static constexpr int kAnyShard = -2;
  int PlainShard(const Session& session, const std::vector<std::string>& args) const;

  // Executes `args` (args[0] is the command name; REQUIRES: non-empty) and
  // appends exactly one reply to `out`, unless the command suspends its
  // session (suspend.h): then no reply now; for a command to be retried
  // (kKeysBusy, kPause) the caller keeps `args` untouched and runs it again
  // when the session resumes. `now_ms` is the wall clock.
  void Execute(Session& session, std::vector<std::string>& args, resp::ReplyBuilder& out,
               int64_t now_ms);

  // True when `args` must wait while clients are paused (CLIENT PAUSE, a
  // manual failover): with an ALL pause any command but a replica's
  // REPLCONF, else a command that may write or replicate (write or
  // may_replicate flag: EVAL, FCALL, PUBLISH) or an EXEC with such a command
  // queued. The primary's stream waits too (ReplicationManager parks it,
  // as Redis pauses its master client). REQUIRES: WritesPaused.
  bool WaitsForPause(const Session& session, const std::vector<std::string>& args,
                     int64_t now_ms) const;

  // Whether the command reports on other clients' input and memory (INFO,
  // CLIENT LIST, CLIENT KILL): at `threads N` > 1 such a command first lets
  // every shard thread deliver what its clients' sockets hold (net_server.cc's
  // input fence), so it sees the bytes another client sent before it, as
  // Redis's single event loop reads them first. Not inside MULTI (queued).
  bool ObservesOtherClients(const Session& session, const std::vector<std::string>& args) const;

  // Whether `args` touches a key that a MIGRATE has in flight (or every
  // key: FLUSHALL); such a command waits (suspend.h's kKeysBusy).
  bool TouchesKeysInFlight(const Session& session, const std::vector<std::string>& args) const;
  // Whether the command (EXEC: a queued one) writes to a slot whose writes
  // an atomic migration's handoff holds.
  bool WritesToPausedSlot(const Session& session, const std::vector<std::string>& args) const;

  // Runs one command for a script (redis.call): `session` is the script's
  // client, the checks were the script engine's (node/script). Does what a
  // client command's call does: the handler, its writes to the write stream
  // for `targets` (redis.set_repl: the AOF, replicas, both or none),
  // statistics. REQUIRES: inside the caller's execution unit, so that the
  // script's writes travel together.
  void CallForScript(Session& session, const CommandSpec& spec, std::vector<std::string>& args,
                     resp::ReplyBuilder& out, int64_t now_ms, WriteTargets targets);

  // Registers MULTI, EXEC and DISCARD (whose work is done here).
  static void RegisterTransactionCommands(class CommandTable& table);

 private:
  Dispatcher(Server& server, int home_shard, bool shard_thread);
  // The refusal of the replication state (ReplicationControl::CheckCommand)
  // for `spec`; for EXEC, that of the commands it queued.
  std::string ReplicationRefusal(const Session& session, const CommandSpec& spec) const;
  // Whether `spec` is refused when the node is out of memory (Redis's
  // deny-oom rule, with EXEC's queue and MULTI's queueing).
  bool DeniedOnOom(const Session& session, const CommandSpec& spec) const;

  // Looks up the command (and subcommand). On failure appends the error.
  const CommandSpec* Resolve(Session& session, const std::vector<std::string>& args,
                             resp::ReplyBuilder& out);
  // Whether the enable-<debug|module>-command setting lets `session` run the
  // protected command `spec`.
  bool ProtectedAllowed(const Session& session, const CommandSpec& spec);
  // The table entry of `args` (subcommand resolved), or null; replies
  // nothing.
  const CommandSpec* Lookup(const std::vector<std::string>& args) const;
  // Whether `test` holds for any command queued by `session`'s MULTI.
  using QueuedTest =
      std::function<bool(const CommandSpec& spec, const std::vector<std::string>& args)>;
  bool AnyQueued(const Session& session, const QueuedTest& test) const;
  // What a script command `spec` with `args` declares (kUndeclared for any
  // other command).
  ScriptWrites ScriptWritesOf(const CommandSpec& spec, std::span<const std::string> args) const;
  // Redis's is_may_replicate_command for one command: paused by CLIENT PAUSE
  // WRITE.
  bool MayReplicate(const CommandSpec& spec, std::span<const std::string> args) const;
  // Cluster routing for one command, or for all queued ones when `exec`.
  // Returns false after appending the redirection error.
  bool Route(Session& session, const CommandSpec& spec, const std::vector<std::string>& args,
             resp::ReplyBuilder& out, int64_t now_ms);
  void Call(Session& session, const CommandSpec& spec, std::vector<std::string>& args,
            resp::ReplyBuilder& out, int64_t now_ms);
  // Execute's work, with `session` the tracking's current client.
  void ExecuteAsCurrent(Session& session, std::vector<std::string>& args, resp::ReplyBuilder& out,
                        int64_t now_ms);
  // After a read-only command: client-side caching remembers the keys the
  // tracking client read (a script's read: its caller's declared keys).
  void RememberTrackedKeys(Session& session, const CommandSpec& spec);
  // Returns false when EXEC itself failed (without MULTI, EXECABORT).
  bool Exec(Session& session, resp::ReplyBuilder& out, int64_t now_ms);
  // After a command ran (from `start`): its statistics, latency histogram
  // and events, the slow log, and the MONITOR clients' line. Counted on
  // `view`, the view the command ran on (null: the control loop's).
  void Record(Session& session, const CommandSpec& spec, const std::vector<std::string>& args,
              int64_t start, int64_t now_ms, Shard* view = nullptr);
  // Sends the MONITOR clients the line of `args` as `session` ran it
  // (`redacted`: RedactedArgs(args), when already known).
  void FeedMonitors(const Session& session, const std::vector<std::string>& args,
                    const std::vector<int>* redacted = nullptr);
  // That line, timed now.
  std::string MonitorLineOf(const Session& session, const std::vector<std::string>& args,
                            const std::vector<int>& redacted) const;
  // Redis's writeCommandsDeniedByDiskError: the error refusing `spec` when
  // it (or, for EXEC, a queued command) writes or is PING, after a failed
  // BGSAVE (stop-writes-on-bgsave-error: MISCONF) or AOF write (aof.h);
  // empty when it may run.
  std::string_view DiskError(const Session& session, const CommandSpec& spec) const;
  // Adds an error reply and, inside MULTI, flags the transaction.
  // `spec`, when known, counts the refusal in its rejected_calls.
  void Reject(Session& session, resp::ReplyBuilder& out, std::string_view error,
              const CommandSpec* spec = nullptr);

  // The view counting what this dispatcher refuses and MULTI/EXEC/DISCARD.
  Shard& home_view() { return server_.shard_view(home_shard_); }

  Server& server_;
  const int home_shard_;
  const bool shard_thread_;
  // PlainShard's plain data commands, by CommandSpec::stats_index.
  std::vector<bool> plain_;
  const CommandSpec* multi_;
  const CommandSpec* exec_;
  const CommandSpec* discard_;
  const CommandSpec* info_;
  const CommandSpec* client_list_;
  const CommandSpec* client_kill_;
  // Where the running command's writes go: CallForScript's targets
  // (redis.set_repl), every consumer otherwise.
  WriteTargets propagate_targets_ = kToAll;
  // The client command running (not a script's), for RememberTrackedKeys.
  const CommandSpec* client_spec_ = nullptr;
  std::vector<std::string>* client_args_ = nullptr;
  // Route's cached view of the published slot table.
  clusterbus::SlotTableReader slot_table_;
};

}  // namespace shardnode::node
