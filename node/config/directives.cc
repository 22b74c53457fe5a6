// The directive table: every directive of Redis 7.0.15 with its type,
// flags, range, default, validator and, when the node acts on it, its
// ServerOptions field. Immutable once built.
#include <climits>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/ascii.h"
#include "base/strings.h"
#include "node/config/internal/directive.h"

namespace shardnode::node::config_internal {
namespace {

// The fields every row has; the constructors below add their type's own.
Directive Row(std::string_view name, std::string_view alias, Type type, uint32_t flags) {
  Directive d;
  d.name = name;
  d.alias = alias;
  d.type = type;
  d.flags = flags;
  return d;
}

Directive Bool(std::string_view name, std::string_view alias, uint32_t flags, bool def,
               Field field = {}, Validator validate = nullptr) {
  Directive d = Row(name, alias, Type::kBool, flags);
  d.default_text = def ? "yes" : "no";
  d.field = field;
  d.validate = validate;
  return d;
}

// `def` nullptr: the default is unset (shown as "").
Directive Str(std::string_view name, std::string_view alias, uint32_t flags, bool empty_is_null,
              const char* def, Field field = {}, Validator validate = nullptr) {
  Directive d = Row(name, alias, Type::kString, flags);
  d.empty_is_null = empty_is_null;
  d.default_null = def == nullptr;
  d.default_text = def == nullptr ? "" : def;
  d.field = field;
  d.validate = validate;
  return d;
}

Directive Enum(std::string_view name, std::string_view alias, uint32_t flags,
               std::vector<EnumValue> values, std::string_view def, Field field = {}) {
  Directive d = Row(name, alias, Type::kEnum, flags);
  d.enum_values = std::move(values);
  d.bitflags = (flags & kMultiArg) != 0;
  d.default_text = def;
  d.field = field;
  return d;
}

Directive Num(std::string_view name, std::string_view alias, uint32_t flags, int64_t min,
              int64_t max, std::string_view def, uint32_t num_flags = 0, Field field = {},
              bool unsigned_range = false) {
  Directive d = Row(name, alias, Type::kNumeric, flags);
  d.min = min;
  d.max = max;
  d.default_text = def;
  d.num_flags = num_flags;
  d.field = field;
  d.unsigned_range = unsigned_range;
  return d;
}

// Unsigned types (unsigned int, unsigned long long, size_t) are range-checked
// as unsigned in Redis, so "-1" reports the unsigned bounds.
Directive UNum(std::string_view name, std::string_view alias, uint32_t flags, int64_t min,
               int64_t max, std::string_view def, uint32_t num_flags = 0, Field field = {}) {
  return Num(name, alias, flags, min, max, def, num_flags, field, true);
}

Directive Spec(std::string_view name, std::string_view alias, uint32_t flags, Special special,
               std::string_view def) {
  Directive d = Row(name, alias, Type::kSpecial, flags);
  d.special = special;
  d.default_text = def;
  return d;
}

const char* ValidateActiveDefrag(std::string_view value) {
  if (value == "yes") {
    return "Active defragmentation cannot be enabled: it requires a Redis server compiled with "
           "a modified Jemalloc like the one shipped by default with the Redis source "
           "distribution";
  }
  return nullptr;
}

bool IsBaseName(std::string_view v) { return v.find('/') == std::string_view::npos; }

const char* ValidateDbFilename(std::string_view v) {
  return IsBaseName(v) ? nullptr : "dbfilename can't be a path, just a filename";
}
const char* ValidateAofFilename(std::string_view v) {
  if (v.empty()) return "appendfilename can't be empty";
  return IsBaseName(v) ? nullptr : "appendfilename can't be a path, just a filename";
}
const char* ValidateAofDirname(std::string_view v) {
  if (v.empty()) return "appenddirname can't be empty";
  return IsBaseName(v) ? nullptr : "appenddirname can't be a path, just a dirname";
}
const char* ValidateHostname(std::string_view v) {
  if (v.size() >= 256) return "Hostnames must be less than 256 characters";
  for (char c : v) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') {
      return "Hostnames may only contain alphanumeric characters, hyphens or dots";
    }
  }
  return nullptr;
}
// Redis's proc-title-template check: "{name}" variables must be known,
// "{{" is a literal '{', and the expansion (with an empty title) must not be
// blank. Which variables expand to text is approximated from a default
// node: listen-addr, port, tls-port and config-file always do.
const char* ValidateProcTitle(std::string_view v) {
  static const char* kErr = "template format is invalid or contains unknown variables";
  bool non_blank = false;
  size_t i = 0;
  while (i < v.size()) {
    size_t open = v.find('{', i);
    std::string_view literal = v.substr(i, open == std::string_view::npos ? v.npos : open - i);
    if (literal.find_first_not_of(' ') != std::string_view::npos) non_blank = true;
    if (open == std::string_view::npos) break;
    if (open + 1 >= v.size()) return kErr;
    if (v[open + 1] == '{') {
      non_blank = true;
      i = open + 2;
      continue;
    }
    size_t close = v.find('}', open + 1);
    if (close == std::string_view::npos) return kErr;
    std::string_view var = v.substr(open + 1, close - open - 1);
    if (var == "listen-addr" || var == "port" || var == "tls-port" || var == "config-file") {
      non_blank = true;
    } else if (var != "title" && var != "server-mode" && var != "unixsocket") {
      return kErr;
    }
    i = close + 1;
  }
  return non_blank ? nullptr : kErr;
}

constexpr int64_t kIntMax = INT_MAX;
constexpr int64_t kIntMin = INT_MIN;
constexpr int64_t kUIntMax = UINT_MAX;
constexpr int64_t kLongMax = LONG_MAX;
constexpr int64_t kLLongMax = LLONG_MAX;
constexpr int64_t kULLongMax = -1;  // ULLONG_MAX as Redis stores it in a long long
constexpr int64_t kSSizeMax = SSIZE_MAX;

const std::vector<EnumValue> kProtectedAction = {{"no", 0}, {"yes", 1}, {"local", 2}};
const std::vector<EnumValue> kShutdownOnSig = {
    {"default", 0}, {"save", 1}, {"nosave", 2}, {"now", 4}, {"force", 8}};

using O = ServerOptions;

// Every directive of Redis 7.0.15 (standardConfig table, TLS build), plus
// shardnode's own `threads`. Fields bound to ServerOptions are typed there;
// the rest live in Config::generic_.
std::vector<Directive> BuildTable() {
  std::vector<Directive> t;
  const uint32_t M = 0;  // modifiable
  const uint32_t I = kImmutable;
  // Booleans.
  t.push_back(Bool("rdbchecksum", "", I, true));
  t.push_back(Bool("daemonize", "", I, false, &O::daemonize));
  t.push_back(Bool("io-threads-do-reads", "", I, false));
  t.push_back(Bool("always-show-logo", "", I, false));
  t.push_back(Bool("protected-mode", "", M, true, &O::protected_mode));
  t.push_back(Bool("rdbcompression", "", M, true, &O::rdbcompression));
  t.push_back(Bool("rdb-del-sync-files", "", M, false));
  t.push_back(Bool("activerehashing", "", M, true));
  t.push_back(Bool("stop-writes-on-bgsave-error", "", M, true, &O::stop_writes_on_bgsave_error));
  t.push_back(Bool("set-proc-title", "", I, true));
  t.push_back(Bool("dynamic-hz", "", M, true));
  t.push_back(Bool("lazyfree-lazy-eviction", "", M, false, &O::lazyfree_lazy_eviction));
  t.push_back(Bool("lazyfree-lazy-expire", "", M, false));
  t.push_back(Bool("lazyfree-lazy-server-del", "", M, false));
  t.push_back(Bool("lazyfree-lazy-user-del", "", M, false, &O::lazyfree_lazy_user_del));
  t.push_back(Bool("lazyfree-lazy-user-flush", "", M, false));
  t.push_back(Bool("repl-disable-tcp-nodelay", "", M, false));
  t.push_back(Bool("repl-diskless-sync", "", M, true, &O::repl_diskless_sync));
  t.push_back(Bool("aof-rewrite-incremental-fsync", "", M, true));
  t.push_back(Bool("no-appendfsync-on-rewrite", "", M, false));
  t.push_back(
      Bool("cluster-require-full-coverage", "", M, true, &O::cluster_require_full_coverage));
  t.push_back(Bool("rdb-save-incremental-fsync", "", M, true));
  t.push_back(Bool("aof-load-truncated", "", M, true));
  t.push_back(Bool("aof-use-rdb-preamble", "", M, true));
  t.push_back(Bool("aof-timestamp-enabled", "", M, false));
  t.push_back(Bool("cluster-replica-no-failover", "cluster-slave-no-failover", M, false,
                   &O::cluster_replica_no_failover));
  t.push_back(Bool("replica-lazy-flush", "slave-lazy-flush", M, false));
  t.push_back(Bool("replica-serve-stale-data", "slave-serve-stale-data", M, true,
                   &O::replica_serve_stale_data));
  t.push_back(Bool("replica-read-only", "slave-read-only", M, true, &O::replica_read_only));
  t.push_back(Bool("replica-ignore-maxmemory", "slave-ignore-maxmemory", M, true,
                   &O::replica_ignore_maxmemory));
  t.push_back(Bool("jemalloc-bg-thread", "", M, true));
  t.push_back(Bool("activedefrag", "", M, false, {}, ValidateActiveDefrag));
  t.push_back(Bool("syslog-enabled", "", I, false));
  t.push_back(Bool("cluster-enabled", "", I, false, &O::cluster_enabled));
  t.push_back(Bool("appendonly", "", M, false, &O::appendonly));
  t.push_back(
      Bool("cluster-allow-reads-when-down", "", M, false, &O::cluster_allow_reads_when_down));
  t.push_back(Bool("cluster-allow-pubsubshard-when-down", "", M, true,
                   &O::cluster_allow_pubsubshard_when_down));
  t.push_back(Bool("crash-log-enabled", "", M, true));
  t.push_back(Bool("crash-memcheck-enabled", "", M, true));
  t.push_back(Bool("use-exit-on-panic", "", M | kHidden, false));
  t.push_back(Bool("disable-thp", "", I, true));
  t.push_back(
      Bool("cluster-allow-replica-migration", "", M, true, &O::cluster_allow_replica_migration));
  t.push_back(Bool("replica-announced", "", M, true));
  t.push_back(Bool("latency-tracking", "", M, true, &O::latency_tracking));
  t.push_back(Bool("aof-disable-auto-gc", "", M, false));
  t.push_back(Bool("replica-ignore-disk-write-errors", "", M, false));
  t.push_back(Bool("tls-cluster", "", M, false, &O::tls_cluster));
  t.push_back(Bool("tls-replication", "", M, false, &O::tls_replication));
  t.push_back(Bool("tls-prefer-server-ciphers", "", M, false, &O::tls_prefer_server_ciphers));
  t.push_back(Bool("tls-session-caching", "", M, true, &O::tls_session_caching));

  // Strings. (true: an empty value means "unset".)
  t.push_back(Str("aclfile", "", I, false, ""));
  t.push_back(Str("unixsocket", "", I, true, nullptr));
  t.push_back(Str("pidfile", "", I, true, nullptr, &O::pidfile));
  t.push_back(Str("replica-announce-ip", "slave-announce-ip", M, true, nullptr));
  t.push_back(Str("masteruser", "", M, true, nullptr));
  t.push_back(Str("cluster-announce-ip", "", M, true, nullptr, &O::cluster_announce_ip));
  t.push_back(Str("cluster-config-file", "", I, false, "nodes.conf", &O::cluster_config_file));
  t.push_back(Str("cluster-announce-hostname", "", M, true, nullptr, &O::cluster_announce_hostname,
                  ValidateHostname));
  t.push_back(Str("syslog-ident", "", I, false, "redis"));
  t.push_back(
      Str("dbfilename", "", M | kProtected, false, "dump.rdb", &O::dbfilename, ValidateDbFilename));
  t.push_back(Str("appendfilename", "", I, false, "appendonly.aof", &O::appendfilename,
                  ValidateAofFilename));
  t.push_back(Str("appenddirname", "", I, false, "appendonlydir", {}, ValidateAofDirname));
  t.push_back(Str("server_cpulist", "", I, true, nullptr));
  t.push_back(Str("bio_cpulist", "", I, true, nullptr));
  t.push_back(Str("aof_rewrite_cpulist", "", I, true, nullptr));
  t.push_back(Str("bgsave_cpulist", "", I, true, nullptr));
  t.push_back(Str("ignore-warnings", "", M, false, ""));
  t.push_back(Str("proc-title-template", "", M, false, "{title} {listen-addr} {server-mode}", {},
                  ValidateProcTitle));
  t.push_back(Str("bind-source-addr", "", M, true, nullptr));
  t.push_back(Str("logfile", "", I, false, "", &O::logfile));
  t.push_back(Str("masterauth", "", M, true, nullptr, &O::masterauth));
  t.push_back(Str("requirepass", "", M, true, nullptr, &O::requirepass));
  const std::pair<std::string_view, std::string O::*> tls_strings[] = {
      {"tls-cert-file", &O::tls_cert_file},
      {"tls-key-file", &O::tls_key_file},
      {"tls-key-file-pass", &O::tls_key_file_pass},
      {"tls-client-cert-file", &O::tls_client_cert_file},
      {"tls-client-key-file", &O::tls_client_key_file},
      {"tls-client-key-file-pass", &O::tls_client_key_file_pass},
      {"tls-dh-params-file", &O::tls_dh_params_file},
      {"tls-ca-cert-file", &O::tls_ca_cert_file},
      {"tls-ca-cert-dir", &O::tls_ca_cert_dir},
      {"tls-protocols", &O::tls_protocols},
      {"tls-ciphers", &O::tls_ciphers},
      {"tls-ciphersuites", &O::tls_ciphersuites}};
  for (const auto& [name, field] : tls_strings) t.push_back(Str(name, "", M, true, nullptr, field));

  // Enums.
  t.push_back(
      Enum("supervised", "", I, {{"upstart", 1}, {"systemd", 2}, {"auto", 3}, {"no", 0}}, "no"));
  t.push_back(Enum("syslog-facility", "", I,
                   {{"user", 8},
                    {"local0", 128},
                    {"local1", 136},
                    {"local2", 144},
                    {"local3", 152},
                    {"local4", 160},
                    {"local5", 168},
                    {"local6", 176},
                    {"local7", 184}},
                   "local0"));
  t.push_back(Enum("repl-diskless-load", "", M,
                   {{"disabled", 0}, {"on-empty-db", 1}, {"swapdb", 2}}, "disabled"));
  t.push_back(Enum("loglevel", "", M,
                   {{"debug", static_cast<int>(LogLevel::kDebug)},
                    {"verbose", static_cast<int>(LogLevel::kVerbose)},
                    {"notice", static_cast<int>(LogLevel::kNotice)},
                    {"warning", static_cast<int>(LogLevel::kWarning)}},
                   "notice", &O::loglevel));
  t.push_back(Enum("maxmemory-policy", "", M,
                   {{"volatile-lru", 0},
                    {"volatile-lfu", 1},
                    {"volatile-random", 2},
                    {"volatile-ttl", 3},
                    {"allkeys-lru", 4},
                    {"allkeys-lfu", 5},
                    {"allkeys-random", 6},
                    {"noeviction", 7}},
                   "noeviction", &O::maxmemory_policy));
  t.push_back(Enum("appendfsync", "", M,
                   {{"everysec", static_cast<int>(AppendFsync::kEverysec)},
                    {"always", static_cast<int>(AppendFsync::kAlways)},
                    {"no", static_cast<int>(AppendFsync::kNo)}},
                   "everysec", &O::appendfsync));
  t.push_back(Enum("oom-score-adj", "", M,
                   {{"no", 0}, {"yes", 1}, {"relative", 1}, {"absolute", 2}}, "no"));
  t.push_back(Enum("acl-pubsub-default", "", M, {{"allchannels", 1}, {"resetchannels", 0}},
                   "resetchannels"));
  t.push_back(Enum("sanitize-dump-payload", "", M, {{"no", 0}, {"yes", 1}, {"clients", 2}}, "no"));
  t.push_back(Enum("enable-protected-configs", "", I, kProtectedAction, "no"));
  t.push_back(Enum("enable-debug-command", "", I, kProtectedAction, "no"));
  t.push_back(Enum("enable-module-command", "", I, kProtectedAction, "no"));
  t.push_back(Enum("cluster-preferred-endpoint-type", "", M,
                   {{"ip", 0}, {"hostname", 1}, {"unknown-endpoint", 2}}, "ip",
                   &O::cluster_preferred_endpoint_type));
  t.push_back(Enum("propagation-error-behavior", "", M,
                   {{"ignore", 0}, {"panic", 1}, {"panic-on-replicas", 2}}, "ignore"));
  t.push_back(Enum("shutdown-on-sigint", "", M | kMultiArg, kShutdownOnSig, "default"));
  t.push_back(Enum("shutdown-on-sigterm", "", M | kMultiArg, kShutdownOnSig, "default"));
  t.push_back(Enum("tls-auth-clients", "", M, {{"no", 0}, {"yes", 1}, {"optional", 2}}, "yes",
                   &O::tls_auth_clients));

  // Integers.
  t.push_back(Num("databases", "", I, 1, kIntMax, "16", 0, &O::databases));
  t.push_back(Num("port", "", M, 0, 65535, "6379", 0, &O::port));
  t.push_back(Num("io-threads", "", I, 1, 128, "1"));
  t.push_back(Num("auto-aof-rewrite-percentage", "", M, 0, kIntMax, "100"));
  t.push_back(Num("cluster-replica-validity-factor", "cluster-slave-validity-factor", M, 0, kIntMax,
                  "10", 0, &O::cluster_replica_validity_factor));
  t.push_back(Num("list-max-listpack-size", "list-max-ziplist-size", M, kIntMin, kIntMax, "-2"));
  t.push_back(Num("tcp-keepalive", "", M, 0, kIntMax, "300", 0, &O::tcp_keepalive));
  t.push_back(
      Num("cluster-migration-barrier", "", M, 0, kIntMax, "1", 0, &O::cluster_migration_barrier));
  t.push_back(Num("active-defrag-cycle-min", "", M, 1, 99, "1"));
  t.push_back(Num("active-defrag-cycle-max", "", M, 1, 99, "25"));
  t.push_back(Num("active-defrag-threshold-lower", "", M, 0, 1000, "10"));
  t.push_back(Num("active-defrag-threshold-upper", "", M, 0, 1000, "100"));
  t.push_back(Num("lfu-log-factor", "", M, 0, kIntMax, "10", 0, &O::lfu_log_factor));
  t.push_back(Num("lfu-decay-time", "", M, 0, kIntMax, "1", 0, &O::lfu_decay_time));
  t.push_back(Num("replica-priority", "slave-priority", M, 0, kIntMax, "100"));
  t.push_back(
      Num("repl-diskless-sync-delay", "", M, 0, kIntMax, "5", 0, &O::repl_diskless_sync_delay));
  t.push_back(Num("maxmemory-samples", "", M, 1, kIntMax, "5", 0, &O::maxmemory_samples));
  t.push_back(
      Num("maxmemory-eviction-tenacity", "", M, 0, 100, "10", 0, &O::maxmemory_eviction_tenacity));
  t.push_back(Num("timeout", "", M, 0, kIntMax, "0", 0, &O::timeout));
  t.push_back(Num("replica-announce-port", "slave-announce-port", M, 0, 65535, "0"));
  t.push_back(Num("tcp-backlog", "", I, 0, kIntMax, "511", 0, &O::tcp_backlog));
  t.push_back(Num("cluster-port", "", I, 0, 65535, "0", 0, &O::cluster_port));
  t.push_back(
      Num("cluster-announce-bus-port", "", M, 0, 65535, "0", 0, &O::cluster_announce_bus_port));
  t.push_back(Num("cluster-announce-port", "", M, 0, 65535, "0", 0, &O::cluster_announce_port));
  t.push_back(
      Num("cluster-announce-tls-port", "", M, 0, 65535, "0", 0, &O::cluster_announce_tls_port));
  t.push_back(Num("repl-timeout", "", M, 1, kIntMax, "60", 0, &O::repl_timeout));
  t.push_back(Num("repl-ping-replica-period", "repl-ping-slave-period", M, 1, kIntMax, "10", 0,
                  &O::repl_ping_replica_period));
  t.push_back(Num("list-compress-depth", "", M, 0, kIntMax, "0"));
  t.push_back(Num("rdb-key-save-delay", "", M | kHidden, kIntMin, kIntMax, "0"));
  t.push_back(Num("key-load-delay", "", M | kHidden, kIntMin, kIntMax, "0"));
  t.push_back(Num("active-expire-effort", "", M, 1, 10, "1"));
  t.push_back(Num("hz", "", M, 0, kIntMax, "10", 0, &O::hz));
  t.push_back(Num("min-replicas-to-write", "min-slaves-to-write", M, 0, kIntMax, "0", 0,
                  &O::min_replicas_to_write));
  t.push_back(Num("min-replicas-max-lag", "min-slaves-max-lag", M, 0, kIntMax, "10", 0,
                  &O::min_replicas_max_lag));
  t.push_back(Num("watchdog-period", "", M | kHidden, 0, kIntMax, "0", 0, &O::watchdog_period));
  t.push_back(Num("shutdown-timeout", "", M, 0, kIntMax, "10"));
  t.push_back(Num("repl-diskless-sync-max-replicas", "", M, 0, kIntMax, "0"));
  t.push_back(Num("tls-port", "", M, 0, 65535, "0", 0, &O::tls_port));
  t.push_back(
      Num("tls-session-cache-size", "", M, 0, kIntMax, "20480", 0, &O::tls_session_cache_size));
  t.push_back(
      Num("tls-session-cache-timeout", "", M, 0, kIntMax, "300", 0, &O::tls_session_cache_timeout));
  t.push_back(UNum("maxclients", "", M, 1, kUIntMax, "10000", 0, &O::maxclients));
  t.push_back(UNum("unixsocketperm", "", I, 0, 0777, "0", kNumOctal));
  t.push_back(UNum("socket-mark-id", "", I, 0, kUIntMax, "0"));
  t.push_back(Num("active-defrag-max-scan-fields", "", M, 1, kLongMax, "1000"));
  t.push_back(Num("slowlog-max-len", "", M, 0, kLongMax, "128", 0, &O::slowlog_max_len));
  t.push_back(Num("acllog-max-len", "", M, 0, kLongMax, "128"));
  t.push_back(Num("busy-reply-threshold", "lua-time-limit", M, 0, kLongMax, "5000", 0,
                  &O::busy_reply_threshold));
  t.push_back(
      Num("cluster-node-timeout", "", M, 0, kLLongMax, "15000", 0, &O::cluster_node_timeout));
  t.push_back(Num("slowlog-log-slower-than", "", M, -1, kLLongMax, "10000", 0,
                  &O::slowlog_log_slower_than));
  t.push_back(
      Num("latency-monitor-threshold", "", M, 0, kLLongMax, "0", 0, &O::latency_monitor_threshold));
  t.push_back(Num("proto-max-bulk-len", "", M, 1024 * 1024, kLongMax, "536870912", kNumMemory,
                  &O::proto_max_bulk_len));
  t.push_back(
      Num("stream-node-max-entries", "", M, 0, kLLongMax, "100", 0, &O::stream_node_max_entries));
  t.push_back(
      Num("repl-backlog-size", "", M, 1, kLLongMax, "1048576", kNumMemory, &O::repl_backlog_size));
  t.push_back(UNum("maxmemory", "", M, 0, kULLongMax, "0", kNumMemory, &O::maxmemory));
  t.push_back(UNum("cluster-link-sendbuf-limit", "", M, 0, kULLongMax, "0", kNumMemory,
                   &O::cluster_link_sendbuf_limit));
  t.push_back(UNum("hash-max-listpack-entries", "hash-max-ziplist-entries", M, 0, kLongMax, "512",
                   0, &O::hash_max_listpack_entries));
  t.push_back(UNum("set-max-intset-entries", "", M, 0, kLongMax, "512"));
  t.push_back(UNum("zset-max-listpack-entries", "zset-max-ziplist-entries", M, 0, kLongMax, "128",
                   0, &O::zset_max_listpack_entries));
  t.push_back(UNum("active-defrag-ignore-bytes", "", M, 1, kLLongMax, "104857600", kNumMemory));
  t.push_back(UNum("hash-max-listpack-value", "hash-max-ziplist-value", M, 0, kLongMax, "64",
                   kNumMemory, &O::hash_max_listpack_value));
  t.push_back(UNum("stream-node-max-bytes", "", M, 0, kLongMax, "4096", kNumMemory,
                   &O::stream_node_max_bytes));
  t.push_back(UNum("zset-max-listpack-value", "zset-max-ziplist-value", M, 0, kLongMax, "64",
                   kNumMemory, &O::zset_max_listpack_value));
  t.push_back(UNum("hll-sparse-max-bytes", "", M, 0, kLongMax, "3000", kNumMemory,
                   &O::hll_sparse_max_bytes));
  t.push_back(UNum("tracking-table-max-keys", "", M, 0, kLongMax, "1000000", 0,
                   &O::tracking_table_max_keys));
  t.push_back(UNum("client-query-buffer-limit", "", M, 1024 * 1024, kLongMax, "1073741824",
                   kNumMemory, &O::client_query_buffer_limit));
  t.push_back(Num("maxmemory-clients", "", M, -100, kSSizeMax, "0", kNumMemory | kNumPercent,
                  &O::maxmemory_clients));
  t.push_back(Num("repl-backlog-ttl", "", M, 0, kLongMax, "3600"));
  t.push_back(Num("auto-aof-rewrite-min-size", "", M, 0, kLLongMax, "67108864", kNumMemory));
  t.push_back(
      Num("loading-process-events-interval-bytes", "", M | kHidden, 1024, kIntMax, "2097152"));
  // shardnode's own: shard threads. Hidden from CONFIG GET * (shown when
  // asked by name), so that tools walking Redis's settings (Redis's own
  // CONFIG sanity test sets each to its value) meet only Redis's.
  t.push_back(Num("threads", "", I | kHidden, 1, 1024, "1", 0, &O::threads));

  // Directives with their own syntax.
  t.push_back(Spec("dir", "", M | kProtected, Special::kDir, ""));
  t.push_back(Spec("save", "", M | kMultiArg, Special::kSave, "3600 1 300 100 60 10000"));
  t.push_back(Spec("client-output-buffer-limit", "", M | kMultiArg,
                   Special::kClientOutputBufferLimit,
                   "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"));
  t.push_back(
      Spec("oom-score-adj-values", "", M | kMultiArg, Special::kOomScoreAdjValues, "0 200 800"));
  t.push_back(Spec("notify-keyspace-events", "", M, Special::kNotifyKeyspaceEvents, ""));
  t.push_back(Spec("bind", "", M | kMultiArg, Special::kBind, "* -::*"));
  t.push_back(Spec("replicaof", "slaveof", I | kMultiArg, Special::kReplicaOf, ""));
  t.push_back(Spec("latency-tracking-info-percentiles", "", M | kMultiArg,
                   Special::kLatencyPercentiles, "50 99 99.9"));
  return t;
}

}  // namespace

const Table& GetTable() {
  static const Table* table = [] {
    auto* t = new Table;
    t->directives = BuildTable();
    for (const Directive& d : t->directives) {
      t->by_name[std::string(d.name)] = &d;
      t->names.emplace_back(d.name, &d);
      if (!d.alias.empty()) {
        t->by_name[std::string(d.alias)] = &d;
        t->names.emplace_back(d.alias, &d);
      }
    }
    return t;
  }();
  return *table;
}

const Directive* Lookup(std::string_view name) {
  const Table& t = GetTable();
  auto it = t.by_name.find(base::AsciiLower(name));
  return it == t.by_name.end() ? nullptr : it->second;
}

}  // namespace shardnode::node::config_internal
