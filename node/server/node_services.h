// NodeServices: the node-wide services a command handler may use, beside the
// shard it runs on (shard.h): options and CONFIG, the command table, the
// cluster state and bus, the clients registry, Pub/Sub, persistence,
// replication control, MIGRATE, shutdown, client pauses, the node's identity
// and its loading state. Server implements it; handlers receive it as
// CommandContext::node and never see the Server (its keyspace shards, write
// stream, slot tables, session bookkeeping).
//
// The accessors are virtual: they serve admin commands, not the data path
// (per-key access goes through the Shard, without virtual calls). The
// borrowed services and hooks are plain fields, set by the wiring.
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
class ReplicationControl;
struct CommandContext;
struct ServerOptions;
struct Session;

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

  // Connected clients by id (CLIENT LIST / KILL, INFO clients).
  virtual std::map<uint64_t, Session*>& clients() = 0;
  // CLIENT UNBLOCK: ends client `id`'s blocking command (blocking.h's
  // UnblockClientById). Returns whether it was blocked.
  virtual bool UnblockClient(uint64_t id, bool with_error) = 0;
  virtual PubSub& pubsub() = 0;

  virtual const std::string& run_id() const = 0;
  virtual int64_t start_ms() const = 0;

  // Paused clients (Redis's pauseClients): CLIENT PAUSE, and a primary in
  // a manual failover (a replica sent MFSTART). Until a pause's wall-clock
  // end, client commands that may write (or, for an ALL pause, every
  // command) wait, parked by the net shell, and neither expiry nor the
  // replication stream moves. Each purpose holds its own pause.
  enum class PausePurpose { kClientCommand, kFailover };
  // Starts (or replaces) the pause of `purpose`.
  virtual void PauseClients(PausePurpose purpose, int64_t until_ms, bool all) = 0;
  // Ends the pause of `purpose`; when none is left, every parked session
  // resumes.
  virtual void UnpauseClients(PausePurpose purpose) = 0;

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
  // The cluster bus shell (cluster mode, once it listens); borrowed, set by main.
  ClusterBus* cluster_bus = nullptr;
  // The replication manager (node/repl); borrowed, set by main. Null in tests.
  ReplicationControl* replication = nullptr;

  // While a script runs past busy-reply-threshold (node/script): the -BUSY
  // error every command without the allow-busy flag gets; empty otherwise.
  std::string busy_script_error;
  // INFO memory's scripting lines (used_memory_lua, number_of_cached_scripts,
  // ...), each ending in CRLF; installed by node/script's wiring.
  std::function<std::string()> script_memory_info;
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

  // Hooks installed by the shells.
  // Stops the node after the current command (SHUTDOWN, SIGTERM).
  std::function<void(ShutdownMode)> request_shutdown;
  // Saves nodes.conf (cluster mode). Returns false and sets *error on failure.
  std::function<bool(bool fsync, std::string* error)> save_cluster_config;
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

 protected:
  NodeServices() = default;
  ~NodeServices() = default;
};

// 40 random lowercase hex characters (run ids, node ids; defined in
// server.cc).
std::string RandomHexId();

}  // namespace shardnode::node
