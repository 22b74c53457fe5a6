// NodeServices: the node-wide services a command handler may use, beside the
// shard it runs on (shard.h): options and CONFIG, the command table, the
// cluster state and bus, the clients registry, Pub/Sub, persistence,
// replication control, MIGRATE, shutdown, client pauses, the node's identity
// and its loading state. Server implements it; handlers receive it as
// CommandContext::node and never see the Server (its keyspace shards, write
// stream, slot tables, session bookkeeping).
//
// A narrow interface: virtual methods only, no state. They serve admin
// commands, not the data path (per-key access goes through the Shard,
// without virtual calls). Server holds the state behind them, and the
// wiring sets it through Server's setters and hooks.
//
// Loop: the control loop (thread 0).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"

namespace shardnode::clusterbus {
class ClusterState;
}
namespace shardnode::node::persist {
class Persistence;
}

namespace shardnode::node {

class CommandTable;
class Config;
class ClusterBus;
class PubSub;
class Tracking;
class KeyspaceEventQueue;
class ReplicationControl;
struct CommandContext;
struct Monitoring;
struct ServerOptions;
struct Session;
struct Stats;
struct CommandStats;

enum class ShutdownMode { kDefault, kSave, kNoSave };
// SHUTDOWN's options and shutdown-on-sigterm / shutdown-on-sigint's words,
// as bits (Redis's SHUTDOWN_* values; 0 is "default").
enum ShutdownFlag : int {
  kShutdownSave = 1,
  kShutdownNoSave = 2,
  kShutdownNow = 4,
  kShutdownForce = 8,
};
// What became of a shutdown request (NodeServices::RequestShutdown).
enum class ShutdownOutcome {
  kStopping,  // the node stops once the current command is answered
  kWaiting,   // a shutdown waits for lagging replicas (this one or an earlier one)
  kFailed,    // it cannot stop (the log says why), or nothing can stop it (tests)
};

// A dataset load in progress (a replica loading its primary's RDB). While
// `active`, the dispatcher refuses commands without the loading flag with
// -LOADING, INFO persistence reports loading:1 and the loading_* figures,
// and the cron leaves the dataset alone (no active expiry, no save points,
// no watchdog re-arm: Redis's cron does not run while it loads).
// `async` (Redis's async_loading, repl-diskless-load swapdb from the same
// history): the RDB goes to a dataset aside while the old one keeps being
// served; only commands flagged no_async_loading get -LOADING, and INFO
// reports async_loading:1 instead of loading:1. `active` is set too.
struct LoadingState {
  bool active = false;
  bool async = false;
  int64_t start_ms = 0;
  uint64_t total_bytes = 0;   // size of the RDB being loaded
  uint64_t loaded_bytes = 0;  // bytes of it decoded so far
  uint64_t rdb_used_mem = 0;  // the file's "used-mem" aux field
};

namespace acl {
class Acl;
}

class NodeServices {
 public:
  NodeServices(const NodeServices&) = delete;
  NodeServices& operator=(const NodeServices&) = delete;

  virtual Config& config() = 0;
  virtual const ServerOptions& options() const = 0;
  virtual const CommandTable& commands() const = 0;

  virtual bool cluster_enabled() const = 0;
  // nullptr when cluster-enabled is no.
  virtual clusterbus::ClusterState* cluster() = 0;
  // Carries out what the cluster state decided after a change made outside
  // the bus shell (CLUSTER MEET, ADDSLOTS...: cluster_setup.h).
  virtual void ApplyClusterEffects(int64_t now_ms) = 0;
  // Re-reads the cluster options after CONFIG SET (cluster_setup.h).
  virtual void RefreshClusterOptions() = 0;
  // Re-reads maxmemory, its policy and the LFU knobs after CONFIG SET, and
  // evicts at once when used memory is now over maxmemory (evictor.h); also
  // the encoding limits of the value types (zset-max-listpack-*).
  virtual void ApplyMemoryOptions(int64_t now_ms) { (void)now_ms; }
  // Rebuilds the TLS contexts from the tls-* options after CONFIG SET
  // (node/net/tls.h). Returns false, after logging why, when they do not
  // load; the old contexts stay. True without a TLS shell (tests).
  virtual bool ApplyTlsOptions() { return true; }
  // Listens on the new `port` (tls false) or `tls-port` (tls true) after
  // CONFIG SET; returns the reason CONFIG SET gives when it cannot (the
  // value then goes back). OK without a net shell (tests).
  virtual absl::Status ApplyListenPort(bool tls) {
    (void)tls;
    return absl::OkStatus();
  }
  // Listens at the bind addresses set by CONFIG SET (those of `previous`
  // were in use); returns CONFIG SET's reason when it cannot (the value
  // then goes back). OK without a net shell (tests).
  virtual absl::Status ApplyBind(const std::vector<std::string>& previous) {
    (void)previous;
    return absl::OkStatus();
  }
  // Sets the process's OOM score from oom-score-adj(-values) and the
  // node's role (node/server/oom_score.h). OK without a process (tests).
  virtual absl::Status ApplyOomScore() { return absl::OkStatus(); }
  // Shows proc-title-template's expansion as the process title
  // (node/server/proc_title.h). No-op without a process (tests).
  virtual void ApplyProcTitle() {}
  // SHUTDOWN ABORT: cancels the shutdown a stop signal scheduled, or one
  // waiting for its replicas (its SHUTDOWN clients get an error); false
  // when there is none.
  virtual bool AbortShutdown() { return false; }
  // While a shutdown waits for its replicas: when it stops waiting (ms,
  // INFO shutdown_in_milliseconds); 0 otherwise.
  virtual int64_t shutdown_deadline_ms() const { return 0; }

  // Connected clients by id (CLIENT LIST / KILL, INFO clients).
  virtual std::map<uint64_t, Session*>& clients() = 0;
  // CLIENT UNBLOCK: ends client `id`'s blocking command (blocking.h's
  // UnblockClientById). Returns whether it was blocked.
  virtual bool UnblockClient(uint64_t id, bool with_error) = 0;
  virtual PubSub& pubsub() = 0;
  // The ACL users, rules and log (node/acl); null in tests without them.
  virtual acl::Acl* acl() { return nullptr; }
  // Client-side caching: CLIENT TRACKING and its invalidations (tracking.h).
  virtual Tracking& tracking() = 0;
  // SLOWLOG, LATENCY events and MONITOR clients (monitoring.h).
  virtual Monitoring& monitoring() = 0;
  // The statistics of every shard view summed (INFO), all of them reset
  // (CONFIG RESETSTAT), and the save points' change counter set (a save,
  // DEBUG LOADAOF): a command counts on its own view (Shard::stats) and
  // reaches the others only through these.
  virtual Stats TotalStats() const = 0;
  virtual void ResetStats() = 0;
  // One command's statistics (by CommandSpec::stats_index) summed over the
  // shard views (INFO commandstats / latencystats, LATENCY HISTOGRAM).
  virtual CommandStats TotalCommandStats(int index) const = 0;
  virtual void SetDirty(uint64_t dirty) = 0;
  // MIGRATE's cached target connections (INFO stats); 0 without MIGRATE.
  virtual size_t migrate_cached_sockets() const { return 0; }
  // Whether shard threads run commands now (Server::shard_commands).
  virtual bool shard_commands() const { return false; }

  virtual const std::string& run_id() const = 0;
  virtual int64_t start_ms() const = 0;

  // Paused clients (Redis's pauseClients): CLIENT PAUSE, and a primary in
  // a manual failover (a replica sent MFSTART). Until a pause's wall-clock
  // end, client commands that may write (or, for an ALL pause, every
  // command) wait, parked by the net shell, and neither expiry nor the
  // replication stream moves. Each purpose holds its own pause.
  enum class PausePurpose { kClientCommand, kFailover, kShutdown };
  // Starts (or replaces) the pause of `purpose`.
  virtual void PauseClients(PausePurpose purpose, int64_t until_ms, bool all) = 0;
  // Ends the pause of `purpose`; when none is left, every parked session
  // resumes.
  virtual void UnpauseClients(PausePurpose purpose) = 0;

  // LASTSAVE (ms); 0 until the first save.
  virtual int64_t last_save_ms() const = 0;
  // DEBUG PAUSE-CRON: whether the periodic jobs (the cron) are stopped.
  virtual void set_cron_paused(bool paused) { (void)paused; }
  // DEBUG REPLYBUFFER PEAK-RESET-TIME (ms, -1: never) and RESIZING.
  virtual void set_reply_buffer_peak_reset_ms(int64_t ms) { (void)ms; }
  virtual void set_reply_buffer_resizing(bool on) { (void)on; }
  // DEBUG SET-DISABLE-DENY-SCRIPTS: whether scripts may call commands
  // flagged noscript (Redis's test hook).
  virtual void set_script_allows_noscript(bool allow) { (void)allow; }
  // DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE does not check the CRC of
  // its payloads.
  virtual bool skip_checksum_validation() const { return false; }
  virtual void set_skip_checksum_validation(bool skip) { (void)skip; }
  // DEBUG SET-ACTIVE-EXPIRE: whether the cron's active expiry cycle runs.
  virtual void set_active_expire_enabled(bool enabled) = 0;
  // The dataset load in progress, if any.
  virtual const LoadingState& loading() const = 0;
  // RDB files (node/persist: SAVE, BGSAVE, save points). Null in tests.
  virtual persist::Persistence* persistence() = 0;
  // The replication manager (node/repl). Null in tests.
  virtual ReplicationControl* replication() = 0;
  // The cluster bus shell (cluster mode, once it listens), or null.
  virtual ClusterBus* cluster_bus() = 0;
  virtual int tcp_port() const = 0;                    // the port actually bound
  virtual const std::string& executable() const = 0;   // absolute path of the binary
  virtual const std::string& config_file() const = 0;  // absolute path, or empty

  // While a script runs past busy-reply-threshold (node/script): the -BUSY
  // error every command without the allow-busy flag gets; empty otherwise.
  virtual const std::string& busy_script_error() const = 0;
  // INFO memory's scripting lines (used_memory_lua, number_of_cached_scripts,
  // ...), each ending in CRLF; empty without a scripting engine (tests).
  virtual std::string ScriptMemoryInfo() = 0;
  // SHUTDOWN with `flags` (ShutdownFlag bits), as Redis's prepareForShutdown:
  // without kShutdownNow and with shutdown-timeout > 0, lagging replicas
  // are waited for (writes paused meanwhile) and kWaiting is returned: the
  // caller suspends its client (WaitReason::kShutdown), which is answered
  // with an error if the shutdown is aborted or fails, and dropped when the
  // node stops. A request while one waits also gets kWaiting.
  virtual ShutdownOutcome RequestShutdown(int flags, int64_t now_ms) = 0;
  // Saves nodes.conf (cluster mode). Returns false and sets *error on
  // failure (left untouched when nothing can save it).
  virtual bool SaveClusterConfig(bool fsync, std::string* error) = 0;
  // Sends a PUBLISH (shard=false) or SPUBLISH (shard=true) to the other
  // nodes over the cluster bus. No-op outside cluster mode.
  virtual void ClusterPublish(std::string_view channel, std::string_view message, bool shard) = 0;
  // Publishes a keyspace notification of class `type` (node/keyspace/notify.h)
  // as notify-keyspace-events says (keyspace_events.h; no-op when off); on a
  // shard thread, queues it for the control loop.
  void NotifyKeyspaceEvent(int type, std::string_view event, std::string_view key, int db);
  // Where shard threads queue their events; null without shard threads.
  virtual KeyspaceEventQueue* keyspace_event_queue() { return nullptr; }
  // Blocks the whole node for `ms` (DEBUG SLEEP). No-op without a shell.
  virtual void Sleep(int64_t ms) = 0;
  // Runs MIGRATE (node/migrate's Migrator): it replies at once or suspends
  // the client (kMigrate). Returns false, without replying, when MIGRATE is
  // not wired (tests without the net shell).
  virtual bool Migrate(CommandContext& ctx, std::span<std::string> args) = 0;
  // Runs the heavy part of a command off the loop (a big RESTORE decoding
  // its payload): suspends the client (kMigrate) and holds `key` in flight
  // (every other command on it waits, KeysInFlight), runs `work` on another
  // thread, then `finish` back on the loop with a fresh context for the
  // same client, command and database: its reply, changes and propagation
  // (propagate_as / propagate_many: the arguments as received are gone)
  // are the command's. A client that left meanwhile is not finished.
  // `work` must not touch the keyspace. Only when CanRunOffLoop() (not in
  // tests without the net shell: the command then does everything at once).
  virtual bool CanRunOffLoop() const = 0;
  virtual void RunOffLoop(CommandContext& ctx, std::string_view key, std::function<void()> work,
                          std::function<void(CommandContext&)> finish) = 0;
  // Atomic slot migration (node/migrate/atomic_migrator.h): CLUSTER
  // MIGRATESLOTS, GETSLOTMIGRATIONS, CANCELSLOTMIGRATIONS and the internal
  // SYNCSLOTS. Returns false, without replying, when it is not wired.
  virtual bool SlotMigrationCommand(CommandContext& ctx, std::span<std::string> args) {
    (void)ctx;
    (void)args;
    return false;
  }
  // Whether keys of `slot` are being imported by an atomic slot migration:
  // they stay hidden from KEYS, SCAN, RANDOMKEY, DBSIZE, COUNTKEYSINSLOT,
  // GETKEYSINSLOT and INFO keyspace until the handoff.
  virtual bool SlotHidden(int slot) const {
    (void)slot;
    return false;
  }
  // Whether any slot is hidden (a cheap check before walking slots).
  virtual bool AnySlotHidden() const { return false; }
  // While an atomic slot migration job is in progress here, the error
  // (without "ERR ") CLUSTER SETSLOT is refused with, as Valkey: "Slot import
  // in progress." or "Slot export in progress."; empty when none is.
  virtual std::string_view SlotMigrationBusy() const { return {}; }

 protected:
  NodeServices() = default;
  ~NodeServices() = default;
};

// 40 random lowercase hex characters (run ids, node ids; defined in
// server.cc).
std::string RandomHexId();

}  // namespace shardnode::node
