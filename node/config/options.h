// ServerOptions: every configuration value the node reads, with Redis 7.0.15's
// defaults. It is a plain struct so that any module can read a field by name;
// the table in config.h maps directive names to these fields for parsing,
// CONFIG GET/SET and CONFIG REWRITE.
//
// Loop: written at start-up and by CONFIG SET on the control loop; other
// threads read the copy they were given.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace shardnode::node {

struct SavePoint {
  int64_t seconds = 0;
  int64_t changes = 0;
};

enum class LogLevel { kDebug, kVerbose, kNotice, kWarning, kNothing };
enum class AppendFsync { kAlways, kEverysec, kNo };

struct ServerOptions {
  // Network.
  int port = 6379;
  std::vector<std::string> bind = {"*", "-::*"};
  bool protected_mode = true;
  int64_t maxclients = 10000;
  int tcp_backlog = 511;
  int64_t timeout = 0;  // idle client timeout, seconds
  int tcp_keepalive = 300;

  // General.
  std::string dir;  // empty: the working directory at start-up
  bool daemonize = false;
  std::string pidfile;
  std::string logfile;  // empty: stdout
  LogLevel loglevel = LogLevel::kNotice;
  int databases = 16;
  std::string requirepass;
  int hz = 10;

  // Cluster.
  bool cluster_enabled = false;
  std::string cluster_config_file = "nodes.conf";
  int64_t cluster_node_timeout = 15000;  // ms
  int cluster_port = 0;
  std::string cluster_announce_ip;
  int cluster_announce_port = 0;
  int cluster_announce_bus_port = 0;
  std::string cluster_announce_hostname;
  bool cluster_require_full_coverage = true;
  bool cluster_allow_reads_when_down = false;
  bool cluster_allow_pubsubshard_when_down = true;
  bool cluster_allow_replica_migration = true;
  bool cluster_replica_no_failover = false;
  int cluster_replica_validity_factor = 10;
  int cluster_migration_barrier = 1;
  int64_t cluster_link_sendbuf_limit = 0;
  std::string cluster_preferred_endpoint_type = "ip";

  // Persistence.
  std::vector<SavePoint> save = {{3600, 1}, {300, 100}, {60, 10000}};
  std::string dbfilename = "dump.rdb";
  bool appendonly = false;
  // LZF for values in RDB files, DUMP payloads and MIGRATE's.
  bool rdbcompression = true;
  std::string appendfilename = "appendonly.aof";
  AppendFsync appendfsync = AppendFsync::kEverysec;

  // Limits.
  int64_t proto_max_bulk_len = 512LL * 1024 * 1024;
  int64_t client_query_buffer_limit = 1024LL * 1024 * 1024;
  int64_t maxmemory = 0;
  // Sparse HyperLogLogs longer than this (header included) become dense.
  int64_t hll_sparse_max_bytes = 3000;
  // Sorted sets longer than this, or with a longer member, use the skiplist
  // encoding (node/keyspace/types/zset_object.h).
  int64_t hash_max_listpack_entries = 512;
  int64_t hash_max_listpack_value = 64;
  int64_t zset_max_listpack_entries = 128;
  int64_t zset_max_listpack_value = 64;
  // A stream's node closes at this many bytes (as Redis's listpack would
  // count them) or entries (node/keyspace/types/stream_object.h).
  int64_t stream_node_max_bytes = 4096;
  int64_t stream_node_max_entries = 100;
  // Eviction (node/keyspace/eviction.h): maxmemory-policy's enum value.
  int maxmemory_policy = 7;  // noeviction
  int maxmemory_samples = 5;
  int maxmemory_eviction_tenacity = 10;
  int lfu_log_factor = 10;
  int lfu_decay_time = 1;
  bool lazyfree_lazy_eviction = false;
  bool lazyfree_lazy_user_del = false;  // DEL frees values as UNLINK does
  bool replica_ignore_maxmemory = true;
  // Client eviction: the memory clients may take together (0: no limit;
  // negative: that percentage of maxmemory).
  int64_t maxmemory_clients = 0;
  // Client-side caching: the most keys the tracking table holds (0: no limit).
  int64_t tracking_table_max_keys = 1000000;

  // notify-keyspace-events as class bits (node/keyspace/notify.h); CONFIG
  // GET shows Redis's canonical text of them.
  int notify_keyspace_events = 0;

  // Replication (stored now; used by the replication work).
  std::string replicaof_host;
  int replicaof_port = 0;
  std::string masterauth;
  bool replica_read_only = true;
  bool replica_serve_stale_data = true;
  int64_t repl_backlog_size = 1024 * 1024;
  int repl_timeout = 60;
  int repl_ping_replica_period = 10;
  bool repl_diskless_sync = true;
  int repl_diskless_sync_delay = 5;
  int min_replicas_to_write = 0;
  int min_replicas_max_lag = 10;

  // Operator tools (SLOWLOG, LATENCY, INFO latencystats, MISCONF).
  int64_t slowlog_log_slower_than = 10000;  // us; negative: off
  int64_t slowlog_max_len = 128;
  int64_t latency_monitor_threshold = 0;  // ms; 0: off
  int watchdog_period = 0;                // ms; 0: off (the software watchdog)
  int64_t busy_reply_threshold = 5000;    // ms (lua-time-limit); 0: never busy
  bool latency_tracking = true;
  bool stop_writes_on_bgsave_error = true;

  // TLS (node/net/tls.h). Empty strings mean "unset", as Redis's NULLs.
  int tls_port = 0;
  std::string tls_cert_file;
  std::string tls_key_file;
  std::string tls_key_file_pass;
  std::string tls_client_cert_file;
  std::string tls_client_key_file;
  std::string tls_client_key_file_pass;
  std::string tls_dh_params_file;
  std::string tls_ca_cert_file;
  std::string tls_ca_cert_dir;
  std::string tls_protocols;
  std::string tls_ciphers;
  std::string tls_ciphersuites;
  int tls_auth_clients = 1;  // 0 no, 1 yes, 2 optional
  bool tls_prefer_server_ciphers = false;
  bool tls_session_caching = true;
  int tls_session_cache_size = 20 * 1024;
  int tls_session_cache_timeout = 300;
  bool tls_replication = false;
  bool tls_cluster = false;
  int cluster_announce_tls_port = 0;

  // shardnode's own: number of shard threads.
  int threads = 1;
};

}  // namespace shardnode::node
