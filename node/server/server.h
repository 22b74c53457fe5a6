// Server: the node-wide state: options, the keyspace shards, the cluster
// state, clients and statistics. It holds no sockets: the net shell and
// node/app/data_node.cc own the I/O and install the hooks below and
// NodeServices's. Command handlers do not see it: they get the shard view
// (local_shard(), shard.h) and the NodeServices it implements.
//
// Shards: the keyspace is split by hash slot into num_shards() Keyspaces.
// Today every shard is served by one thread; the seam is kept so that every
// key a command touches is found in ShardForSlot(its slot) (handlers use
// CommandContext::DbFor, bound to the shards the dispatcher granted) and
// commands that span shards run as fan-outs that the dispatcher drives
// (node/commands/fan_out.h).
//
// Loop: the control loop (thread 0) owns it.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "clusterbus/slot_table.h"
#include "node/acl/acl.h"
#include "node/config/options.h"
#include "node/server/blocking.h"
#include "node/server/evictor.h"
#include "node/server/keys_in_flight.h"
#include "node/server/keyspace_events.h"
#include "node/server/monitoring.h"
#include "node/server/node_services.h"
#include "node/server/pubsub.h"
#include "node/server/session.h"
#include "node/server/shard.h"
#include "node/server/tracking.h"
#include "node/server/watch.h"
#include "node/server/write_stream.h"
#include "replication/output_limit.h"
#include "slots/slot_set.h"

namespace shardnode::clusterbus {
class ClusterState;
}
namespace shardnode::node::persist {
class Persistence;
}

namespace shardnode::node {

// What a script command declares about writing, as Redis's
// scriptFlagsToCmdFlags reads it: a script without flags (no shebang) or one
// not found keeps EVAL's own flags (may replicate: routed as a read, paused
// by CLIENT PAUSE WRITE); one with flags is a write unless it says no-writes.
enum class ScriptWrites { kUndeclared, kWrites, kNoWrites };

// Holds the replies of clients back while the AOF has bytes not yet on
// disk (node/persist/aof.h): a connection that finds the gate held waits
// for its release before writing anything to its socket, so no reply
// leaves before the writes it acknowledges were written (and fsynced with
// appendfsync always). The holder says how to write now (`flush`, which
// ends with Release): the end of a global step does it (ReleaseNow), so
// the gate is never held while shard threads run commands. Loop: the
// control loop.
class OutputGate {
 public:
  bool held() const { return held_; }
  void Hold(std::function<void()> flush) {
    held_ = true;
    flush_ = std::move(flush);
  }
  // Runs `fn` at the next Release. REQUIRES: held().
  void Wait(std::function<void()> fn) { waiters_.push_back(std::move(fn)); }
  void Release() {
    held_ = false;
    flush_ = nullptr;
    std::vector<std::function<void()>> waiters;
    waiters.swap(waiters_);
    for (auto& fn : waiters) fn();
  }
  // The holder writes now and releases (a no-op when not held).
  void ReleaseNow() {
    if (!held_) return;
    if (auto flush = std::move(flush_)) {
      flush();
    } else {
      Release();
    }
  }

 private:
  bool held_ = false;
  std::function<void()> flush_;
  std::vector<std::function<void()>> waiters_;
};

class Keyspace;
class CommandTable;
class Config;
class ClusterBus;
class ReplicationControl;
class Server final : public NodeServices {
 public:
  // REQUIRES: `config` and `commands` outlive the server.
  Server(Config* config, const CommandTable* commands);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Config& config() override { return *config_; }
  const ServerOptions& options() const override;
  const CommandTable& commands() const override { return *commands_; }

  // The shard views, one per keyspace shard (one per shard thread once
  // there are several): each sees every keyspace shard (DbFor checks the
  // grant), the node's watch and blocking indexes and keys in flight, and
  // its own statistics. The dispatcher runs a command granted one shard on
  // that shard's view and every other command on view 0, the control
  // loop's (local_shard()).
  Shard& local_shard() { return *local_shard_; }
  Shard& shard_view(int i) { return *shard_views_[i]; }
  // Makes every view's statistics for `count` commands exist now
  // (Shard::command_stats allocates on the first use of a new chunk).
  void ReserveCommandStats(int count) {
    if (count <= 0) return;
    for (auto& view : shard_views_) view->command_stats(count - 1);
  }

  int num_shards() const { return static_cast<int>(shards_.size()); }
  Keyspace& shard(int i) { return *shards_[i]; }
  int ShardIndexForSlot(int slot) const { return KeyspaceShardOfSlot(slot, num_shards()); }
  Keyspace& ShardForSlot(int slot) { return *shards_[ShardIndexForSlot(slot)]; }
  bool cluster_enabled() const override { return cluster_ != nullptr; }
  // nullptr when cluster-enabled is no.
  clusterbus::ClusterState* cluster() override { return cluster_.get(); }
  void ApplyClusterEffects(int64_t now_ms) override;
  void RefreshClusterOptions() override;
  bool ApplyTlsOptions() override { return !configure_tls || configure_tls(); }
  absl::Status ApplyListenPort(bool tls) override {
    return change_listen_port ? change_listen_port(tls) : absl::OkStatus();
  }
  absl::Status ApplyOomScore() override;
  bool AbortShutdown() override { return abort_shutdown && abort_shutdown(); }
  int64_t shutdown_deadline_ms() const override {
    return shutdown_deadline ? shutdown_deadline() : 0;
  }
  void ApplyProcTitle() override {
    if (update_proc_title) update_proc_title();
  }
  absl::Status ApplyBind(const std::vector<std::string>& previous) override {
    return change_bind ? change_bind(previous) : absl::OkStatus();
  }
  // Installs the cluster state and publishes its first slot table.
  void set_cluster(std::unique_ptr<clusterbus::ClusterState> cluster);
  // Routing's view of the cluster (seam 4): an immutable slot table that the
  // cluster side publishes; readers (the dispatcher) keep a SlotTableReader
  // on it. Empty outside cluster mode.
  const clusterbus::SlotTableBox& slot_tables() const { return slot_tables_; }
  // Rebuilds the slot table from the cluster state and publishes it when
  // routing would change. The cluster shell calls it after every change
  // to the cluster state (ApplyClusterEffects, option refreshes, slots
  // claimed while loading data). No-op outside cluster mode.
  void PublishSlotTable();

  // The control loop's statistics (shard 0's): what the control loop
  // counts (connections, the cron, replication, evictions). A command
  // counts on its shard view's (Shard::stats). Readers sum them all.
  Stats& stats() { return local_shard().stats(); }
  // Every shard's statistics summed (INFO, the cron's samples); errorstats
  // merged, at most 128 codes as each shard keeps.
  Stats TotalStats() const override;
  // One figure summed over the shards (no copy of the error table).
  uint64_t TotalStat(uint64_t Stats::*field) const;
  // CONFIG RESETSTAT: every shard's statistics (Stats::Reset keeps dirty)
  // and every database's lookup and expiry counters.
  void ResetStats() override;
  CommandStats TotalCommandStats(int index) const override;
  // The save points' change counter: summed by TotalStat(&Stats::dirty);
  // set here on shard 0, the others zeroed (a save, DEBUG LOADAOF).
  void SetDirty(uint64_t dirty) override;
  Evictor& evictor() { return evictor_; }
  // Whether the command running found the node out of memory when it
  // started (Redis's pre_command_oom_state): scripts check it.
  bool pre_command_oom() const { return pre_command_oom_; }
  void set_pre_command_oom(bool oom) { pre_command_oom_ = oom; }
  void ApplyMemoryOptions(int64_t now_ms) override;
  // Sets the encoding limits the value types read (zset-max-listpack-*).
  void ApplyEncodingOptions();
  PubSub& pubsub() override { return pubsub_; }
  KeyspaceEventQueue* keyspace_event_queue() override { return &keyspace_events_; }
  acl::Acl* acl() override { return &acl_; }
  acl::Acl& acl_ref() { return acl_; }
  // Redis's authRequired: the default user needs a password (or is off)
  // and the session has not authenticated.
  bool AuthRequired(const Session& s) const {
    const acl::User& d = acl_.default_user();
    return (!d.nopass || !d.enabled) && !s.authenticated;
  }
  // A new connection's user and auth state (Redis's clientSetDefaultAuth).
  void SetDefaultAuth(Session& s) {
    s.user = &acl_.default_user();
    s.authenticated = s.user->nopass && s.user->enabled;
  }
  Monitoring& monitoring() override { return monitoring_; }
  // Sends `line` to every MONITOR client.
  void SendToMonitors(const std::string& line);
  // Sends the lines the shard threads queued (Monitoring::shard_lines).
  void SendQueuedMonitorLines() {
    for (const std::string& line : monitoring_.shard_lines.TakeAll()) SendToMonitors(line);
  }
  size_t migrate_cached_sockets() const override {
    return cached_migrate_sockets ? cached_migrate_sockets() : 0;
  }
  // WATCH: one table per keyspace shard (watch.h); keyspace i's hooks
  // touch table i.
  WatchIndex& watches() { return watches_; }
  Tracking& tracking() override { return tracking_; }
  KeysInFlight& keys_in_flight() { return keys_in_flight_; }
  // Blocked clients: the records, and one BlockedKeys per keyspace shard
  // (blocking.h); keyspace i's hooks signal BlockedKeys i.
  BlockingTable& blocking() { return blocking_; }

  // Connected clients by id (CLIENT LIST / KILL, INFO clients).
  std::map<uint64_t, Session*>& clients() override { return clients_; }
  bool UnblockClient(uint64_t id, bool with_error) override;
  // Drops every pointer the node keeps to `session`: the client table, the
  // blocked-client, Pub/Sub and WATCH indexes. Idempotent. The net shell
  // calls it when the connection is killed or closes (Redis's freeClient:
  // a killed client is gone at once, even while its socket still drains),
  // and only then may the Session be destroyed.
  void DetachSession(Session& session);
  // Flags `session` as a replica of ours (SYNC/PSYNC: CLIENT LIST flag S).
  void MarkReplica(Session& session) {
    if (!session.replica) ++replica_sessions_;
    session.replica = true;
  }
  // At least the number of connected replica sessions (0: none, so there
  // are no replica output buffers to leave out of maxmemory).
  int replica_sessions() const { return replica_sessions_; }
  uint64_t NextClientId() { return ++last_client_id_; }
  // Client eviction (maxmemory-clients): while the normal and Pub/Sub
  // clients together take more than the limit, closes the biggest one that
  // may be evicted (not CLIENT NO-EVICT, not a replica or our primary's
  // link), as Redis's evictClients. Returns how many were closed.
  // Only when the running total of the clients' memory (UpdateClientMemory)
  // reaches the limit are they all weighed again (and the total made
  // exact): a command does not walk every client.
  size_t EvictClients();
  // Counts `s`'s memory again in that running total, as Redis's
  // updateClientMemUsageAndBucket: after each command, after its output
  // was written or pushed, from the cron. Nothing while there is no limit
  // (the total is rebuilt when one is set). Any thread may call it for the
  // session it runs (the total is atomic).
  void UpdateClientMemory(Session& s);
  // Whether EvictClients has work: a limit is set and the running total
  // reached it, or was not built for it yet. Commands then run on the
  // control loop (Dispatcher::PlainShard), which evicts before them.
  bool NeedsClientEviction() const;
  // The limit in bytes (a percentage of maxmemory when negative; at least
  // 128 KB), or 0 when there is none.
  size_t ClientEvictionLimit() const;
  // client-output-buffer-limit for normal and Pub/Sub clients (replicas:
  // node/repl), as Redis's checkClientOutputBufferLimits: whether `s`, with
  // output_buffer_bytes pending, passed its class's hard limit or stayed
  // over the soft one too long (its soft clock is updated). When it did,
  // the close is logged as Redis logs it, scheduled (`async`: the net
  // shell closes it once the command or push that grew the buffer ended)
  // or done at once; the caller closes it.
  bool OutputLimitReached(Session& s, int64_t now_ms, bool async);
  // The cron's pass: closes the clients over their limit (a soft limit
  // running out while nothing more is written).
  void CloseClientsOverOutputLimit(int64_t now_ms);

  const std::string& run_id() const override { return run_id_; }
  int64_t start_ms() const override { return start_ms_; }
  void set_start_ms(int64_t ms) { start_ms_ = ms; }

  // NodeServices's state, and what the wiring sets of it.
  int64_t last_save_ms() const override { return last_save_ms_; }
  void set_last_save_ms(int64_t ms) { last_save_ms_ = ms; }
  bool cron_paused() const { return cron_paused_; }
  void set_cron_paused(bool paused) override { cron_paused_ = paused; }
  // The cron's reply buffer resizing (ResizeReplyBuffer), DEBUG REPLYBUFFER.
  int64_t reply_buffer_peak_reset_ms() const { return reply_buffer_peak_reset_ms_; }
  void set_reply_buffer_peak_reset_ms(int64_t ms) override { reply_buffer_peak_reset_ms_ = ms; }
  bool reply_buffer_resizing() const { return reply_buffer_resizing_; }
  void set_reply_buffer_resizing(bool on) override { reply_buffer_resizing_ = on; }
  bool script_allows_noscript() const { return script_allows_noscript_; }
  void set_script_allows_noscript(bool allow) override { script_allows_noscript_ = allow; }
  bool skip_checksum_validation() const override { return skip_checksum_validation_; }
  void set_skip_checksum_validation(bool skip) override { skip_checksum_validation_ = skip; }
  bool active_expire_enabled() const { return active_expire_enabled_; }
  void set_active_expire_enabled(bool enabled) override { active_expire_enabled_ = enabled; }
  const LoadingState& loading() const override { return loading_; }
  LoadingState& mutable_loading() { return loading_; }
  persist::Persistence* persistence() override { return persistence_; }
  // Borrowed; set by the wiring (main), never in tests.
  void set_persistence(persist::Persistence* p) { persistence_ = p; }
  ReplicationControl* replication() override { return replication_; }
  const ReplicationControl* replication() const { return replication_; }
  void set_replication(ReplicationControl* r) { replication_ = r; }  // borrowed
  ClusterBus* cluster_bus() override { return cluster_bus_; }
  void set_cluster_bus(ClusterBus* bus) { cluster_bus_ = bus; }  // borrowed
  int tcp_port() const override { return tcp_port_; }
  void set_tcp_port(int port) { tcp_port_ = port; }
  const std::string& executable() const override { return executable_; }
  void set_executable(std::string path) { executable_ = std::move(path); }
  const std::string& config_file() const override { return config_file_; }
  void set_config_file(std::string path) { config_file_ = std::move(path); }
  ShutdownOutcome RequestShutdown(int flags, int64_t now_ms) override;
  bool SaveClusterConfig(bool fsync, std::string* error) override;
  void ClusterPublish(std::string_view channel, std::string_view message, bool shard) override;
  void Sleep(int64_t ms) override;
  bool Migrate(CommandContext& ctx, std::span<std::string> args) override;
  bool SlotMigrationCommand(CommandContext& ctx, std::span<std::string> args) override;
  bool SlotHidden(int slot) const override { return hidden_count_ > 0 && hidden_slots_.Test(slot); }
  bool AnySlotHidden() const override { return hidden_count_ > 0; }
  std::string_view SlotMigrationBusy() const override {
    return slot_migration_busy ? slot_migration_busy() : std::string_view();
  }
  // Atomic slot migration, target side: hides (or shows again) the keys
  // of `slots` (see NodeServices::SlotHidden).
  void SetSlotsHidden(const slots::SlotSet& slots, bool hidden);
  // Makes `slots` exactly the hidden set (a replica, from its primary's
  // CLUSTER SYNCSLOTS HIDDEN).
  void SetHiddenSlots(const slots::SlotSet& slots);
  const slots::SlotSet& hidden_slots() const { return hidden_slots_; }
  // Atomic slot migration, source side: writes to `slots` wait (suspended
  // with kPause, run again when the pause ends: by then the slots may have
  // moved and the writer gets MOVED). Reads and other slots go on.
  void SetSlotWritesPaused(const slots::SlotSet& slots, bool paused);
  bool SlotWritesPaused(int slot) const {
    return paused_slot_count_ > 0 && paused_write_slots_.Test(slot);
  }
  bool AnySlotWritesPaused() const { return paused_slot_count_ > 0; }
  // Parks a session whose write touches a paused slot.
  void ParkForSlotPause(Session& session);
  const std::string& busy_script_error() const override { return busy_script_error_; }
  void set_busy_script_error(std::string error) { busy_script_error_ = std::move(error); }
  std::string ScriptMemoryInfo() override {
    return script_memory_info ? script_memory_info() : std::string();
  }
  bool CanRunOffLoop() const override { return static_cast<bool>(run_off_loop); }
  void RunOffLoop(CommandContext& ctx, std::string_view key, std::function<void()> work,
                  std::function<void(CommandContext&)> finish) override {
    run_off_loop(ctx, key, std::move(work), std::move(finish));
  }

  // Hooks installed by the shells (each unset until then).
  // RequestShutdown (node/app/shutdown_sequence.h).
  std::function<ShutdownOutcome(int flags, int64_t now_ms)> request_shutdown;
  // shutdown_deadline_ms (node/app/shutdown_sequence.h).
  std::function<int64_t()> shutdown_deadline;
  // Saves nodes.conf (cluster mode). Returns false and sets *error on failure.
  std::function<bool(bool fsync, std::string* error)> save_cluster_config;
  // Sends a (S)PUBLISH to the other nodes over the cluster bus.
  std::function<void(std::string_view channel, std::string_view message, bool shard)>
      cluster_publish;
  // Blocks the whole node for `ms` (DEBUG SLEEP).
  std::function<void(int64_t ms)> sleep;
  // Runs MIGRATE (installed by node/migrate's Migrator).
  std::function<void(CommandContext& ctx, std::span<std::string> args)> migrate;
  // Runs a command's heavy part off the loop (NodeServices::RunOffLoop;
  // installed by node/migrate's Migrator).
  std::function<void(CommandContext& ctx, std::string_view key, std::function<void()> work,
                     std::function<void(CommandContext&)> finish)>
      run_off_loop;
  // Runs CLUSTER MIGRATESLOTS & co (node/migrate's AtomicMigrator).
  std::function<void(CommandContext& ctx, std::span<std::string> args)> slot_migration;
  // NodeServices::SlotMigrationBusy (node/migrate's AtomicMigrator).
  std::function<std::string_view()> slot_migration_busy;
  // Called by DetachSession with the id of a session that is gone (an
  // atomic migration's import link).
  std::function<void(uint64_t id)> on_session_detached;
  // Given the slots whose keys the cluster core wants deleted (slots it
  // lost to a newer claim), takes those an atomic migration is exporting
  // (it deletes their keys a slice per turn, as its handoff does: the
  // target's claim can arrive before its FINISH reply) and returns the
  // others, which are deleted at once. Unset: every slot at once.
  std::function<std::vector<int>(std::vector<int> slots)> take_exported_slots;
  // Called by DetachSession with the id of a replica's session that is gone
  // (the replication manager frees the stream it held).
  std::function<void(uint64_t id)> on_replica_detached;
  // MIGRATE's cached connections (node/migrate's Migrator).
  std::function<size_t()> cached_migrate_sockets;
  // What a script command (EVAL, EVALSHA, FCALL...) declares about writing
  // (ScriptEngine::DeclaredWrites), from node/script; unset: undeclared.
  std::function<ScriptWrites(std::span<const std::string> args)> script_writes;
  // INFO memory's scripting lines (ScriptMemoryInfo), from node/script.
  std::function<std::string()> script_memory_info;
  // Rebuilds the TLS contexts (node/net/tls.h) for ApplyTlsOptions; unset:
  // nothing to rebuild.
  std::function<bool()> configure_tls;
  // Listens on the configured port or tls-port for ApplyListenPort.
  std::function<absl::Status(bool tls)> change_listen_port;
  // Cancels a pending shutdown for AbortShutdown.
  std::function<bool()> abort_shutdown;
  // Sets the process title for ApplyProcTitle (unset: set-proc-title no).
  std::function<void()> update_proc_title;
  // Listens at the configured bind addresses for ApplyBind.
  std::function<absl::Status(const std::vector<std::string>& previous)> change_bind;
  // Runs Evictor::Continue soon on this loop (evictor.h); unset: the cron.
  std::function<void()> schedule_eviction;
  // Function libraries (node/script) in RDB files and full syncs: the code
  // of every library (saved before the first db); loading one library from
  // a file (false with *error when it does not load; `replace`: one of the
  // same name is replaced, DEBUG RELOAD MERGE); dropping them all (a full
  // sync or a reload replaces them). Unset (tests): functions are neither
  // saved nor loaded.
  std::function<std::vector<std::string>()> function_library_codes;
  std::function<bool(std::string_view code, bool replace, std::string* error)>
      load_function_library;
  std::function<void()> flush_functions;
  // Called before a write command runs against database `db`, with the key
  // arguments it is about to touch (fork-less snapshots serialize those keys
  // first). Not called for commands without the write flag.
  std::function<void(int db, const std::vector<std::string_view>& keys)> before_write;
  // Every write leaves the command layer here, once (see write_stream.h):
  // replication, the AOF and atomic slot migration subscribe to it.
  WriteStream& write_stream() { return write_stream_; }
  // Replies wait while the AOF writes (see OutputGate).
  OutputGate& output_gate() { return output_gate_; }
  // The control loop's clients' replies wait for the end of the loop's
  // pass, then go out together (Connection::Flush in net_server.cc).
  OutputGate& pass_gate() { return pass_gate_; }
  // Non-empty while the AOF cannot be written or fsynced: the -MISCONF
  // error that write commands and PING get.
  const std::string& aof_misconf() const { return aof_misconf_; }
  void set_aof_misconf(std::string error) { aof_misconf_ = std::move(error); }
  // Client pauses (NodeServices): each purpose holds its own pause.
  void PauseClients(PausePurpose purpose, int64_t until_ms, bool all) override;
  void UnpauseClients(PausePurpose purpose) override;
  // Ends the pauses whose time has come (the cron calls it).
  void ExpirePauses(int64_t now_ms);
  bool WritesPaused(int64_t now_ms) const;
  bool AllPaused(int64_t now_ms) const;
  // Whether the pause of `purpose` holds writes at `now_ms`.
  bool WritesPausedFor(PausePurpose purpose, int64_t now_ms) const {
    return pauses_[static_cast<int>(purpose)].until() > now_ms;
  }
  // Whether some pause is set, whatever the time (ExpirePauses ends it):
  // `all` when one pauses every command.
  bool AnyPauseSet(bool* all) const {
    bool any = false;
    *all = false;
    for (const Pause& p : pauses_) {
      if (p.until() == 0) continue;
      any = true;
      *all = *all || p.pauses_all();
    }
    return any;
  }
  // Suspends the session's command until the pauses end (then it runs
  // again: suspend.h's Retry).
  void ParkSession(Session& session);

  // Commands on the shard threads (`threads N` > 1; shard.h). While this
  // word is on, every control loop handler runs inside the global step
  // (shard_threads.h: the shard threads wait meanwhile), so a shard thread
  // may read the control loop's state freely and runs the plain data
  // commands of its own keyspace shard itself; while it is off, every
  // command runs on the control loop. Set on the control loop only: off
  // inside a step (the step's end recomputes it), on at the end of a
  // handler of its own (the cron's check): never while a control loop
  // handler that does not hold the step still runs.
  bool shard_commands() const override { return shard_commands_.load(std::memory_order_acquire); }
  void set_shard_commands(bool on) { shard_commands_.store(on, std::memory_order_release); }
  // Whether nothing in the node's state needs the control loop for every
  // command: ready keys of blocked clients not served yet,
  // maxmemory-clients (it weighs every client before each command),
  // loading, a busy script, a held OutputGate. (The other features are
  // served beside the shard threads: shard.h.) An empty string when
  // allowed, else the first reason (INFO, tests).
  std::string_view ShardCommandsBlocker() const;

 private:
  // client-output-buffer-limit's normal and pubsub classes, parsed once per
  // configuration change (per thread).
  struct ClientOutputLimits {
    uint64_t generation = 0;
    replication::OutputLimit normal, pubsub;
  };
  const ClientOutputLimits& OutputLimits() const;
  // A primary whose writes are paused must not move its replication offset:
  // lookups then hide keys whose TTL passed instead of deleting them (and
  // propagating a DEL), as Redis's expireIfNeeded does during a pause.
  void HoldExpiryWhilePaused(bool paused);
  Config* config_;
  const CommandTable* commands_;
  std::vector<std::unique_ptr<Keyspace>> shards_;
  std::unique_ptr<clusterbus::ClusterState> cluster_;
  clusterbus::SlotTableBox slot_tables_;
  // One per keyspace shard; shard_views_[i] counts into shard_stats_[i].
  std::vector<std::unique_ptr<Stats>> shard_stats_;
  std::vector<std::unique_ptr<Shard>> shard_views_;
  Shard* local_shard_ = nullptr;  // shard_views_[0]
  Evictor evictor_{*this};
  bool pre_command_oom_ = false;
  PubSub pubsub_;
  KeyspaceEventQueue keyspace_events_;  // raised on shard threads
  acl::Acl acl_;
  Monitoring monitoring_;
  WatchIndex watches_;
  BlockingTable blocking_;
  KeysInFlight keys_in_flight_;
  std::map<uint64_t, Session*> clients_;
  Tracking tracking_{&clients_};  // after clients_, which it reads
  uint64_t last_client_id_ = 0;
  std::string run_id_;
  int64_t start_ms_ = 0;
  int64_t last_save_ms_ = 0;
  bool active_expire_enabled_ = true;
  bool cron_paused_ = false;
  int64_t reply_buffer_peak_reset_ms_ = 5000;  // REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME
  bool reply_buffer_resizing_ = true;
  bool script_allows_noscript_ = false;
  bool skip_checksum_validation_ = false;
  LoadingState loading_;
  persist::Persistence* persistence_ = nullptr;
  ReplicationControl* replication_ = nullptr;
  int replica_sessions_ = 0;  // see replica_sessions()
  // maxmemory-clients: the evictable clients' memory as last counted, and
  // the limit that total was built for (0: none; built again on a change).
  // (Shard threads add their sessions' changes to the total after their
  // commands; the limit it was built for changes on the control loop, in a
  // step.)
  std::atomic<size_t> client_memory_{0};
  size_t client_memory_limit_ = 0;
  ClusterBus* cluster_bus_ = nullptr;
  int tcp_port_ = 0;
  std::string executable_;
  std::string config_file_;
  std::string busy_script_error_;  // see NodeServices::busy_script_error
  // Set on the control loop only; read from any thread (WritesPaused,
  // AllPaused): `all` is stored before `until_ms`, which publishes it.
  struct Pause {
    std::atomic<int64_t> until_ms{0};  // 0: none
    std::atomic<bool> all{false};
    void Set(int64_t until, bool all_clients) {
      all.store(all_clients, std::memory_order_relaxed);
      until_ms.store(until, std::memory_order_release);
    }
    int64_t until() const { return until_ms.load(std::memory_order_acquire); }
    bool pauses_all() const { return all.load(std::memory_order_relaxed); }
  };
  Pause pauses_[3];  // by PausePurpose
  slots::SlotSet hidden_slots_;
  int hidden_count_ = 0;
  slots::SlotSet paused_write_slots_;
  int paused_slot_count_ = 0;
  std::vector<uint64_t> slot_paused_sessions_;
  std::vector<uint64_t> paused_sessions_;
  WriteStream write_stream_;
  OutputGate output_gate_;
  OutputGate pass_gate_;
  std::atomic<bool> shard_commands_{false};
  std::string aof_misconf_;
};

}  // namespace shardnode::node
