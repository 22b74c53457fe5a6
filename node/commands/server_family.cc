// Server and connection commands: PING ECHO QUIT RESET HELLO AUTH TIME INFO
// CLIENT COMMAND DEBUG LASTSAVE SHUTDOWN.
#include <malloc.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/strings.h"
#include "clusterbus/bus_engine.h"
#include "node/server/replication_control.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/persist_family.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/keyspace/types/type_util.h"
#include "node/persist/persistence.h"
#include "node/resp/reply.h"
#include "node/server/cluster_setup.h"
#include "node/server/server.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

constexpr char kRedisVersion[] = "7.0.15";

using base::EqualsIgnoreCase;

void Ping(CommandContext& ctx, Args args) {
  if (args.size() > 2) {
    ctx.reply.Error(ArityError(ctx.spec));
  } else if (ctx.session.in_pubsub() && ctx.session.protocol == 2) {
    // Subscribed RESP2 clients get replies shaped like messages.
    ctx.reply.ArrayHeader(2);
    ctx.reply.Bulk("pong");
    ctx.reply.Bulk(args.size() == 2 ? std::string_view(args[1]) : std::string_view());
  } else if (args.size() == 2) {
    ctx.reply.Bulk(args[1]);
  } else {
    ctx.reply.SimpleString("PONG");
  }
}

void Echo(CommandContext& ctx, Args args) { ctx.reply.Bulk(args[1]); }

void Quit(CommandContext& ctx, Args) {
  ctx.session.close_after_reply = true;
  ctx.reply.Ok();
}

void ResetSession(CommandContext& ctx, Args) {
  Session& s = ctx.session;
  s.in_multi = false;
  s.multi_dirty = false;
  s.queued.clear();
  s.db_index = 0;
  s.protocol = 2;
  ctx.reply.set_protocol(2);
  s.asking = false;
  s.readonly = false;
  s.name.clear();
  s.authenticated = ctx.server.options().requirepass.empty();
  ctx.server.pubsub().RemoveSession(s);
  ctx.server.watches().Unwatch(s);
  ctx.reply.SimpleString("RESET");
}

// AUTH [username] password. Only the default user exists (no ACL users).
bool CheckPassword(CommandContext& ctx, std::string_view user, std::string_view pass) {
  const std::string& required = ctx.server.options().requirepass;
  if (user == "default" && (required.empty() || pass == required)) {
    ctx.session.authenticated = true;
    return true;
  }
  return false;
}

void Auth(CommandContext& ctx, Args args) {
  if (args.size() > 3) {
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  if (args.size() == 2 && ctx.server.options().requirepass.empty()) {
    ctx.reply.Error(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?");
    return;
  }
  const std::string_view user = args.size() == 3 ? std::string_view(args[1]) : "default";
  if (CheckPassword(ctx, user, args.back())) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(errors::kWrongPass);
  }
}

void Hello(CommandContext& ctx, Args args) {
  int64_t version = ctx.session.protocol;
  size_t i = 1;
  if (args.size() >= 2) {
    if (!absl::SimpleAtoi(args[1], &version)) {
      ctx.reply.Error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (version < 2 || version > 3) {
      ctx.reply.Error("NOPROTO unsupported protocol version");
      return;
    }
    i = 2;
  }
  std::string setname;
  bool has_setname = false;
  for (; i < args.size(); ++i) {
    const bool more = i + 1 < args.size();
    if (EqualsIgnoreCase(args[i], "AUTH") && i + 2 < args.size()) {
      if (!CheckPassword(ctx, args[i + 1], args[i + 2])) {
        ctx.reply.Error(errors::kWrongPass);
        return;
      }
      i += 2;
    } else if (EqualsIgnoreCase(args[i], "SETNAME") && more) {
      setname = args[++i];
      has_setname = true;
    } else {
      ctx.reply.Error(absl::StrCat("ERR Syntax error in HELLO option '", args[i], "'"));
      return;
    }
  }
  if (!ctx.session.authenticated && !ctx.server.options().requirepass.empty()) {
    ctx.reply.Error(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO "
        "<proto> AUTH <user> <pass> option can be used to authenticate the client and select "
        "the RESP protocol version at the same time");
    return;
  }
  if (has_setname) {
    for (char c : setname) {
      if (c < '!' || c > '~') {
        ctx.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
        return;
      }
    }
    ctx.session.name = setname;
  }
  ctx.session.protocol = static_cast<int>(version);
  ctx.reply.set_protocol(ctx.session.protocol);
  resp::ReplyBuilder& r = ctx.reply;
  r.MapHeader(7);
  r.Bulk("server");
  r.Bulk("redis");
  r.Bulk("version");
  r.Bulk(kRedisVersion);
  r.Bulk("proto");
  r.Integer(version);
  r.Bulk("id");
  r.Integer(static_cast<int64_t>(ctx.session.id));
  r.Bulk("mode");
  r.Bulk(ctx.server.cluster_enabled() ? "cluster" : "standalone");
  r.Bulk("role");
  r.Bulk(ctx.server.replication && ctx.server.replication->is_replica() ? "replica" : "master");
  r.Bulk("modules");
  r.ArrayHeader(0);
}

void Time(CommandContext& ctx, Args) {
  struct timeval tv;
  gettimeofday(&tv, nullptr);
  ctx.reply.ArrayHeader(2);
  ctx.reply.Bulk(absl::StrCat(tv.tv_sec));
  ctx.reply.Bulk(absl::StrCat(tv.tv_usec));
}

void LastSave(CommandContext& ctx, Args) {
  const int64_t ms = ctx.server.last_save_ms ? ctx.server.last_save_ms : ctx.server.start_ms();
  ctx.reply.Integer(ms / 1000);
}

void Shutdown(CommandContext& ctx, Args args) {
  ShutdownMode mode = ShutdownMode::kDefault;
  bool force = false;
  for (size_t i = 1; i < args.size(); ++i) {
    if (EqualsIgnoreCase(args[i], "nosave")) {
      if (mode == ShutdownMode::kSave) {  // SAVE and NOSAVE together
        ctx.reply.Error(errors::kSyntax);
        return;
      }
      mode = ShutdownMode::kNoSave;
    } else if (EqualsIgnoreCase(args[i], "save")) {
      if (mode == ShutdownMode::kNoSave) {  // SAVE and NOSAVE together
        ctx.reply.Error(errors::kSyntax);
        return;
      }
      mode = ShutdownMode::kSave;
    } else if (EqualsIgnoreCase(args[i], "now") || EqualsIgnoreCase(args[i], "force")) {
      // Nothing to wait for: no replicas to catch up yet.
      if (EqualsIgnoreCase(args[i], "force")) force = true;
    } else if (EqualsIgnoreCase(args[i], "abort")) {
      ctx.reply.Error("ERR No shutdown in progress.");
      return;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  // The final save (or its failure) decides whether the node may stop.
  const bool may_stop = ctx.server.persistence == nullptr ||
                        ctx.server.persistence->PrepareShutdown(mode, force, ctx.now_ms);
  if (ctx.server.request_shutdown && may_stop) {
    ctx.server.request_shutdown(mode);
    // Redis closes the connection without a reply on success.
    ctx.session.close_after_reply = true;
  } else {
    ctx.reply.Error("ERR Errors trying to SHUTDOWN. Check logs.");
  }
}

// ---------------------------------------------------------------- INFO

std::string HumanBytes(uint64_t n) {
  const double d = static_cast<double>(n);
  if (n < 1024) return absl::StrCat(n, "B");
  if (n < 1024ull * 1024) return absl::StrFormat("%.2fK", d / 1024);
  if (n < 1024ull * 1024 * 1024) return absl::StrFormat("%.2fM", d / (1024 * 1024));
  return absl::StrFormat("%.2fG", d / (1024.0 * 1024 * 1024));
}

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

uint64_t AllocatedBytes() {
  struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

void AppendServerSection(CommandContext& ctx, std::string& s, int64_t now_ms) {
  const Server& server = ctx.server;
  struct utsname name;
  uname(&name);
  const int64_t uptime = (now_ms - server.start_ms()) / 1000;
  absl::StrAppend(&s, "# Server\r\n", "redis_version:", kRedisVersion, "\r\n",
                  "redis_git_sha1:00000000\r\nredis_git_dirty:0\r\n", "redis_build_id:0\r\n",
                  "redis_mode:", server.cluster_enabled() ? "cluster" : "standalone", "\r\n");
  absl::StrAppend(
      &s, "os:", name.sysname, " ", name.release, " ", name.machine, "\r\n",
      "arch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\n",
      "multiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\n", "gcc_version:", __GNUC__, ".",
      __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__, "\r\n", "process_id:", getpid(),
      "\r\nprocess_supervised:no\r\n", "run_id:", server.run_id(), "\r\n",
      "tcp_port:", server.tcp_port, "\r\n", "server_time_usec:", now_ms * 1000, "\r\n",
      "uptime_in_seconds:", uptime, "\r\n", "uptime_in_days:", uptime / 86400, "\r\n",
      "hz:", server.options().hz, "\r\nconfigured_hz:", server.options().hz, "\r\n",
      "lru_clock:", (now_ms / 1000) & ((1 << 24) - 1), "\r\n", "executable:", server.executable,
      "\r\n", "config_file:", server.config_file, "\r\nio_threads_active:0\r\n");
}

void AppendClientsSection(CommandContext& ctx, std::string& s) {
  // Blocked on keys (BlockingTable) or in WAIT: every session flagged.
  size_t blocked = 0;
  for (const auto& [id, session] : ctx.server.clients()) blocked += session->blocked() ? 1 : 0;
  // As Redis: every client but our replicas (our primary's link counts).
  size_t replicas = 0;
  for (const auto& [id, session] : ctx.server.clients()) replicas += session->replica ? 1 : 0;
  absl::StrAppend(&s, "# Clients\r\n", "connected_clients:", ctx.server.clients().size() - replicas,
                  "\r\ncluster_connections:0\r\n", "maxclients:", ctx.server.options().maxclients,
                  "\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\n",
                  "blocked_clients:", blocked,
                  "\r\ntracking_clients:0\r\nclients_in_timeout_table:",
                  ctx.server.blocking().with_timeout(), "\r\n");
}

void AppendMemorySection(CommandContext& ctx, std::string& s) {
  const uint64_t used = AllocatedBytes();
  const uint64_t rss = ResidentBytes();
  const int64_t maxmemory = ctx.server.options().maxmemory;
  absl::StrAppend(&s, "# Memory\r\n", "used_memory:", used, "\r\n",
                  "used_memory_human:", HumanBytes(used), "\r\n", "used_memory_rss:", rss, "\r\n",
                  "used_memory_rss_human:", HumanBytes(rss), "\r\n", "used_memory_peak:", used,
                  "\r\n", "used_memory_peak_human:", HumanBytes(used), "\r\n",
                  "maxmemory:", maxmemory, "\r\n",
                  "maxmemory_human:", HumanBytes(static_cast<uint64_t>(maxmemory)), "\r\n",
                  "maxmemory_policy:noeviction\r\n", "mem_fragmentation_ratio:",
                  absl::StrFormat("%.2f", used ? static_cast<double>(rss) / used : 0.0), "\r\n",
                  "mem_allocator:libc\r\n", "lazyfree_pending_objects:0\r\n");
}

void AppendPersistenceSection(CommandContext& ctx, std::string& s) {
  const Server& server = ctx.server;
  absl::StrAppend(&s, "# Persistence\r\n");
  persist::AppendRdbInfo(ctx.server, ctx.now_ms, s);
  absl::StrAppend(&s, "aof_enabled:", server.options().appendonly ? 1 : 0, "\r\n",
                  "aof_rewrite_in_progress:0\r\naof_rewrite_scheduled:0\r\n",
                  "aof_last_rewrite_time_sec:-1\r\naof_current_rewrite_time_sec:-1\r\n",
                  "aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n",
                  "aof_rewrites_consecutive_failures:0\r\n",
                  "aof_last_write_status:ok\r\naof_last_cow_size:0\r\n",
                  "module_fork_in_progress:0\r\nmodule_fork_last_cow_size:0\r\n");
  persist::AppendLoadingInfo(ctx.server, ctx.now_ms, s);
}

void AppendStatsSection(CommandContext& ctx, std::string& s) {
  Stats& st = ctx.server.stats();
  uint64_t hits = st.keyspace_hits, misses = st.keyspace_misses, expired = st.expired_keys;
  ctx.server.ForEachShard([&](Keyspace& shard) {
    const DbStats ks = shard.TotalStats();
    hits += ks.hits;
    misses += ks.misses;
    expired += ks.expired;
  });
  absl::StrAppend(
      &s, "# Stats\r\n", "total_connections_received:", st.total_connections_received, "\r\n",
      "total_commands_processed:", st.total_commands_processed, "\r\n",
      "instantaneous_ops_per_sec:0\r\n", "total_net_input_bytes:", st.total_net_input_bytes, "\r\n",
      "total_net_output_bytes:", st.total_net_output_bytes, "\r\n",
      "total_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\n",
      "instantaneous_input_kbps:0.00\r\ninstantaneous_output_kbps:0.00\r\n",
      "rejected_connections:", st.rejected_connections, "\r\n",
      ctx.server.replication ? ctx.server.replication->SyncStatsLines()
                             : "sync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\n",
      "expired_keys:", expired,
      "\r\n", "evicted_keys:", st.evicted_keys, "\r\n", "evicted_clients:0\r\n",
      "keyspace_hits:", hits, "\r\n", "keyspace_misses:", misses, "\r\n",
      "pubsub_channels:0\r\npubsub_patterns:0\r\npubsubshard_channels:0\r\n",
      "latest_fork_usec:0\r\ntotal_forks:0\r\n",
      "unexpected_error_replies:", st.unexpected_error_replies, "\r\n",
      "total_error_replies:", st.total_error_replies, "\r\n");
}

void AppendReplicationSection(CommandContext& ctx, std::string& s) {
  if (ctx.server.replication != nullptr) {
    s += ctx.server.replication->InfoSection(ctx.now_ms);
    return;
  }
  absl::StrAppend(&s, "# Replication\r\n", "role:master\r\n", "connected_slaves:0\r\n",
                  "master_failover_state:no-failover\r\n", "master_replid:", ctx.server.run_id(),
                  "\r\n", "master_replid2:0000000000000000000000000000000000000000\r\n",
                  "master_repl_offset:0\r\nsecond_repl_offset:-1\r\n", "repl_backlog_active:0\r\n",
                  "repl_backlog_size:", ctx.server.options().repl_backlog_size, "\r\n",
                  "repl_backlog_first_byte_offset:0\r\nrepl_backlog_histlen:0\r\n");
}

void AppendCpuSection(std::string& s) {
  struct rusage self;
  getrusage(RUSAGE_SELF, &self);
  auto secs = [](const timeval& tv) {
    return absl::StrFormat("%.6f", tv.tv_sec + tv.tv_usec / 1e6);
  };
  absl::StrAppend(&s, "# CPU\r\n", "used_cpu_sys:", secs(self.ru_stime), "\r\n",
                  "used_cpu_user:", secs(self.ru_utime), "\r\n",
                  "used_cpu_sys_children:0.000000\r\nused_cpu_user_children:0.000000\r\n",
                  "used_cpu_sys_main_thread:", secs(self.ru_stime), "\r\n",
                  "used_cpu_user_main_thread:", secs(self.ru_utime), "\r\n");
}

void AppendCommandStats(const CommandSpec& spec, std::string& s) {
  const CommandStats& st = spec.stats;
  if (st.calls || st.rejected_calls || st.failed_calls) {
    absl::StrAppend(&s, "cmdstat_", spec.name, ":calls=", st.calls, ",usec=", st.usec,
                    ",usec_per_call=",
                    absl::StrFormat("%.2f", st.calls ? static_cast<double>(st.usec) / st.calls
                                                     : 0.0),
                    ",rejected_calls=", st.rejected_calls, ",failed_calls=", st.failed_calls,
                    "\r\n");
  }
  for (const CommandSpec& sub : spec.subcommands) AppendCommandStats(sub, s);
}

void AppendErrorStats(CommandContext& ctx, std::string& s) {
  absl::StrAppend(&s, "# Errorstats\r\n");
  for (const auto& [code, count] : ctx.server.stats().error_codes) {
    absl::StrAppend(&s, "errorstat_", code, ":count=", count, "\r\n");
  }
}

void AppendKeyspaceSection(CommandContext& ctx, std::string& s) {
  absl::StrAppend(&s, "# Keyspace\r\n");
  for (int d = 0; d < ctx.num_dbs(); ++d) {
    uint64_t keys = 0, expires = 0;
    ctx.server.ForEachShard([&](Keyspace& shard) {
      keys += shard.db(d).Size();
      expires += shard.db(d).expires_count();
    });
    if (keys || expires) {
      absl::StrAppend(&s, "db", d, ":keys=", keys, ",expires=", expires, ",avg_ttl=0\r\n");
    }
  }
}

void Info(CommandContext& ctx, Args args) {
  // Redis's order; commandstats is printed only when asked for.
  static const std::vector<std::string_view> kDefault = {
      "server", "clients",      "memory",     "persistence", "stats",   "replication",
      "cpu",    "commandstats", "errorstats", "cluster",     "keyspace"};
  std::set<std::string> wanted;
  bool all = args.size() == 1;
  bool commandstats = false;
  for (size_t i = 1; i < args.size(); ++i) {
    std::string sec = absl::AsciiStrToLower(args[i]);
    if (sec == "default") {
      all = true;
    } else if (sec == "all" || sec == "everything") {
      all = true;
      commandstats = true;
    } else {
      wanted.insert(sec);
    }
  }
  if (wanted.count("commandstats")) commandstats = true;
  std::string s;
  auto want = [&](std::string_view sec) { return all || wanted.count(std::string(sec)); };
  auto open = [&s]() {
    if (!s.empty()) s += "\r\n";
  };
  for (std::string_view sec : kDefault) {
    // commandstats is not a default section: only "all", "everything" or by name.
    if (sec == "commandstats" ? !commandstats : !want(sec)) continue;
    open();
    if (sec == "server") AppendServerSection(ctx, s, ctx.now_ms);
    if (sec == "clients") AppendClientsSection(ctx, s);
    if (sec == "memory") AppendMemorySection(ctx, s);
    if (sec == "persistence") AppendPersistenceSection(ctx, s);
    if (sec == "stats") AppendStatsSection(ctx, s);
    if (sec == "replication") AppendReplicationSection(ctx, s);
    if (sec == "cpu") AppendCpuSection(s);
    if (sec == "commandstats") {
      absl::StrAppend(&s, "# Commandstats\r\n");
      for (const auto& spec : ctx.server.commands().all()) AppendCommandStats(*spec, s);
    }
    if (sec == "errorstats") AppendErrorStats(ctx, s);
    if (sec == "cluster") {
      absl::StrAppend(&s, "# Cluster\r\ncluster_enabled:", ctx.server.cluster_enabled() ? 1 : 0,
                      "\r\n");
    }
    if (sec == "keyspace") AppendKeyspaceSection(ctx, s);
  }
  ctx.reply.Verbatim(s);
}

// ---------------------------------------------------------------- CLIENT

void ClientId(CommandContext& ctx, Args) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.session.id));
}

void ClientSetName(CommandContext& ctx, Args args) {
  for (char c : args[2]) {
    if (c < '!' || c > '~') {
      ctx.reply.Error("ERR Client names cannot contain spaces, newlines or special characters.");
      return;
    }
  }
  ctx.session.name = args[2];
  ctx.reply.Ok();
}

void ClientGetName(CommandContext& ctx, Args) {
  if (ctx.session.name.empty()) {
    ctx.reply.NullBulk();
  } else {
    ctx.reply.Bulk(ctx.session.name);
  }
}

// Redis's getClientType: our primary's link, a replica, a Pub/Sub
// subscriber, or a normal client.
bool IsClientType(const Session& s, std::string_view type) {
  if (type == "master") return s.from_primary;
  if (type == "replica" || type == "slave") return s.replica;
  if (type == "pubsub") return !s.replica && !s.from_primary && s.in_pubsub();
  return !s.replica && !s.from_primary && !s.in_pubsub();
}

void ClientList(CommandContext& ctx, Args args) {
  std::set<uint64_t> ids;
  std::string type_filter;
  for (size_t i = 2; i < args.size(); ++i) {
    if (EqualsIgnoreCase(args[i], "type") && i + 1 < args.size()) {
      const std::string type = absl::AsciiStrToLower(args[++i]);
      if (type != "normal" && type != "master" && type != "replica" && type != "slave" &&
          type != "pubsub") {
        ctx.reply.Error(absl::StrCat("ERR Unknown client type '", args[i], "'"));
        return;
      }
      type_filter = type;
    } else if (EqualsIgnoreCase(args[i], "id") && i + 1 < args.size()) {
      for (++i; i < args.size(); ++i) {
        uint64_t id;
        if (!absl::SimpleAtoi(args[i], &id) || id == 0) {
          ctx.reply.Error("ERR Invalid client ID");
          return;
        }
        ids.insert(id);
      }
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  std::string out;
  for (const auto& [id, session] : ctx.server.clients()) {
    if (!ids.empty() && !ids.count(id)) continue;
    if (!type_filter.empty() && !IsClientType(*session, type_filter)) continue;
    absl::StrAppend(&out, ClientInfoLine(*session, ctx.now_ms), "\n");
  }
  ctx.reply.Verbatim(out);
}

void ClientInfo(CommandContext& ctx, Args) {
  ctx.reply.Verbatim(absl::StrCat(ClientInfoLine(ctx.session, ctx.now_ms), "\n"));
}

void ClientKill(CommandContext& ctx, Args args) {
  std::vector<Session*> victims;
  if (args.size() == 3) {  // CLIENT KILL addr:port
    for (auto& [id, session] : ctx.server.clients()) {
      if (session->addr == args[2]) victims.push_back(session);
    }
    if (victims.empty()) {
      ctx.reply.Error("ERR No such client");
      return;
    }
  } else {
    if ((args.size() - 2) % 2 != 0) {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
    uint64_t id = 0;
    std::string addr, laddr, type;
    bool skipme = true;
    for (size_t i = 2; i + 1 < args.size(); i += 2) {
      const std::string opt = absl::AsciiStrToLower(args[i]);
      const std::string& val = args[i + 1];
      if (opt == "id") {
        if (!absl::SimpleAtoi(val, &id) || id == 0) {
          ctx.reply.Error("ERR client-id should be greater than 0");
          return;
        }
      } else if (opt == "addr") {
        addr = val;
      } else if (opt == "laddr") {
        laddr = val;
      } else if (opt == "type") {
        type = absl::AsciiStrToLower(val);
        if (type != "normal" && type != "master" && type != "replica" && type != "slave" &&
            type != "pubsub") {
          ctx.reply.Error(absl::StrCat("ERR Unknown client type '", val, "'"));
          return;
        }
      } else if (opt == "user") {
        if (val != "default") {
          ctx.reply.Error(absl::StrCat("ERR No such user '", val, "'"));
          return;
        }
      } else if (opt == "skipme") {
        if (EqualsIgnoreCase(val, "yes")) {
          skipme = true;
        } else if (EqualsIgnoreCase(val, "no")) {
          skipme = false;
        } else {
          ctx.reply.Error(errors::kSyntax);
          return;
        }
      } else {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
    }
    for (auto& [cid, session] : ctx.server.clients()) {
      if (id && cid != id) continue;
      if (!addr.empty() && session->addr != addr) continue;
      if (!laddr.empty() && session->laddr != laddr) continue;
      if (!type.empty() && !IsClientType(*session, type)) continue;
      if (skipme && session == &ctx.session) continue;
      victims.push_back(session);
    }
  }
  for (Session* victim : victims) {
    if (victim == &ctx.session) {
      victim->close_after_reply = true;
    } else if (victim->kill) {
      victim->kill();
    }
  }
  if (args.size() == 3) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Integer(static_cast<int64_t>(victims.size()));
  }
}

// CLIENT UNBLOCK id [TIMEOUT|ERROR]: 1 when the client was blocked.
void ClientUnblock(CommandContext& ctx, Args args) {
  if (args.size() > 4) {
    ctx.reply.Error(
        "ERR unknown subcommand or wrong number of arguments for 'unblock'. Try CLIENT HELP.");
    return;
  }
  bool with_error = false;
  if (args.size() == 4) {
    if (EqualsIgnoreCase(args[3], "error")) {
      with_error = true;
    } else if (!EqualsIgnoreCase(args[3], "timeout")) {
      ctx.reply.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR");
      return;
    }
  }
  int64_t id;
  if (!types::ParseInt64(args[2], &id)) {
    ctx.reply.Error(errors::kNotInteger);
    return;
  }
  const bool unblocked =
      id > 0 && UnblockClientById(ctx.server, static_cast<uint64_t>(id), with_error);
  ctx.reply.Integer(unblocked ? 1 : 0);
}

// CLIENT PAUSE timeout [WRITE|ALL] / CLIENT UNPAUSE: the net shell parks
// the commands that must wait (Dispatcher::WaitsForPause).
void ClientPause(CommandContext& ctx, Args args) {
  if (args.size() > 4) {
    ctx.reply.Error(
        "ERR unknown subcommand or wrong number of arguments for 'pause'. Try CLIENT HELP.");
    return;
  }
  bool all = true;
  if (args.size() == 4) {
    if (EqualsIgnoreCase(args[3], "write")) {
      all = false;
    } else if (!EqualsIgnoreCase(args[3], "all")) {
      ctx.reply.Error("ERR CLIENT PAUSE mode must be WRITE or ALL");
      return;
    }
  }
  int64_t ms;
  if (!types::ParseInt64(args[2], &ms)) {
    ctx.reply.Error("ERR timeout is not an integer or out of range");
    return;
  }
  if (ms < 0) {
    ctx.reply.Error("ERR timeout is negative");
    return;
  }
  ctx.server.PauseClients(Server::PausePurpose::kClientCommand, ctx.now_ms + ms, all);
  ctx.reply.Ok();
}

void ClientUnpause(CommandContext& ctx, Args) {
  ctx.server.UnpauseClients(Server::PausePurpose::kClientCommand);
  ctx.reply.Ok();
}

void ClientHelp(CommandContext& ctx, Args) {
  static const char* kLines[] = {
      "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "GETNAME",
      "    Return the name of the current connection.",
      "ID",
      "    Return the ID of the current connection.",
      "INFO",
      "    Return information about the current client connection.",
      "KILL <ip:port>",
      "    Kill connection made from <ip:port>.",
      "KILL <option> <value> [<option> <value> [...]]",
      "    Kill connections. Options are: ID, ADDR, LADDR, TYPE, USER, SKIPME.",
      "LIST [options ...]",
      "    Return information about client connections.",
      "UNPAUSE",
      "    Stop the current client pause, resuming traffic.",
      "PAUSE <timeout> [WRITE|ALL]",
      "    Suspend all, or just write, clients for <timeout> milliseconds.",
      "SETNAME <name>",
      "    Assign the name <name> to the current connection.",
      "UNBLOCK <clientid> [TIMEOUT|ERROR]",
      "    Unblock the specified blocked client.",
      "HELP",
      "    Print this help."};
  ctx.reply.ArrayHeader(std::size(kLines));
  for (const char* line : kLines) ctx.reply.SimpleString(line);
}

// ---------------------------------------------------------------- COMMAND

std::vector<std::string_view> FlagNames(uint32_t flags) {
  static const std::pair<uint32_t, std::string_view> kNames[] = {
      {kCmdWrite, "write"},
      {kCmdReadonly, "readonly"},
      {kCmdDenyOom, "denyoom"},
      {kCmdAdmin, "admin"},
      {kCmdPubSub, "pubsub"},
      {kCmdNoScript, "noscript"},
      {kCmdBlocking, "blocking"},
      {kCmdLoading, "loading"},
      {kCmdStale, "stale"},
      {kCmdSkipMonitor, "skip_monitor"},
      {kCmdSkipSlowlog, "skip_slowlog"},
      {kCmdAsking, "asking"},
      {kCmdFast, "fast"},
      {kCmdNoAuth, "no_auth"},
      {kCmdMayReplicate, "may_replicate"},
      {kCmdNoMulti, "no_multi"},
      {kCmdAllowBusy, "allow_busy"},
      {kCmdNoMandatoryKeys, "no_mandatory_keys"}};
  std::vector<std::string_view> out;
  for (const auto& [bit, name] : kNames) {
    if (flags & bit) out.push_back(name);
  }
  return out;
}

std::vector<std::string> AclCategories(const CommandSpec& spec) {
  std::vector<std::string> out;
  out.push_back(spec.is_write() ? "@write" : "@read");
  if (!(spec.flags & (kCmdWrite | kCmdReadonly))) out.back() = "@connection";
  if (!spec.group.empty()) {
    std::string g(spec.group);
    if (g == "generic") g = "keyspace";
    if (g == "sorted-set") g = "sortedset";
    if (g == "server" || g == "cluster" || g == "connection" || g == "string" || g == "keyspace" ||
        g == "list" || g == "hash" || g == "set" || g == "sortedset" || g == "transactions" ||
        g == "pubsub") {
      out.push_back(absl::StrCat("@", g));
    }
  }
  out.push_back((spec.flags & kCmdFast) ? "@fast" : "@slow");
  if (spec.flags & kCmdBlocking) out.push_back("@blocking");
  if (spec.flags & kCmdAdmin) {
    out.push_back("@admin");
    out.push_back("@dangerous");
  }
  return out;
}

void ReplyCommandInfo(resp::ReplyBuilder& r, const CommandSpec& spec) {
  r.ArrayHeader(10);
  r.Bulk(spec.name);
  r.Integer(spec.arity);
  auto flags = FlagNames(spec.flags);
  if (spec.keys != nullptr) flags.push_back("movablekeys");
  r.SetHeader(flags.size());
  for (auto f : flags) r.SimpleString(f);
  r.Integer(spec.first_key);
  r.Integer(spec.last_key);
  r.Integer(spec.key_step);
  const auto cats = AclCategories(spec);
  r.SetHeader(cats.size());
  for (const auto& c : cats) r.SimpleString(c);
  r.SetHeader(0);  // tips
  if (spec.first_key > 0) {
    r.ArrayHeader(1);
    r.MapHeader(3);
    r.Bulk("flags");
    r.SetHeader(1);
    r.SimpleString(spec.is_write() ? "RW" : "RO");
    r.Bulk("begin_search");
    r.MapHeader(2);
    r.Bulk("type");
    r.Bulk("index");
    r.Bulk("spec");
    r.MapHeader(1);
    r.Bulk("index");
    r.Integer(spec.first_key);
    r.Bulk("find_keys");
    r.MapHeader(2);
    r.Bulk("type");
    r.Bulk("range");
    r.Bulk("spec");
    r.MapHeader(3);
    r.Bulk("lastkey");
    r.Integer(spec.last_key < 0 ? spec.last_key : spec.last_key - spec.first_key);
    r.Bulk("keystep");
    r.Integer(spec.key_step);
    r.Bulk("limit");
    r.Integer(0);
  } else {
    r.ArrayHeader(0);
  }
  r.ArrayHeader(spec.subcommands.size());
  for (const CommandSpec& sub : spec.subcommands) ReplyCommandInfo(r, sub);
}

void ReplyCommandDocs(resp::ReplyBuilder& r, const CommandSpec& spec) {
  r.Bulk(spec.name);
  const bool subs = !spec.subcommands.empty();
  r.MapHeader(3 + (subs ? 1 : 0));
  r.Bulk("summary");
  r.Bulk(spec.summary);
  r.Bulk("since");
  r.Bulk(spec.since);
  r.Bulk("group");
  r.Bulk(spec.group);
  if (subs) {
    r.Bulk("subcommands");
    r.MapHeader(spec.subcommands.size());
    for (const CommandSpec& sub : spec.subcommands) ReplyCommandDocs(r, sub);
  }
}

void Command(CommandContext& ctx, Args) {
  const auto& all = ctx.server.commands().all();
  ctx.reply.ArrayHeader(all.size());
  for (const auto& spec : all) ReplyCommandInfo(ctx.reply, *spec);
}

void CommandCount(CommandContext& ctx, Args) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.server.commands().all().size()));
}

void CommandList(CommandContext& ctx, Args args) {
  if (args.size() != 2) {
    // FILTERBY is not supported.
    ctx.reply.Error(errors::kSyntax);
    return;
  }
  const auto& all = ctx.server.commands().all();
  ctx.reply.ArrayHeader(all.size());
  for (const auto& spec : all) ctx.reply.Bulk(spec->name);
}

const CommandSpec* FindFull(const CommandTable& table, std::string_view name) {
  const size_t bar = name.find('|');
  if (bar == std::string_view::npos) return table.Find(name);
  const CommandSpec* parent = table.Find(name.substr(0, bar));
  return parent ? CommandTable::FindSub(*parent, name.substr(bar + 1)) : nullptr;
}

void CommandInfo(CommandContext& ctx, Args args) {
  if (args.size() == 2) {
    Command(ctx, args);
    return;
  }
  ctx.reply.ArrayHeader(args.size() - 2);
  for (size_t i = 2; i < args.size(); ++i) {
    const CommandSpec* spec = FindFull(ctx.server.commands(), args[i]);
    if (spec) {
      ReplyCommandInfo(ctx.reply, *spec);
    } else {
      ctx.reply.NullArray();
    }
  }
}

void CommandDocs(CommandContext& ctx, Args args) {
  std::vector<const CommandSpec*> specs;
  if (args.size() == 2) {
    for (const auto& spec : ctx.server.commands().all()) specs.push_back(spec.get());
  } else {
    for (size_t i = 2; i < args.size(); ++i) {
      if (const CommandSpec* spec = FindFull(ctx.server.commands(), args[i])) specs.push_back(spec);
    }
  }
  ctx.reply.MapHeader(specs.size());
  for (const CommandSpec* spec : specs) ReplyCommandDocs(ctx.reply, *spec);
}

void CommandGetKeys(CommandContext& ctx, Args args) {
  std::span<std::string> rest = args.subspan(2);
  const CommandSpec* spec = ctx.server.commands().Find(rest[0]);
  if (spec == nullptr) {
    ctx.reply.Error("ERR Invalid command specified");
    return;
  }
  if (!spec->subcommands.empty() && rest.size() >= 2) {
    if (const CommandSpec* sub = CommandTable::FindSub(*spec, rest[1])) spec = sub;
  }
  const int argc = static_cast<int>(rest.size());
  if ((spec->arity > 0 && spec->arity != argc) || argc < -spec->arity) {
    ctx.reply.Error("ERR Invalid number of arguments specified for command");
    return;
  }
  const std::vector<int> keys = KeyIndexes(*spec, rest);
  if (keys.empty()) {
    ctx.reply.Error("ERR The command has no key arguments");
    return;
  }
  ctx.reply.ArrayHeader(keys.size());
  for (int k : keys) ctx.reply.Bulk(rest[k]);
}

// ---------------------------------------------------------------- DEBUG

// DEBUG CLUSTERLINK KILL <to|from|all> <node-id>.
void DebugClusterLinkKill(CommandContext& ctx, const std::string& dir, const std::string& id) {
  clusterbus::ClusterState* cluster = ctx.server.cluster();
  if (!cluster || !ctx.server.cluster_bus) {
    ctx.reply.Error("ERR Debug option only available for cluster mode enabled setup!");
    return;
  }
  clusterbus::ClusterNode* node = cluster->FindNode(id);
  if (!node) {
    ctx.reply.Error(absl::StrCat("ERR Unknown node ", id));
    return;
  }
  const std::string d = absl::AsciiStrToLower(dir);
  if (d != "to" && d != "from" && d != "all") {
    ctx.reply.Error(absl::StrCat("ERR Unknown direction ", dir));
    return;
  }
  ctx.server.cluster_bus->engine().KillLinks(*node, d != "from", d != "to");
  ApplyClusterEffects(ctx.server, ctx.now_ms);
  ctx.reply.Ok();
}

void Debug(CommandContext& ctx, Args args) {
  if (PersistDebug(ctx, args)) return;  // RELOAD, POPULATE, DIGEST...
  const std::string sub = absl::AsciiStrToLower(args[1]);
  if (sub == "sleep" && args.size() == 3) {
    double secs = 0;
    if (!absl::SimpleAtod(args[2], &secs)) {
      ctx.reply.Error(errors::kNotFloat);
      return;
    }
    if (ctx.server.sleep) ctx.server.sleep(static_cast<int64_t>(secs * 1000));
    ctx.reply.Ok();
  } else if (sub == "drop-cluster-packet-filter" && args.size() == 3) {
    int64_t type = 0;
    if (!absl::SimpleAtoi(args[2], &type) || type < INT32_MIN || type > INT32_MAX) {
      ctx.reply.Error(errors::kNotInteger);
      return;
    }
    if (ctx.server.cluster_bus) {
      ctx.server.cluster_bus->engine().set_drop_filter(static_cast<int>(type));
    }
    ctx.reply.Ok();
  } else if (sub == "segfault") {
    // As Redis: write to a page mapped read-only, so the crash report (and
    // a core dump where enabled) can be checked.
    void* page = mmap(nullptr, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (page != MAP_FAILED) *static_cast<volatile char*>(page) = 'x';
    raise(SIGSEGV);  // only if the mapping failed
  } else if (sub == "clusterlink" && args.size() == 5 && absl::EqualsIgnoreCase(args[2], "kill")) {
    DebugClusterLinkKill(ctx, args[3], args[4]);
  } else if (sub == "help") {
    static const char* kLines[] = {
        "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CLUSTERLINK KILL <to|from|all> <node-id>",
        "    Kills the link based on the direction to/from (both) with the provided node.",
        "DROP-CLUSTER-PACKET-FILTER <packet-type>",
        "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
        "SEGFAULT",
        "    Crash the server with sigsegv.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "HELP",
        "    Print this help."};
    ctx.reply.ArrayHeader(std::size(kLines));
    for (const char* line : kLines) ctx.reply.SimpleString(line);
  } else {
    ctx.reply.Error(errors::UnknownSubcommand("DEBUG", args[1]));
  }
}

void Help(CommandContext& ctx, Args) { ctx.reply.Error("ERR unexpected HELP call"); }

CommandSpec Sub(std::string parent, std::string sub, int arity, uint32_t flags, Handler h) {
  return CommandSpec{.name = absl::StrCat(parent, "|", sub),
                     .arity = arity,
                     .flags = flags,
                     .handler = h,
                     .group = parent == "client" ? "connection" : "server"};
}

}  // namespace

void RegisterServerFamily(CommandTable& t) {
  constexpr uint32_t kConn = kCmdNoScript | kCmdLoading | kCmdStale;
  t.Register({.name = "ping",
              .arity = -1,
              .flags = kCmdFast,
              .handler = Ping,
              .group = "connection",
              .summary = "Ping the server",
              .since = "1.0.0"});
  t.Register({.name = "echo",
              .arity = 2,
              .flags = kCmdFast,
              .handler = Echo,
              .group = "connection",
              .summary = "Echo the given string",
              .since = "1.0.0"});
  t.Register({.name = "quit",
              .arity = -1,
              .flags = kCmdAllowBusy | kCmdNoAuth | kCmdFast | kConn,
              .handler = Quit,
              .group = "connection",
              .summary = "Close the connection",
              .since = "1.0.0"});
  t.Register({.name = "reset",
              .arity = 1,
              .flags = kCmdNoAuth | kCmdFast | kConn,
              .handler = ResetSession,
              .group = "connection",
              .summary = "Reset the connection",
              .since = "6.2.0"});
  t.Register({.name = "hello",
              .arity = -1,
              .flags = kCmdNoAuth | kCmdFast | kConn,
              .handler = Hello,
              .group = "connection",
              .summary = "Handshake with Redis",
              .since = "6.0.0"});
  t.Register({.name = "auth",
              .arity = -2,
              .flags = kCmdNoAuth | kCmdFast | kConn,
              .handler = Auth,
              .group = "connection",
              .summary = "Authenticate to the server",
              .since = "1.0.0"});
  t.Register({.name = "time",
              .arity = 1,
              .flags = kCmdLoading | kCmdStale | kCmdFast,
              .handler = Time,
              .group = "server",
              .summary = "Return the current server time",
              .since = "2.6.0"});
  t.Register({.name = "lastsave",
              .arity = 1,
              .flags = kCmdLoading | kCmdStale | kCmdFast,
              .handler = LastSave,
              .group = "server",
              .summary = "Get the UNIX time stamp of the last successful save to disk",
              .since = "1.0.0"});
  t.Register({.name = "info",
              .arity = -1,
              .flags = kCmdLoading | kCmdStale,
              .handler = Info,
              .group = "server",
              .summary = "Get information and statistics about the server",
              .since = "1.0.0"});
  t.Register({.name = "shutdown",
              .arity = -1,
              .flags = kCmdAdmin | kConn | kCmdNoMulti | kCmdAllowBusy,
              .handler = Shutdown,
              .group = "server",
              .summary = "Synchronously save the dataset to disk and then shut down the server",
              .since = "1.0.0"});
  t.Register({.name = "debug",
              .arity = -2,
              .flags = kCmdAdmin | kConn,
              .handler = Debug,
              .group = "server",
              .summary = "A container for debugging commands",
              .since = "1.0.0"});

  CommandSpec client{.name = "client",
                     .arity = -2,
                     .flags = 0,
                     .handler = Help,
                     .group = "connection",
                     .summary = "A container for client connection commands",
                     .since = "2.4.0"};
  client.subcommands = {
      Sub("client", "id", 2, kConn, ClientId),
      Sub("client", "setname", 3, kConn, ClientSetName),
      Sub("client", "getname", 2, kConn, ClientGetName),
      Sub("client", "list", -2, kCmdAdmin | kConn, ClientList),
      Sub("client", "info", 2, kConn, ClientInfo),
      Sub("client", "kill", -3, kCmdAdmin | kConn, ClientKill),
      Sub("client", "unblock", -3, kCmdAdmin | kConn, ClientUnblock),
      Sub("client", "pause", -3, kCmdAdmin | kConn, ClientPause),
      Sub("client", "unpause", 2, kCmdAdmin | kConn, ClientUnpause),
      Sub("client", "help", 2, kCmdLoading | kCmdStale, ClientHelp),
  };
  t.Register(std::move(client));

  CommandSpec command{.name = "command",
                      .arity = -1,
                      .flags = kCmdLoading | kCmdStale,
                      .handler = Command,
                      .group = "server",
                      .summary = "Get array of Redis command details",
                      .since = "2.8.13"};
  command.subcommands = {
      Sub("command", "count", 2, kCmdLoading | kCmdStale, CommandCount),
      Sub("command", "list", -2, kCmdLoading | kCmdStale, CommandList),
      Sub("command", "info", -2, kCmdLoading | kCmdStale, CommandInfo),
      Sub("command", "docs", -2, kCmdLoading | kCmdStale, CommandDocs),
      Sub("command", "getkeys", -3, kCmdLoading | kCmdStale, CommandGetKeys),
  };
  t.Register(std::move(command));
}

}  // namespace shardnode::node
