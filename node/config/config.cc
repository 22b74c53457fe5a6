#include "node/config/config.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <variant>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace shardnode::node {
namespace {

// Debian's abseil has its own string_view type, distinct from std's: these
// helpers keep std::string_view on our side.
absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(AV(a), AV(b));
}

std::string ToLower(std::string_view s) { return absl::AsciiStrToLower(AV(s)); }

std::vector<std::string_view> SplitBy(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::string JoinViews(const std::vector<std::string_view>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out.append(sep);
    out.append(parts[i]);
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// The directive table.

namespace {

enum DirectiveFlag : uint32_t {
  kImmutable = 1u << 0,
  kProtected = 1u << 1,  // CONFIG SET only with enable-protected-configs
  kHidden = 1u << 2,     // CONFIG GET shows it only when asked by exact name
  kMultiArg = 1u << 3,   // takes several arguments (save, bind...)
};

enum NumFlag : uint32_t {
  kNumMemory = 1u << 0,   // accepts units (1gb); shown as plain bytes
  kNumPercent = 1u << 1,  // also accepts "N%", stored as -N
  kNumOctal = 1u << 2,
};

enum class Type { kBool, kString, kEnum, kNumeric, kSpecial };

enum class Special {
  kNone,
  kDir,
  kSave,
  kClientOutputBufferLimit,
  kOomScoreAdjValues,
  kNotifyKeyspaceEvents,
  kBind,
  kReplicaOf,
  kLatencyPercentiles,
};

using Field = std::variant<std::monostate, bool ServerOptions::*, int ServerOptions::*,
                           int64_t ServerOptions::*, std::string ServerOptions::*,
                           LogLevel ServerOptions::*, AppendFsync ServerOptions::*>;

using Validator = const char* (*)(std::string_view value);

struct EnumValue {
  std::string_view name;
  int value;
};

}  // namespace

struct Config::Directive {
  std::string_view name;
  std::string_view alias;  // empty: none
  Type type = Type::kBool;
  uint32_t flags = 0;
  // Canonical (CONFIG GET) text of the default. For strings whose empty
  // value means "unset", `default_null` marks a NULL default instead.
  std::string_view default_text;
  bool default_null = false;
  bool empty_is_null = false;
  Field field;
  // Numeric.
  int64_t min = 0;
  int64_t max = 0;
  bool unsigned_range = false;
  uint32_t num_flags = 0;
  // Enum; `bitflags` enums take several names that are OR-ed.
  std::vector<EnumValue> enum_values;
  bool bitflags = false;
  Validator validate = nullptr;
  Special special = Special::kNone;
};

namespace {

using Directive = Config::Directive;

Directive Bool(std::string_view name, std::string_view alias, uint32_t flags, bool def,
               Field field = {}, Validator validate = nullptr) {
  Directive d;
  d.name = name;
  d.alias = alias;
  d.type = Type::kBool;
  d.flags = flags;
  d.default_text = def ? "yes" : "no";
  d.field = field;
  d.validate = validate;
  return d;
}

// `def` nullptr: the default is unset (shown as "").
Directive Str(std::string_view name, std::string_view alias, uint32_t flags, bool empty_is_null,
              const char* def, Field field = {}, Validator validate = nullptr) {
  Directive d;
  d.name = name;
  d.alias = alias;
  d.type = Type::kString;
  d.flags = flags;
  d.empty_is_null = empty_is_null;
  d.default_null = def == nullptr;
  d.default_text = def == nullptr ? "" : def;
  d.field = field;
  d.validate = validate;
  return d;
}

Directive Enum(std::string_view name, std::string_view alias, uint32_t flags,
               std::vector<EnumValue> values, std::string_view def, Field field = {}) {
  Directive d;
  d.name = name;
  d.alias = alias;
  d.type = Type::kEnum;
  d.flags = flags;
  d.enum_values = std::move(values);
  d.bitflags = (flags & kMultiArg) != 0;
  d.default_text = def;
  d.field = field;
  return d;
}

Directive Num(std::string_view name, std::string_view alias, uint32_t flags, int64_t min,
              int64_t max, std::string_view def, uint32_t num_flags = 0, Field field = {},
              bool unsigned_range = false) {
  Directive d;
  d.name = name;
  d.alias = alias;
  d.type = Type::kNumeric;
  d.flags = flags;
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
  Directive d;
  d.name = name;
  d.alias = alias;
  d.type = Type::kSpecial;
  d.flags = flags;
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
  t.push_back(Bool("rdbcompression", "", M, true));
  t.push_back(Bool("rdb-del-sync-files", "", M, false));
  t.push_back(Bool("activerehashing", "", M, true));
  t.push_back(Bool("stop-writes-on-bgsave-error", "", M, true));
  t.push_back(Bool("set-proc-title", "", I, true));
  t.push_back(Bool("dynamic-hz", "", M, true));
  t.push_back(Bool("lazyfree-lazy-eviction", "", M, false));
  t.push_back(Bool("lazyfree-lazy-expire", "", M, false));
  t.push_back(Bool("lazyfree-lazy-server-del", "", M, false));
  t.push_back(Bool("lazyfree-lazy-user-del", "", M, false));
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
  t.push_back(Bool("replica-ignore-maxmemory", "slave-ignore-maxmemory", M, true));
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
  t.push_back(Bool("latency-tracking", "", M, true));
  t.push_back(Bool("aof-disable-auto-gc", "", M, false));
  t.push_back(Bool("replica-ignore-disk-write-errors", "", M, false));
  t.push_back(Bool("tls-cluster", "", M, false));
  t.push_back(Bool("tls-replication", "", M, false));
  t.push_back(Bool("tls-prefer-server-ciphers", "", M, false));
  t.push_back(Bool("tls-session-caching", "", M, true));

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
  for (const char* tls :
       {"tls-cert-file", "tls-key-file", "tls-key-file-pass", "tls-client-cert-file",
        "tls-client-key-file", "tls-client-key-file-pass", "tls-dh-params-file", "tls-ca-cert-file",
        "tls-ca-cert-dir", "tls-protocols", "tls-ciphers", "tls-ciphersuites"}) {
    t.push_back(Str(tls, "", M, true, nullptr));
  }

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
                   "noeviction"));
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
  t.push_back(Enum("tls-auth-clients", "", M, {{"no", 0}, {"yes", 1}, {"optional", 2}}, "yes"));

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
  t.push_back(Num("lfu-log-factor", "", M, 0, kIntMax, "10"));
  t.push_back(Num("lfu-decay-time", "", M, 0, kIntMax, "1"));
  t.push_back(Num("replica-priority", "slave-priority", M, 0, kIntMax, "100"));
  t.push_back(
      Num("repl-diskless-sync-delay", "", M, 0, kIntMax, "5", 0, &O::repl_diskless_sync_delay));
  t.push_back(Num("maxmemory-samples", "", M, 1, kIntMax, "5"));
  t.push_back(Num("maxmemory-eviction-tenacity", "", M, 0, 100, "10"));
  t.push_back(Num("timeout", "", M, 0, kIntMax, "0", 0, &O::timeout));
  t.push_back(Num("replica-announce-port", "slave-announce-port", M, 0, 65535, "0"));
  t.push_back(Num("tcp-backlog", "", I, 0, kIntMax, "511", 0, &O::tcp_backlog));
  t.push_back(Num("cluster-port", "", I, 0, 65535, "0", 0, &O::cluster_port));
  t.push_back(
      Num("cluster-announce-bus-port", "", M, 0, 65535, "0", 0, &O::cluster_announce_bus_port));
  t.push_back(Num("cluster-announce-port", "", M, 0, 65535, "0", 0, &O::cluster_announce_port));
  t.push_back(Num("cluster-announce-tls-port", "", M, 0, 65535, "0"));
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
  t.push_back(Num("watchdog-period", "", M | kHidden, 0, kIntMax, "0"));
  t.push_back(Num("shutdown-timeout", "", M, 0, kIntMax, "10"));
  t.push_back(Num("repl-diskless-sync-max-replicas", "", M, 0, kIntMax, "0"));
  t.push_back(Num("tls-port", "", M, 0, 65535, "0"));
  t.push_back(Num("tls-session-cache-size", "", M, 0, kIntMax, "20480"));
  t.push_back(Num("tls-session-cache-timeout", "", M, 0, kIntMax, "300"));
  t.push_back(UNum("maxclients", "", M, 1, kUIntMax, "10000", 0, &O::maxclients));
  t.push_back(UNum("unixsocketperm", "", I, 0, 0777, "0", kNumOctal));
  t.push_back(UNum("socket-mark-id", "", I, 0, kUIntMax, "0"));
  t.push_back(Num("active-defrag-max-scan-fields", "", M, 1, kLongMax, "1000"));
  t.push_back(Num("slowlog-max-len", "", M, 0, kLongMax, "128"));
  t.push_back(Num("acllog-max-len", "", M, 0, kLongMax, "128"));
  t.push_back(Num("busy-reply-threshold", "lua-time-limit", M, 0, kLongMax, "5000"));
  t.push_back(
      Num("cluster-node-timeout", "", M, 0, kLLongMax, "15000", 0, &O::cluster_node_timeout));
  t.push_back(Num("slowlog-log-slower-than", "", M, -1, kLLongMax, "10000"));
  t.push_back(Num("latency-monitor-threshold", "", M, 0, kLLongMax, "0"));
  t.push_back(Num("proto-max-bulk-len", "", M, 1024 * 1024, kLongMax, "536870912", kNumMemory,
                  &O::proto_max_bulk_len));
  t.push_back(Num("stream-node-max-entries", "", M, 0, kLLongMax, "100"));
  t.push_back(
      Num("repl-backlog-size", "", M, 1, kLLongMax, "1048576", kNumMemory, &O::repl_backlog_size));
  t.push_back(UNum("maxmemory", "", M, 0, kULLongMax, "0", kNumMemory, &O::maxmemory));
  t.push_back(UNum("cluster-link-sendbuf-limit", "", M, 0, kULLongMax, "0", kNumMemory,
                   &O::cluster_link_sendbuf_limit));
  t.push_back(UNum("hash-max-listpack-entries", "hash-max-ziplist-entries", M, 0, kLongMax, "512"));
  t.push_back(UNum("set-max-intset-entries", "", M, 0, kLongMax, "512"));
  t.push_back(UNum("zset-max-listpack-entries", "zset-max-ziplist-entries", M, 0, kLongMax, "128"));
  t.push_back(UNum("active-defrag-ignore-bytes", "", M, 1, kLLongMax, "104857600", kNumMemory));
  t.push_back(
      UNum("hash-max-listpack-value", "hash-max-ziplist-value", M, 0, kLongMax, "64", kNumMemory));
  t.push_back(UNum("stream-node-max-bytes", "", M, 0, kLongMax, "4096", kNumMemory));
  t.push_back(
      UNum("zset-max-listpack-value", "zset-max-ziplist-value", M, 0, kLongMax, "64", kNumMemory));
  t.push_back(UNum("hll-sparse-max-bytes", "", M, 0, kLongMax, "3000", kNumMemory));
  t.push_back(UNum("tracking-table-max-keys", "", M, 0, kLongMax, "1000000"));
  t.push_back(UNum("client-query-buffer-limit", "", M, 1024 * 1024, kLongMax, "1073741824",
                   kNumMemory, &O::client_query_buffer_limit));
  t.push_back(Num("maxmemory-clients", "", M, -100, kSSizeMax, "0", kNumMemory | kNumPercent));
  t.push_back(Num("repl-backlog-ttl", "", M, 0, kLongMax, "3600"));
  t.push_back(Num("auto-aof-rewrite-min-size", "", M, 0, kLLongMax, "67108864", kNumMemory));
  t.push_back(
      Num("loading-process-events-interval-bytes", "", M | kHidden, 1024, kIntMax, "2097152"));
  // shardnode's own: shard threads.
  t.push_back(Num("threads", "", I, 1, 1024, "1", 0, &O::threads));

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

struct Table {
  std::vector<Directive> directives;
  // Lower-case name or alias -> directive.
  absl::flat_hash_map<std::string, const Directive*> by_name;
  // Every name then alias in table order, with its directive (CONFIG GET *).
  std::vector<std::pair<std::string_view, const Directive*>> names;
};

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
  auto it = t.by_name.find(ToLower(name));
  return it == t.by_name.end() ? nullptr : it->second;
}

// ---------------------------------------------------------------------------
// Value parsing and formatting, as Redis's config.c / util.c do it.

// Redis's string2ll: optional '-', no '+', no leading zeros, no blanks.
std::optional<int64_t> ParseStrictInt(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  size_t i = 0;
  bool neg = false;
  if (s[0] == '-') {
    neg = true;
    i = 1;
    if (s.size() == 1) return std::nullopt;
  }
  if (s[i] == '0') {
    if (s.size() == 1) return 0;
    return std::nullopt;
  }
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
    v = v * 10 + digit;
  }
  if (neg) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return std::nullopt;
    return static_cast<int64_t>(0 - v);
  }
  if (v > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(v);
}

// strtoll(s, &end, 10) with *end == '\0' required (Redis's save/oom checks).
std::optional<int64_t> ParseStrtoll(const std::string& s, int base = 10) {
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(s.c_str(), &end, base);
  if (*end != '\0') return std::nullopt;
  if (errno == ERANGE) return std::nullopt;
  return v;
}

std::string FormatNumeric(const Directive& d, int64_t v) {
  if ((d.num_flags & kNumPercent) && v < 0) return absl::StrCat(-v, "%");
  if (d.num_flags & kNumMemory) return absl::StrCat(static_cast<uint64_t>(v));
  if (d.num_flags & kNumOctal) return absl::StrFormat("%o", static_cast<uint64_t>(v));
  return absl::StrCat(v);
}

// Redis's rewriteConfigFormatMemory: the largest exact unit.
std::string FormatMemoryForFile(int64_t bytes) {
  const int64_t gb = 1024LL * 1024 * 1024;
  const int64_t mb = 1024LL * 1024;
  const int64_t kb = 1024;
  if (bytes && bytes % gb == 0) return absl::StrCat(bytes / gb, "gb");
  if (bytes && bytes % mb == 0) return absl::StrCat(bytes / mb, "mb");
  if (bytes && bytes % kb == 0) return absl::StrCat(bytes / kb, "kb");
  return absl::StrCat(bytes);
}

absl::StatusOr<int64_t> ParseNumeric(const Directive& d, const std::string& value) {
  if (d.num_flags & kNumMemory) {
    if (auto m = ParseMemory(value)) return static_cast<int64_t>(*m);
  }
  if ((d.num_flags & kNumPercent) && value.size() > 1 && value.back() == '%') {
    auto n = ParseStrictInt(std::string_view(value).substr(0, value.size() - 1));
    if (n && *n >= 0) return -*n;
  }
  if (d.num_flags & kNumOctal) {
    if (auto n = ParseStrtoll(value, 8)) return *n;
  }
  if (d.num_flags == 0) {
    if (auto n = ParseStrictInt(value)) return *n;
  }
  if ((d.num_flags & kNumMemory) && (d.num_flags & kNumPercent)) {
    return absl::InvalidArgumentError("argument must be a memory or percent value");
  }
  if (d.num_flags & kNumMemory)
    return absl::InvalidArgumentError("argument must be a memory value");
  if (d.num_flags & kNumOctal) {
    return absl::InvalidArgumentError("argument couldn't be parsed as an octal number");
  }
  return absl::InvalidArgumentError("argument couldn't be parsed into an integer");
}

absl::Status CheckBounds(const Directive& d, int64_t v) {
  if (d.unsigned_range) {
    uint64_t u = static_cast<uint64_t>(v);
    uint64_t lo = static_cast<uint64_t>(d.min);
    uint64_t hi = static_cast<uint64_t>(d.max);
    if (u > hi || u < lo) {
      if (d.num_flags & kNumOctal) {
        return absl::InvalidArgumentError(
            absl::StrFormat("argument must be between %o and %o inclusive", lo, hi));
      }
      return absl::InvalidArgumentError(
          absl::StrFormat("argument must be between %u and %u inclusive", lo, hi));
    }
    return absl::OkStatus();
  }
  if ((d.num_flags & kNumPercent) && v < 0) {
    if (v < d.min) {
      return absl::InvalidArgumentError(
          absl::StrFormat("percentage argument must be less or equal to %d", -d.min));
    }
    return absl::OkStatus();
  }
  if (v > d.max || v < d.min) {
    return absl::InvalidArgumentError(
        absl::StrFormat("argument must be between %d and %d inclusive", d.min, d.max));
  }
  return absl::OkStatus();
}

// Enum names -> value; nullopt when a name is unknown (or several names for
// a non-bitflags enum).
std::optional<int> ParseEnum(const Directive& d, const std::vector<std::string>& args) {
  if (args.empty() || (!d.bitflags && args.size() != 1)) return std::nullopt;
  int value = 0;
  for (const std::string& a : args) {
    bool found = false;
    for (const EnumValue& ev : d.enum_values) {
      if (EqualsIgnoreCase(a, ev.name)) {
        value |= ev.value;
        found = true;
      }
    }
    if (!found) return std::nullopt;
  }
  return value;
}

std::string EnumName(const Directive& d, int value) {
  for (const EnumValue& ev : d.enum_values) {
    if (ev.value == value) return std::string(ev.name);
  }
  if (!d.bitflags) return "unknown";
  std::vector<std::string_view> names;
  int left = value;
  for (const EnumValue& ev : d.enum_values) {
    if (ev.value && (left & ev.value) == ev.value) {
      names.push_back(ev.name);
      left &= ~ev.value;
    }
  }
  if (names.empty() || left) return "unknown";
  return JoinViews(names, " ");
}

std::string EnumError(const Directive& d) {
  std::vector<std::string_view> names;
  for (const EnumValue& ev : d.enum_values) names.push_back(ev.name);
  return "argument(s) must be one of the following: " + JoinViews(names, ", ");
}

// notify-keyspace-events classes.
constexpr int kNotifyKeyspace = 1 << 0, kNotifyKeyevent = 1 << 1, kNotifyGeneric = 1 << 2,
              kNotifyString = 1 << 3, kNotifyList = 1 << 4, kNotifySet = 1 << 5,
              kNotifyHash = 1 << 6, kNotifyZset = 1 << 7, kNotifyExpired = 1 << 8,
              kNotifyEvicted = 1 << 9, kNotifyStream = 1 << 10, kNotifyKeyMiss = 1 << 11,
              kNotifyModule = 1 << 13, kNotifyNew = 1 << 14;
constexpr int kNotifyAll = kNotifyGeneric | kNotifyString | kNotifyList | kNotifySet | kNotifyHash |
                           kNotifyZset | kNotifyExpired | kNotifyEvicted | kNotifyStream |
                           kNotifyModule;

std::optional<int> ParseNotifyFlags(std::string_view s) {
  int flags = 0;
  for (char c : s) {
    switch (c) {
      case 'A':
        flags |= kNotifyAll;
        break;
      case 'g':
        flags |= kNotifyGeneric;
        break;
      case '$':
        flags |= kNotifyString;
        break;
      case 'l':
        flags |= kNotifyList;
        break;
      case 's':
        flags |= kNotifySet;
        break;
      case 'h':
        flags |= kNotifyHash;
        break;
      case 'z':
        flags |= kNotifyZset;
        break;
      case 'x':
        flags |= kNotifyExpired;
        break;
      case 'e':
        flags |= kNotifyEvicted;
        break;
      case 'K':
        flags |= kNotifyKeyspace;
        break;
      case 'E':
        flags |= kNotifyKeyevent;
        break;
      case 't':
        flags |= kNotifyStream;
        break;
      case 'm':
        flags |= kNotifyKeyMiss;
        break;
      case 'd':
        flags |= kNotifyModule;
        break;
      case 'n':
        flags |= kNotifyNew;
        break;
      default:
        return std::nullopt;
    }
  }
  return flags;
}

std::string NotifyFlagsText(int flags) {
  std::string out;
  if ((flags & kNotifyAll) == kNotifyAll) {
    out += 'A';
  } else {
    const std::pair<int, char> kOrder[] = {
        {kNotifyGeneric, 'g'}, {kNotifyString, '$'}, {kNotifyList, 'l'},    {kNotifySet, 's'},
        {kNotifyHash, 'h'},    {kNotifyZset, 'z'},   {kNotifyExpired, 'x'}, {kNotifyEvicted, 'e'},
        {kNotifyStream, 't'},  {kNotifyModule, 'd'}, {kNotifyNew, 'n'}};
    for (auto [bit, c] : kOrder) {
      if (flags & bit) out += c;
    }
  }
  if (flags & kNotifyKeyspace) out += 'K';
  if (flags & kNotifyKeyevent) out += 'E';
  if (flags & kNotifyKeyMiss) out += 'm';
  return out;
}

// client-output-buffer-limit, one class.
struct ObufLimit {
  uint64_t hard = 0;
  uint64_t soft = 0;
  int64_t soft_seconds = 0;
};
constexpr const char* kObufClasses[] = {"normal", "slave", "pubsub"};

std::vector<ObufLimit> ParseObufCanonical(std::string_view text) {
  std::vector<ObufLimit> out(3);
  std::vector<std::string> parts = absl::StrSplit(AV(text), ' ', absl::SkipEmpty());
  for (size_t i = 0; i + 3 < parts.size(); i += 4) {
    for (int c = 0; c < 3; ++c) {
      if (parts[i] != kObufClasses[c]) continue;
      (void)absl::SimpleAtoi(parts[i + 1], &out[c].hard);
      (void)absl::SimpleAtoi(parts[i + 2], &out[c].soft);
      (void)absl::SimpleAtoi(parts[i + 3], &out[c].soft_seconds);
    }
  }
  return out;
}

std::string ObufCanonical(const std::vector<ObufLimit>& limits) {
  std::vector<std::string> parts;
  for (int c = 0; c < 3; ++c) {
    parts.push_back(absl::StrCat(kObufClasses[c], " ", limits[c].hard, " ", limits[c].soft, " ",
                                 limits[c].soft_seconds));
  }
  return absl::StrJoin(parts, " ");
}

// Redis's "%f" then trimDoubleString.
std::string FormatPercentile(double d) {
  std::string s = absl::StrFormat("%f", d);
  if (s.find('.') != std::string::npos) {
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
  }
  return s;
}

// Redis's string2d: strtod over the whole string, no leading blank, no NaN.
std::optional<double> ParseStrictDouble(const std::string& s) {
  if (s.empty() || absl::ascii_isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(s.c_str(), &end);
  if (static_cast<size_t>(end - s.c_str()) != s.size()) return std::nullopt;
  if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || d == 0)) return std::nullopt;
  if (std::isnan(d)) return std::nullopt;
  return d;
}

std::string GetCwd() {
  char buf[4096];
  if (getcwd(buf, sizeof(buf)) == nullptr) return "";
  return buf;
}

std::string FatalConfigError(absl::string_view err) {
  return absl::StrCat("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n", err, "\n");
}

std::string FatalConfigError(int linenum, std::string_view line, absl::string_view err) {
  return absl::StrCat("\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n",
                      "Reading the configuration file, at line ", linenum, "\n>>> '", AV(line),
                      "'\n", err, "\n");
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int e = errno;
    return absl::NotFoundError(
        absl::StrCat("Fatal error, can't open config file '", path, "': ", std::strerror(e)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool IsTrimChar(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view TrimLine(std::string_view s) {
  while (!s.empty() && IsTrimChar(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsTrimChar(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public helpers.

std::optional<uint64_t> ParseMemory(std::string_view s) {
  if (!s.empty() && s[0] == '-') return std::nullopt;
  size_t digits = 0;
  while (digits < s.size() && absl::ascii_isdigit(static_cast<unsigned char>(s[digits]))) {
    ++digits;
  }
  std::string_view unit = s.substr(digits);
  uint64_t mul;
  if (unit.empty() || EqualsIgnoreCase(unit, "b")) {
    mul = 1;
  } else if (EqualsIgnoreCase(unit, "k")) {
    mul = 1000;
  } else if (EqualsIgnoreCase(unit, "kb")) {
    mul = 1024;
  } else if (EqualsIgnoreCase(unit, "m")) {
    mul = 1000 * 1000;
  } else if (EqualsIgnoreCase(unit, "mb")) {
    mul = 1024 * 1024;
  } else if (EqualsIgnoreCase(unit, "g")) {
    mul = 1000ULL * 1000 * 1000;
  } else if (EqualsIgnoreCase(unit, "gb")) {
    mul = 1024ULL * 1024 * 1024;
  } else {
    return std::nullopt;
  }
  if (digits >= 128) return std::nullopt;
  // As Redis: no digits reads as 0 ("" and "kb" are 0); overflow saturates
  // through strtoull and the multiplication wraps.
  uint64_t val = 0;
  if (digits > 0) {
    std::string buf(s.substr(0, digits));
    val = std::strtoull(buf.c_str(), nullptr, 10);
  }
  return val * mul;
}

std::optional<std::vector<std::string>> SplitConfigArgs(std::string_view line) {
  std::vector<std::string> out;
  size_t p = 0;
  auto at = [&](size_t i) -> char { return i < line.size() ? line[i] : '\0'; };
  auto is_hex = [](char c) { return absl::ascii_isxdigit(static_cast<unsigned char>(c)); };
  auto hex_val = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    return absl::ascii_tolower(static_cast<unsigned char>(c)) - 'a' + 10;
  };
  while (true) {
    while (p < line.size() && absl::ascii_isspace(static_cast<unsigned char>(line[p]))) ++p;
    if (p >= line.size()) return out;
    bool in_dq = false;
    bool in_sq = false;
    bool done = false;
    std::string cur;
    while (!done) {
      char c = at(p);
      if (in_dq) {
        if (c == '\\' && at(p + 1) == 'x' && is_hex(at(p + 2)) && is_hex(at(p + 3))) {
          cur += static_cast<char>(hex_val(at(p + 2)) * 16 + hex_val(at(p + 3)));
          p += 3;
        } else if (c == '\\' && p + 1 < line.size()) {
          ++p;
          switch (line[p]) {
            case 'n':
              cur += '\n';
              break;
            case 'r':
              cur += '\r';
              break;
            case 't':
              cur += '\t';
              break;
            case 'b':
              cur += '\b';
              break;
            case 'a':
              cur += '\a';
              break;
            default:
              cur += line[p];
              break;
          }
        } else if (c == '"') {
          // The closing quote must be followed by a blank or the end.
          if (p + 1 < line.size() &&
              !absl::ascii_isspace(static_cast<unsigned char>(line[p + 1]))) {
            return std::nullopt;
          }
          done = true;
        } else if (p >= line.size()) {
          return std::nullopt;
        } else {
          cur += c;
        }
      } else if (in_sq) {
        if (c == '\\' && at(p + 1) == '\'') {
          ++p;
          cur += '\'';
        } else if (c == '\'') {
          if (p + 1 < line.size() &&
              !absl::ascii_isspace(static_cast<unsigned char>(line[p + 1]))) {
            return std::nullopt;
          }
          done = true;
        } else if (p >= line.size()) {
          return std::nullopt;
        } else {
          cur += c;
        }
      } else {
        if (p >= line.size()) {
          done = true;
        } else {
          switch (c) {
            case ' ':
            case '\n':
            case '\r':
            case '\t':
            case '\0':
              done = true;
              break;
            case '"':
              in_dq = true;
              break;
            case '\'':
              in_sq = true;
              break;
            default:
              cur += c;
              break;
          }
        }
      }
      if (p < line.size()) ++p;
    }
    out.push_back(std::move(cur));
  }
}

std::string QuoteConfigArg(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\a':
        out += "\\a";
        break;
      case '\b':
        out += "\\b";
        break;
      default:
        if (absl::ascii_isprint(static_cast<unsigned char>(c))) {
          out += c;
        } else {
          out += absl::StrFormat("\\x%02x", static_cast<unsigned char>(c));
        }
    }
  }
  out += '"';
  return out;
}

// ---------------------------------------------------------------------------
// Config.

Config::Config(bool live) : live_(live) {
  for (const Directive& d : GetTable().directives) {
    if (std::holds_alternative<std::monostate>(d.field) &&
        (d.type != Type::kSpecial || d.special == Special::kClientOutputBufferLimit ||
         d.special == Special::kOomScoreAdjValues || d.special == Special::kNotifyKeyspaceEvents ||
         d.special == Special::kLatencyPercentiles)) {
      generic_[std::string(d.name)] = std::string(d.default_text);
    }
  }
  if (live_) options_.dir = GetCwd();
}

Config::~Config() = default;

absl::StatusOr<std::unique_ptr<Config>> Config::FromText(std::string_view text) {
  std::unique_ptr<Config> config(new Config(/*live=*/false));
  absl::Status s = config->LoadText(text, 0);
  if (!s.ok()) return s;
  return config;
}

absl::StatusOr<std::unique_ptr<Config>> Config::FromArgs(int argc, const char* const* argv) {
  std::unique_ptr<Config> config(new Config(/*live=*/true));
  int j = 1;
  std::string file;
  if (argc >= 2 && argv[1][0] != '-') {
    file = argv[1];
    config->config_file_ = std::filesystem::absolute(file).lexically_normal().string();
    j = 2;
  }
  bool from_stdin = false;
  std::string options;
  bool handled_last_arg = true;
  for (; j < argc; ++j) {
    std::string_view arg = argv[j];
    if (arg == "-" && (j == 1 || j == argc - 1)) {
      from_stdin = true;
    } else if (handled_last_arg && arg.starts_with("--")) {
      if (!options.empty()) options += "\n";
      options.append(arg.substr(2));
      options += " ";
      auto split = SplitConfigArgs(arg);
      if (split && split->size() == 1) {
        // A bare "--name": its arguments follow. A bare "--save" followed by
        // another option (or last) means save "".
        handled_last_arg = false;
        bool is_save = EqualsIgnoreCase(arg, "--save");
        if (is_save && j != argc - 1 && std::string_view(argv[j + 1]).starts_with("--")) {
          options += "\"\"";
          handled_last_arg = true;
        } else if (is_save && j == argc - 1) {
          options += "\"\"";
        }
      } else {
        handled_last_arg = true;
      }
    } else {
      absl::StrAppend(&options, QuoteConfigArg(arg), " ");
      handled_last_arg = true;
    }
  }

  std::string text;
  if (!file.empty()) {
    auto content = ReadWholeFile(file);
    if (!content.ok()) return content.status();
    text = *std::move(content);
  }
  if (from_stdin) {
    text.append(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  }
  if (!file.empty() || from_stdin || !options.empty()) {
    text += "\n";
    text += options;
  }
  absl::Status s = config->LoadText(text, 0);
  if (!s.ok()) return s;
  return config;
}

absl::Status Config::LoadText(std::string_view text, int depth) {
  if (depth > 16) return absl::InvalidArgumentError(FatalConfigError("Too many nested includes"));
  reading_file_ = true;
  std::vector<std::string_view> lines = SplitBy(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    const int linenum = static_cast<int>(i) + 1;
    std::string_view line = TrimLine(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    auto fail = [&](absl::string_view err) {
      reading_file_ = false;
      return absl::InvalidArgumentError(FatalConfigError(linenum, line, err));
    };
    auto args = SplitConfigArgs(line);
    if (!args) return fail("Unbalanced quotes in configuration line");
    if (args->empty()) continue;
    std::string name = ToLower((*args)[0]);
    size_t argc = args->size();

    if (const Directive* d = Lookup(name)) {
      const bool multi = d->flags & kMultiArg;
      if (!multi && argc != 2) return fail("wrong number of arguments");
      std::vector<std::string> values;
      if (multi && argc == 2 && !(*args)[1].empty()) {
        // "--save '900 1'" style: one argument holding several.
        auto sub = SplitConfigArgs((*args)[1]);
        if (!sub) return fail("Unbalanced quotes in configuration line");
        values = *std::move(sub);
      } else {
        values.assign(args->begin() + 1, args->end());
      }
      absl::Status s = SetDirective(*d, std::move(values), /*from_file=*/true);
      if (!s.ok()) return fail(s.message());
      continue;
    }
    // Directives Redis 7.0 still accepts and ignores.
    if ((name == "list-max-ziplist-entries" || name == "list-max-ziplist-value" ||
         name == "lua-replicate-commands") &&
        argc == 2) {
      continue;
    }
    if (name == "include" && argc == 2) {
      auto content = ReadWholeFile((*args)[1]);
      if (!content.ok()) {
        reading_file_ = false;
        return content.status();
      }
      absl::Status s = LoadText(*content, depth + 1);
      if (!s.ok()) return s;
      reading_file_ = true;
      continue;
    }
    if (name == "rename-command" && argc == 3) {
      renamed_commands_.emplace_back((*args)[1], (*args)[2]);
      continue;
    }
    if (name == "sentinel" && argc != 1) {
      return fail("sentinel directive while not in sentinel mode");
    }
    if (name.find('.') != std::string::npos && argc < 2) {
      return fail("Module config specified without value");
    }
    return fail("Bad directive or wrong number of arguments");
  }
  reading_file_ = false;
  if (depth > 0) return absl::OkStatus();

  if (live_ && !options_.logfile.empty()) {
    FILE* fp = std::fopen(options_.logfile.c_str(), "a");
    if (fp == nullptr) {
      return absl::InvalidArgumentError(
          FatalConfigError(absl::StrCat("Can't open the log file: ", std::strerror(errno))));
    }
    std::fclose(fp);
  }
  if (options_.cluster_enabled && !options_.replicaof_host.empty()) {
    return absl::InvalidArgumentError(
        FatalConfigError("replicaof directive not allowed in cluster mode"));
  }
  options_.hz = std::clamp(options_.hz, 1, 500);
  return absl::OkStatus();
}

// Sets one directive from its arguments (already split). The error message
// is Redis's reason text alone.
absl::Status Config::SetDirective(const Directive& d, std::vector<std::string> args,
                                  bool from_file) {
  (void)from_file;
  auto err = [](std::string_view msg) { return absl::InvalidArgumentError(AV(msg)); };
  auto store_generic = [&](std::string value) { generic_[std::string(d.name)] = std::move(value); };

  switch (d.type) {
    case Type::kBool: {
      const std::string& v = args[0];
      bool b;
      if (EqualsIgnoreCase(v, "yes")) {
        b = true;
      } else if (EqualsIgnoreCase(v, "no")) {
        b = false;
      } else {
        return err("argument must be 'yes' or 'no'");
      }
      if (d.validate) {
        if (const char* e = d.validate(b ? "yes" : "no")) return err(e);
      }
      if (auto* f = std::get_if<bool O::*>(&d.field)) {
        options_.*(*f) = b;
      } else {
        store_generic(b ? "yes" : "no");
      }
      return absl::OkStatus();
    }
    case Type::kString: {
      const std::string& v = args[0];
      if (d.validate) {
        if (const char* e = d.validate(v)) return err(e);
      }
      if (auto* f = std::get_if<std::string O::*>(&d.field)) {
        options_.*(*f) = v;
      } else {
        store_generic(v);
      }
      return absl::OkStatus();
    }
    case Type::kEnum: {
      std::optional<int> v = ParseEnum(d, args);
      if (!v) return err(EnumError(d));
      if (d.bitflags && (*v & 1) && (*v & 2)) {
        return err("shutdown options SAVE and NOSAVE can't be used simultaneously");
      }
      if (auto* f = std::get_if<LogLevel O::*>(&d.field)) {
        options_.*(*f) = static_cast<LogLevel>(*v);
      } else if (auto* f2 = std::get_if<AppendFsync O::*>(&d.field)) {
        options_.*(*f2) = static_cast<AppendFsync>(*v);
      } else if (auto* f3 = std::get_if<std::string O::*>(&d.field)) {
        options_.*(*f3) = EnumName(d, *v);
      } else {
        store_generic(EnumName(d, *v));
      }
      return absl::OkStatus();
    }
    case Type::kNumeric: {
      absl::StatusOr<int64_t> v = ParseNumeric(d, args[0]);
      if (!v.ok()) return v.status();
      absl::Status bounds = CheckBounds(d, *v);
      if (!bounds.ok()) return bounds;
      int64_t n = *v;
      if (d.name == "hz") n = std::clamp<int64_t>(n, 1, 500);
      if (auto* f = std::get_if<int O::*>(&d.field)) {
        options_.*(*f) = static_cast<int>(n);
      } else if (auto* f2 = std::get_if<int64_t O::*>(&d.field)) {
        options_.*(*f2) = n;
      } else {
        store_generic(FormatNumeric(d, n));
      }
      return absl::OkStatus();
    }
    case Type::kSpecial:
      break;
  }

  switch (d.special) {
    case Special::kDir: {
      if (args.size() != 1) return err("wrong number of arguments");
      if (live_) {
        if (chdir(args[0].c_str()) == -1) return err(std::strerror(errno));
        options_.dir = GetCwd();
      } else {
        options_.dir = args[0];
      }
      return absl::OkStatus();
    }
    case Special::kSave: {
      if (args.size() == 1 && args[0].empty()) {
        options_.save.clear();
        args.clear();
      }
      if (args.size() % 2) return err("Invalid save parameters");
      std::vector<SavePoint> points;
      for (size_t j = 0; j < args.size(); j += 2) {
        auto secs = ParseStrtoll(args[j]);
        auto changes = ParseStrtoll(args[j + 1]);
        if (!secs || *secs < 1 || !changes || *changes < 0) return err("Invalid save parameters");
        points.push_back({*secs, static_cast<int64_t>(static_cast<int>(*changes))});
      }
      // In a file, the first save line replaces the defaults and later ones
      // add to it; CONFIG SET replaces.
      if (!reading_file_) {
        options_.save.clear();
      } else if (!save_loaded_) {
        save_loaded_ = true;
        options_.save.clear();
      }
      options_.save.insert(options_.save.end(), points.begin(), points.end());
      return absl::OkStatus();
    }
    case Special::kClientOutputBufferLimit: {
      if (args.size() % 4) {
        return err("Wrong number of arguments in buffer limit configuration.");
      }
      std::vector<ObufLimit> limits = ParseObufCanonical(generic_[std::string(d.name)]);
      std::vector<std::pair<int, ObufLimit>> updates;
      for (size_t j = 0; j < args.size(); j += 4) {
        int cls = -1;
        if (EqualsIgnoreCase(args[j], "normal")) cls = 0;
        if (EqualsIgnoreCase(args[j], "slave") || EqualsIgnoreCase(args[j], "replica")) {
          cls = 1;
        }
        if (EqualsIgnoreCase(args[j], "pubsub")) cls = 2;
        if (cls < 0) return err("Invalid client class specified in buffer limit configuration.");
        auto hard = ParseMemory(args[j + 1]);
        auto soft = ParseMemory(args[j + 2]);
        auto secs = ParseStrtoll(args[j + 3]);
        if (!hard || !soft || !secs || static_cast<int>(*secs) < 0) {
          return err("Error in hard, soft or soft_seconds setting in buffer limit configuration.");
        }
        updates.push_back({cls, ObufLimit{*hard, *soft, *secs}});
      }
      for (auto& [cls, limit] : updates) limits[cls] = limit;
      store_generic(ObufCanonical(limits));
      return absl::OkStatus();
    }
    case Special::kOomScoreAdjValues: {
      if (args.size() != 3) return err("wrong number of arguments");
      std::vector<int64_t> values;
      for (const std::string& a : args) {
        auto v = ParseStrtoll(a);
        if (!v || *v < -2000 || *v > 2000) {
          return err("Invalid oom-score-adj-values, elements must be between -2000 and 2000.");
        }
        values.push_back(*v);
      }
      store_generic(absl::StrJoin(values, " "));
      return absl::OkStatus();
    }
    case Special::kNotifyKeyspaceEvents: {
      if (args.size() != 1) return err("wrong number of arguments");
      auto flags = ParseNotifyFlags(args[0]);
      if (!flags) return err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
      store_generic(NotifyFlagsText(*flags));
      return absl::OkStatus();
    }
    case Special::kBind: {
      if (args.size() > 16) return err("Too many bind addresses specified.");
      if (args.size() == 1 && args[0].empty()) args.clear();
      options_.bind = std::move(args);
      return absl::OkStatus();
    }
    case Special::kReplicaOf: {
      if (args.size() != 2) return err("wrong number of arguments");
      options_.replicaof_host.clear();
      options_.replicaof_port = 0;
      if (EqualsIgnoreCase(args[0], "no") && EqualsIgnoreCase(args[1], "one")) {
        return absl::OkStatus();
      }
      auto port = ParseStrtoll(args[1]);
      if (!port || *port < 0 || *port > 65535) return err("Invalid master port");
      options_.replicaof_host = args[0];
      options_.replicaof_port = static_cast<int>(*port);
      return absl::OkStatus();
    }
    case Special::kLatencyPercentiles: {
      if (args.size() == 1 && args[0].empty()) args.clear();
      std::vector<std::string> out;
      for (const std::string& a : args) {
        auto v = ParseStrictDouble(a);
        if (!v) return err("Invalid latency-tracking-info-percentiles parameters");
        if (*v > 100.0 || *v < 0.0) {
          return err("latency-tracking-info-percentiles parameters should sit between [0.0,100.0]");
        }
        out.push_back(FormatPercentile(*v));
      }
      store_generic(absl::StrJoin(out, " "));
      return absl::OkStatus();
    }
    case Special::kNone:
      break;
  }
  return err("unknown directive type");
}

std::string Config::GetDirective(const Directive& d) const {
  switch (d.special) {
    case Special::kDir:
      return options_.dir.empty() && live_ ? GetCwd() : options_.dir;
    case Special::kSave: {
      std::vector<std::string> parts;
      for (const SavePoint& p : options_.save) {
        parts.push_back(absl::StrCat(p.seconds, " ", p.changes));
      }
      return absl::StrJoin(parts, " ");
    }
    case Special::kBind:
      return absl::StrJoin(options_.bind, " ");
    case Special::kReplicaOf:
      if (options_.replicaof_host.empty()) return "";
      return absl::StrCat(options_.replicaof_host, " ", options_.replicaof_port);
    default:
      break;
  }
  if (auto* f = std::get_if<bool O::*>(&d.field)) return options_.*(*f) ? "yes" : "no";
  if (auto* f = std::get_if<int O::*>(&d.field)) return FormatNumeric(d, options_.*(*f));
  if (auto* f = std::get_if<int64_t O::*>(&d.field)) return FormatNumeric(d, options_.*(*f));
  if (auto* f = std::get_if<std::string O::*>(&d.field)) return options_.*(*f);
  if (auto* f = std::get_if<LogLevel O::*>(&d.field)) {
    return EnumName(d, static_cast<int>(options_.*(*f)));
  }
  if (auto* f = std::get_if<AppendFsync O::*>(&d.field)) {
    return EnumName(d, static_cast<int>(options_.*(*f)));
  }
  auto it = generic_.find(std::string(d.name));
  return it == generic_.end() ? std::string(d.default_text) : it->second;
}

absl::Status Config::Set(const std::vector<std::pair<std::string, std::string>>& pairs,
                         bool local_client) {
  auto failed = [](std::string_view name, absl::string_view reason) {
    return absl::InvalidArgumentError(absl::StrCat(
        "ERR CONFIG SET failed (possibly related to argument '", AV(name), "') - ", reason));
  };
  // Validate names first: the first problem wins, as in Redis.
  std::vector<const Directive*> directives;
  for (const auto& [name, value] : pairs) {
    const Directive* d = Lookup(name);
    if (d == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("ERR Unknown option or number of arguments for CONFIG SET - '", name, "'"));
    }
    if (d->flags & kImmutable) return failed(name, "can't set immutable config");
    if (d->flags & kProtected) {
      std::string allow = generic_["enable-protected-configs"];
      if (!(allow == "yes" || (allow == "local" && local_client))) {
        return failed(name, "can't set protected config");
      }
    }
    if (std::find(directives.begin(), directives.end(), d) != directives.end()) {
      return failed(name, "duplicate parameter");
    }
    directives.push_back(d);
  }

  ServerOptions saved_options = options_;
  auto saved_generic = generic_;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const Directive& d = *directives[i];
    std::vector<std::string> args;
    if (d.flags & kMultiArg) {
      if (!pairs[i].second.empty()) args = absl::StrSplit(pairs[i].second, ' ');
    } else {
      args.push_back(pairs[i].second);
    }
    absl::Status s = SetDirective(d, std::move(args), /*from_file=*/false);
    if (!s.ok()) {
      if (live_ && saved_options.dir != options_.dir) (void)chdir(saved_options.dir.c_str());
      options_ = std::move(saved_options);
      generic_ = std::move(saved_generic);
      // Redis names the directive as looked up (lower case) here.
      return failed(ToLower(pairs[i].first), s.message());
    }
  }
  if (on_change) {
    for (const Directive* d : directives) on_change(std::string(d->name));
  }
  return absl::OkStatus();
}

std::vector<std::pair<std::string, std::string>> Config::Get(
    const std::vector<std::string>& patterns) const {
  std::vector<std::pair<std::string, std::string>> out;
  absl::flat_hash_set<std::string> seen;  // lower-case names already in `out`
  for (const std::string& pattern : patterns) {
    if (pattern.find_first_of("[*?") == std::string::npos) {
      std::string lower = ToLower(pattern);
      if (seen.contains(lower)) continue;
      if (const Directive* d = Lookup(lower)) {
        seen.insert(lower);
        out.emplace_back(pattern, GetDirective(*d));
      }
      continue;
    }
    for (const auto& [name, d] : GetTable().names) {
      if (d->flags & kHidden) continue;
      std::string key(name);
      if (seen.contains(key)) continue;
      if (GlobMatch(pattern, name, /*nocase=*/true)) {
        seen.insert(key);
        out.emplace_back(key, GetDirective(*d));
      }
    }
  }
  return out;
}

std::optional<std::string> Config::Value(std::string_view name) const {
  const Directive* d = Lookup(name);
  if (d == nullptr) return std::nullopt;
  return GetDirective(*d);
}

int64_t Config::IntValue(std::string_view name, int64_t fallback) const {
  const std::optional<std::string> text = Value(name);
  int64_t v = 0;
  if (!text || !absl::SimpleAtoi(absl::string_view(text->data(), text->size()), &v)) {
    return fallback;
  }
  return v;
}

// ---------------------------------------------------------------------------
// CONFIG REWRITE.

namespace {

constexpr std::string_view kRewriteSignature = "# Generated by CONFIG REWRITE";

// The file being rewritten: its lines, and for each directive the lines
// where it appears (in order), so they can be reused in place.
struct RewriteState {
  std::vector<std::string> lines;
  absl::flat_hash_map<std::string, std::deque<size_t>> option_lines;
  absl::flat_hash_set<std::string> rewritten;
  bool needs_signature = true;

  void MarkProcessed(const std::string& option) { rewritten.insert(option); }

  // Puts `line` where `option` was first mentioned, or appends it when
  // `force` (the value is not the default).
  void RewriteLine(const std::string& option, std::string line, bool force) {
    MarkProcessed(option);
    auto it = option_lines.find(option);
    if (it == option_lines.end() && !force) return;
    if (it != option_lines.end()) {
      size_t n = it->second.front();
      it->second.pop_front();
      if (it->second.empty()) option_lines.erase(it);
      lines[n] = std::move(line);
      return;
    }
    if (needs_signature) {
      lines.emplace_back(kRewriteSignature);
      needs_signature = false;
    }
    lines.push_back(std::move(line));
  }
};

RewriteState ReadOldConfig(std::string_view content) {
  RewriteState state;
  if (content.empty()) return state;
  std::vector<std::string_view> raw = SplitBy(content, '\n');
  for (std::string_view r : raw) {
    std::string_view line = TrimLine(r);
    if (line.empty() || line[0] == '#') {
      if (line == kRewriteSignature) state.needs_signature = false;
      state.lines.emplace_back(line);
      continue;
    }
    auto args = SplitConfigArgs(line);
    std::string name = args && !args->empty() ? ToLower((*args)[0]) : "";
    const Directive* d = name.empty() ? nullptr : Lookup(name);
    bool kept_verbatim = name == "include" || name == "rename-command" || name == "user" ||
                         name == "loadmodule" || name == "sentinel";
    if (d == nullptr && !kept_verbatim) {
      state.lines.push_back("# ??? " + std::string(line));
      continue;
    }
    if (d != nullptr) name = std::string(d->name);
    state.option_lines[name].push_back(state.lines.size());
    state.lines.emplace_back(line);
  }
  return state;
}

std::string JoinRewritten(const RewriteState& state) {
  std::string out;
  bool was_empty = false;
  for (const std::string& line : state.lines) {
    if (line.empty()) {
      if (was_empty) continue;
      was_empty = true;
    } else {
      was_empty = false;
    }
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace

std::string Config::RewriteText(std::string_view old_content) const {
  RewriteState state = ReadOldConfig(old_content);
  for (const Directive& d : GetTable().directives) {
    const std::string name(d.name);
    const std::string value = GetDirective(d);
    switch (d.special) {
      case Special::kDir:
        // Always absolute (the live value is the working directory); an
        // unknown directory is left out rather than written as "".
        if (value.empty()) {
          state.MarkProcessed(name);
        } else {
          state.RewriteLine(name, absl::StrCat(name, " ", QuoteConfigArg(value)), true);
        }
        continue;
      case Special::kSave:
        if (options_.save.empty()) {
          state.RewriteLine(name, "save \"\"", true);
        } else {
          for (const SavePoint& p : options_.save) {
            state.RewriteLine(name, absl::StrCat("save ", p.seconds, " ", p.changes), true);
          }
        }
        state.MarkProcessed(name);
        continue;
      case Special::kClientOutputBufferLimit: {
        std::vector<ObufLimit> cur = ParseObufCanonical(value);
        std::vector<ObufLimit> def = ParseObufCanonical(d.default_text);
        for (int c = 0; c < 3; ++c) {
          bool force = cur[c].hard != def[c].hard || cur[c].soft != def[c].soft ||
                       cur[c].soft_seconds != def[c].soft_seconds;
          std::string cls = c == 1 ? "replica" : kObufClasses[c];
          state.RewriteLine(
              name,
              absl::StrCat(name, " ", cls, " ", FormatMemoryForFile(cur[c].hard), " ",
                           FormatMemoryForFile(cur[c].soft), " ", cur[c].soft_seconds),
              force);
        }
        continue;
      }
      case Special::kOomScoreAdjValues:
        state.RewriteLine(name, absl::StrCat(name, " ", value), value != d.default_text);
        continue;
      case Special::kNotifyKeyspaceEvents:
        state.RewriteLine(name, absl::StrCat(name, " ", QuoteConfigArg(value)), !value.empty());
        continue;
      case Special::kBind:
        if (value == d.default_text && options_.bind.size() == 2) {
          state.MarkProcessed(name);
        } else {
          state.RewriteLine(name, absl::StrCat(name, " ", value.empty() ? "\"\"" : value), true);
        }
        continue;
      case Special::kReplicaOf:
        if (options_.cluster_enabled || options_.replicaof_host.empty()) {
          state.MarkProcessed(name);
        } else {
          state.RewriteLine(name, absl::StrCat(name, " ", value), true);
        }
        continue;
      case Special::kLatencyPercentiles:
        state.RewriteLine(name, absl::StrCat(name, " ", value.empty() ? "\"\"" : value), true);
        continue;
      case Special::kNone:
        break;
    }
    switch (d.type) {
      case Type::kString:
        if (value.empty() && d.empty_is_null) {
          state.MarkProcessed(name);
        } else {
          bool force = d.default_null || value != d.default_text;
          state.RewriteLine(name, absl::StrCat(name, " ", QuoteConfigArg(value)), force);
        }
        break;
      case Type::kNumeric: {
        int64_t v = 0;
        auto parsed = ParseNumeric(d, value);
        if (parsed.ok()) v = *parsed;
        std::string text;
        if ((d.num_flags & kNumPercent) && v < 0) {
          text = absl::StrCat(-v, "%");
        } else if (d.num_flags & kNumMemory) {
          text = FormatMemoryForFile(v);
        } else {
          text = value;
        }
        state.RewriteLine(name, absl::StrCat(name, " ", text), value != d.default_text);
        break;
      }
      default:
        state.RewriteLine(name, absl::StrCat(name, " ", value), value != d.default_text);
        break;
    }
  }
  // Blank the leftover lines of directives we rewrote (duplicates, extra
  // save lines); lines of directives we did not rewrite stay.
  for (auto& [option, line_numbers] : state.option_lines) {
    if (!state.rewritten.contains(option)) continue;
    for (size_t n : line_numbers) state.lines[n].clear();
  }
  return JoinRewritten(state);
}

absl::Status Config::Rewrite() {
  if (config_file_.empty()) {
    return absl::FailedPreconditionError("ERR The server is running without a config file");
  }
  auto io_error = [](int e) {
    return absl::InternalError(absl::StrCat("ERR Rewriting config file: ", std::strerror(e)));
  };
  std::string old_content;
  {
    std::ifstream in(config_file_, std::ios::binary);
    if (in) {
      std::ostringstream ss;
      ss << in.rdbuf();
      old_content = ss.str();
    } else if (errno != ENOENT) {
      return io_error(errno);
    }
  }
  const std::string content = RewriteText(old_content);

  std::string tmp = config_file_ + ".XXXXXX";
  int fd = mkostemp(tmp.data(), O_CLOEXEC);
  if (fd == -1) return io_error(errno);
  size_t off = 0;
  while (off < content.size()) {
    ssize_t n = write(fd, content.data() + off, content.size() - off);
    if (n <= 0) {
      if (n < 0 && errno == EINTR) continue;
      int e = errno;
      close(fd);
      unlink(tmp.c_str());
      return io_error(e);
    }
    off += static_cast<size_t>(n);
  }
  mode_t mask = umask(0);
  umask(mask);
  int e = 0;
  if (fsync(fd) == -1 || fchmod(fd, 0644 & ~mask) == -1 ||
      rename(tmp.c_str(), config_file_.c_str()) == -1) {
    e = errno;
  }
  close(fd);
  if (e != 0) {
    unlink(tmp.c_str());
    return io_error(e);
  }
  // Make the rename durable.
  std::string dir = std::filesystem::path(config_file_).parent_path().string();
  int dfd = open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_CLOEXEC);
  if (dfd != -1) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

}  // namespace shardnode::node
