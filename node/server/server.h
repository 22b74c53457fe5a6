// Server: the node-wide state every command can reach: options, the keyspace
// shards, the cluster state, clients and statistics. It holds no sockets: the
// net shell and node/app/data_node.cc own the I/O and install the hooks below.
//
// Shards: the keyspace is split by hash slot into num_shards() Keyspaces.
// Today every shard is served by one thread; the seam is kept so that every
// key a command touches is found in ShardForSlot(its slot) (handlers use
// CommandContext::DbFor) and commands that span shards go through
// ForEachShard, the fan-out.
//
// Loop: the control loop (thread 0) owns it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "clusterbus/slot_table.h"
#include "node/config/options.h"
#include "node/server/blocking.h"
#include "node/server/keys_in_flight.h"
#include "node/server/pubsub.h"
#include "node/server/session.h"
#include "node/server/watch.h"
#include "node/server/write_stream.h"

namespace shardnode::clusterbus {
class ClusterState;
}
namespace shardnode::node::persist {
class Persistence;
}

namespace shardnode::node {

class Keyspace;
class CommandTable;
class Config;
class ClusterBus;
class ReplicationControl;
struct CommandContext;

struct Stats {
  uint64_t total_connections_received = 0;
  uint64_t total_commands_processed = 0;
  uint64_t total_net_input_bytes = 0;
  uint64_t total_net_output_bytes = 0;
  uint64_t rejected_connections = 0;
  uint64_t total_error_replies = 0;
  uint64_t unexpected_error_replies = 0;
  uint64_t keyspace_hits = 0;
  uint64_t keyspace_misses = 0;
  uint64_t expired_keys = 0;
  uint64_t evicted_keys = 0;
  uint64_t dirty = 0;  // changes since the last save
  // Error replies by their first word (INFO errorstats), at most 128 codes.
  std::map<std::string, uint64_t, std::less<>> error_codes;
  // CONFIG RESETSTAT: every figure but `dirty`, which save points and INFO
  // persistence go on counting (as Redis's resetServerStats leaves it).
  void Reset() {
    const uint64_t kept = dirty;
    *this = Stats();
    dirty = kept;
  }
  // Counts one error reply (`message` without the leading '-').
  void CountError(std::string_view message);
};

enum class ShutdownMode { kDefault, kSave, kNoSave };

// A dataset load in progress (a replica loading its primary's RDB). While
// `active`, the dispatcher refuses commands without the loading flag with
// -LOADING, INFO persistence reports loading:1 and the loading_* figures,
// and the cron leaves the dataset alone (no active expiry, no save points).
struct LoadingState {
  bool active = false;
  int64_t start_ms = 0;
  uint64_t total_bytes = 0;   // size of the RDB being loaded
  uint64_t loaded_bytes = 0;  // bytes of it decoded so far
  uint64_t rdb_used_mem = 0;  // the file's "used-mem" aux field
};

class Server {
 public:
  // REQUIRES: `config` and `commands` outlive the server.
  Server(Config* config, const CommandTable* commands);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Config& config() { return *config_; }
  const ServerOptions& options() const;
  const CommandTable& commands() const { return *commands_; }

  int num_shards() const { return static_cast<int>(shards_.size()); }
  Keyspace& shard(int i) { return *shards_[i]; }
  int ShardIndexForSlot(int slot) const { return slot % num_shards(); }
  Keyspace& ShardForSlot(int slot) { return *shards_[ShardIndexForSlot(slot)]; }
  // The fan-out over shards: fn(shard) once per shard, in shard order.
  // Commands that span shards (KEYS, SCAN, DBSIZE, FLUSHALL, RANDOMKEY, INFO
  // keyspace) reach the shards through here only, so that with shard
  // threads this becomes the one coordinated operation that runs fn on each
  // shard's thread: fn touches only the shard it is given and the caller's
  // accumulators, and the caller combines the results after it returns.
  template <typename Fn>  // void(Keyspace&)
  void ForEachShard(Fn&& fn) {
    for (const std::unique_ptr<Keyspace>& s : shards_) fn(*s);
  }

  bool cluster_enabled() const { return cluster_ != nullptr; }
  // nullptr when cluster-enabled is no.
  clusterbus::ClusterState* cluster() { return cluster_.get(); }
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

  Stats& stats() { return stats_; }
  PubSub& pubsub() { return pubsub_; }
  WatchTable& watches() { return watches_; }
  KeysInFlight& keys_in_flight() { return keys_in_flight_; }
  BlockingTable& blocking() { return blocking_; }

  // Connected clients by id (CLIENT LIST / KILL, INFO clients).
  std::map<uint64_t, Session*>& clients() { return clients_; }
  // Drops every pointer the node keeps to `session`: the client table, the
  // blocked-client, Pub/Sub and WATCH indexes. Idempotent. The net shell
  // calls it when the connection is killed or closes (Redis's freeClient:
  // a killed client is gone at once, even while its socket still drains),
  // and only then may the Session be destroyed.
  void DetachSession(Session& session);
  uint64_t NextClientId() { return ++last_client_id_; }

  const std::string& run_id() const { return run_id_; }
  int64_t start_ms() const { return start_ms_; }
  void set_start_ms(int64_t ms) { start_ms_ = ms; }
  int64_t last_save_ms = 0;  // LASTSAVE (ms); 0 until the first save
  // DEBUG SET-ACTIVE-EXPIRE: whether the cron's active expiry cycle runs.
  bool active_expire_enabled = true;
  LoadingState loading;
  // RDB files (node/persist: SAVE, BGSAVE, save points); borrowed, set by
  // main. Null in tests.
  persist::Persistence* persistence = nullptr;
  int tcp_port = 0;         // the port actually bound
  std::string executable;   // absolute path of the binary, INFO server
  std::string config_file;  // absolute path of the config file, or empty

  // Hooks installed by the shells.
  // Called before a write command runs against database `db`, with the key
  // arguments it is about to touch (fork-less snapshots serialize those keys
  // first). Not called for commands without the write flag.
  std::function<void(int db, const std::vector<std::string_view>& keys)> before_write;
  // Every write leaves the command layer here, once (see write_stream.h):
  // replication subscribes to it, and so will the AOF and slot migration.
  WriteStream& write_stream() { return write_stream_; }
  // Stops the node after the current command (SHUTDOWN, SIGTERM).
  std::function<void(ShutdownMode)> request_shutdown;
  // Saves nodes.conf (cluster mode). Returns false and sets *error on failure.
  std::function<bool(bool fsync, std::string* error)> save_cluster_config;
  // The cluster bus shell (cluster mode, once it listens); borrowed, set by main.
  ClusterBus* cluster_bus = nullptr;
  // The replication manager (node/repl); borrowed, set by main. Null in tests.
  ReplicationControl* replication = nullptr;
  // Sends a PUBLISH (shard=false) or SPUBLISH (shard=true) to the other
  // nodes over the cluster bus. Unset outside cluster mode.
  std::function<void(std::string_view channel, std::string_view message, bool shard)>
      cluster_publish;
  // Blocks the whole node for `ms` (DEBUG SLEEP).
  std::function<void(int64_t ms)> sleep;
  // Runs MIGRATE (node/migrate's Migrator, installed by the data node's
  // wiring): it replies at once or suspends the client (kMigrate). Unset in
  // tests without the net shell.
  std::function<void(CommandContext& ctx, std::span<std::string> args)> migrate;

  // Paused clients (Redis's pauseClients): CLIENT PAUSE, and a primary in
  // a manual failover (a replica sent MFSTART). Until a pause's wall-clock
  // end, client commands that may write (or, for an ALL pause, every
  // command) wait, parked by the net shell, and neither expiry nor the
  // replication stream moves. Each purpose holds its own pause.
  enum class PausePurpose { kClientCommand, kFailover };
  // Starts (or replaces) the pause of `purpose`.
  void PauseClients(PausePurpose purpose, int64_t until_ms, bool all);
  // Ends the pause of `purpose`; when none is left, every parked session
  // resumes.
  void UnpauseClients(PausePurpose purpose);
  // Ends the pauses whose time has come (the cron calls it).
  void ExpirePauses(int64_t now_ms);
  bool WritesPaused(int64_t now_ms) const;
  bool AllPaused(int64_t now_ms) const;
  // Suspends the session's command until the pauses end (then it runs
  // again: suspend.h's Retry).
  void ParkSession(Session& session);

 private:
  // A primary whose writes are paused must not move its replication offset:
  // lookups then hide keys whose TTL passed instead of deleting them (and
  // propagating a DEL), as Redis's expireIfNeeded does during a pause.
  void HoldExpiryWhilePaused(bool paused);
  Config* config_;
  const CommandTable* commands_;
  std::vector<std::unique_ptr<Keyspace>> shards_;
  std::unique_ptr<clusterbus::ClusterState> cluster_;
  clusterbus::SlotTableBox slot_tables_;
  Stats stats_;
  PubSub pubsub_;
  WatchTable watches_;
  BlockingTable blocking_;
  KeysInFlight keys_in_flight_;
  std::map<uint64_t, Session*> clients_;
  uint64_t last_client_id_ = 0;
  std::string run_id_;
  int64_t start_ms_ = 0;
  struct Pause {
    int64_t until_ms = 0;  // 0: none
    bool all = false;
  };
  Pause pauses_[2];  // by PausePurpose
  std::vector<uint64_t> paused_sessions_;
  WriteStream write_stream_;
};

// 40 random lowercase hex characters (run ids, node ids).
std::string RandomHexId();

}  // namespace shardnode::node
