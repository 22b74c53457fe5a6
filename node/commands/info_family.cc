// INFO: each section's lines, in Redis 7.0's order and names.
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "node/commands/command_table.h"
#include "node/commands/families.h"
#include "node/commands/fan_out.h"
#include "node/commands/memory_family.h"
#include "node/commands/persist_family.h"
#include "node/config/config.h"
#include "node/config/options.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/persist/persistence.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/memory_counter.h"
#include "node/server/monitoring.h"
#include "node/server/node_services.h"
#include "node/server/pubsub.h"
#include "node/server/replication_control.h"
#include "node/server/session.h"
#include "node/server/shard.h"
#include "node/server/tracking.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

void AppendServerSection(CommandContext& ctx, std::string& s, int64_t now_ms) {
  const NodeServices& node = ctx.node;
  struct utsname name;
  uname(&name);
  const int64_t uptime = (now_ms - node.start_ms()) / 1000;
  absl::StrAppend(&s, "# Server\r\n", "redis_version:", kRedisVersion, "\r\n",
                  "redis_git_sha1:00000000\r\nredis_git_dirty:0\r\n", "redis_build_id:0\r\n",
                  "redis_mode:", node.cluster_enabled() ? "cluster" : "standalone", "\r\n");
  absl::StrAppend(
      &s, "os:", name.sysname, " ", name.release, " ", name.machine, "\r\n",
      "arch_bits:64\r\nmonotonic_clock:POSIX clock_gettime\r\n",
      "multiplexing_api:epoll\r\natomicvar_api:c11-builtin\r\n", "gcc_version:", __GNUC__, ".",
      __GNUC_MINOR__, ".", __GNUC_PATCHLEVEL__, "\r\n", "process_id:", getpid(),
      "\r\nprocess_supervised:no\r\n", "run_id:", node.run_id(), "\r\n",
      "tcp_port:", node.tcp_port(), "\r\n", "server_time_usec:", now_ms * 1000, "\r\n",
      "uptime_in_seconds:", uptime, "\r\n", "uptime_in_days:", uptime / 86400, "\r\n",
      "hz:", node.options().hz, "\r\nconfigured_hz:", node.options().hz, "\r\n",
      "lru_clock:", (now_ms / 1000) & ((1 << 24) - 1), "\r\n", "executable:", node.executable(),
      "\r\n", "config_file:", node.config_file(), "\r\nio_threads_active:0\r\n");
  // While a shutdown waits for lagging replicas (Redis's conditional line).
  if (const int64_t deadline = node.shutdown_deadline_ms(); deadline != 0) {
    absl::StrAppend(&s, "shutdown_in_milliseconds:", std::max<int64_t>(0, deadline - now_ms),
                    "\r\n");
  }
}

void AppendClientsSection(CommandContext& ctx, std::string& s) {
  // Blocked on keys (BlockingTable) or in WAIT: every session flagged; and,
  // as Redis 7.0 counts its postponed clients, those held by CLIENT PAUSE.
  size_t blocked = 0;
  for (const auto& [id, session] : ctx.node.clients()) {
    blocked += session->blocked() || session->waiting == WaitReason::kPause ? 1 : 0;
  }
  // As Redis: every client but our replicas (our primary's link counts).
  size_t replicas = 0;
  for (const auto& [id, session] : ctx.node.clients()) replicas += session->replica ? 1 : 0;
  absl::StrAppend(&s, "# Clients\r\n", "connected_clients:", ctx.node.clients().size() - replicas,
                  "\r\ncluster_connections:0\r\n", "maxclients:", ctx.node.options().maxclients,
                  "\r\nclient_recent_max_input_buffer:0\r\nclient_recent_max_output_buffer:0\r\n",
                  "blocked_clients:", blocked,
                  "\r\ntracking_clients:", ctx.node.tracking().num_clients(),
                  "\r\nclients_in_timeout_table:", ctx.shard.blocking().with_timeout(), "\r\n");
}

void AppendPersistenceSection(CommandContext& ctx, std::string& s) {
  absl::StrAppend(&s, "# Persistence\r\n");
  persist::AppendRdbInfo(ctx.node, ctx.node.TotalStats().dirty, ctx.now_ms, s);
  persist::AppendAofInfo(ctx.node, ctx.now_ms, s);
  persist::AppendLoadingInfo(ctx.node, ctx.now_ms, s);
}

// What INFO needs from one keyspace shard: its lookup statistics (stats)
// and each database's key and expire counts (keyspace).
struct ShardFigures {
  DbStats stats;
  std::vector<std::pair<uint64_t, uint64_t>> keys_expires;  // by database
  // Of those, the keys (and keys with a TTL) of slots an atomic migration
  // is importing: INFO keyspace leaves them out (NodeServices::SlotHidden).
  std::vector<std::pair<uint64_t, uint64_t>> hidden;  // by database
};

void AppendStatsSection(CommandContext& ctx, const std::vector<ShardFigures>& shards,
                        std::string& s) {
  // Every shard view's figures (a command counts on its own).
  const Stats st = ctx.node.TotalStats();
  uint64_t hits = st.keyspace_hits, misses = st.keyspace_misses, expired = st.expired_keys;
  for (const ShardFigures& f : shards) {
    hits += f.stats.hits;
    misses += f.stats.misses;
    expired += f.stats.expired;
  }
  absl::StrAppend(
      &s, "# Stats\r\n", "total_connections_received:", st.total_connections_received, "\r\n",
      "total_commands_processed:", st.total_commands_processed, "\r\n",
      "instantaneous_ops_per_sec:", ctx.node.monitoring().ops.PerSecond(), "\r\n",
      "total_net_input_bytes:", st.total_net_input_bytes, "\r\n",
      "total_net_output_bytes:", st.total_net_output_bytes, "\r\n",
      "total_net_repl_input_bytes:0\r\ntotal_net_repl_output_bytes:0\r\n",
      "instantaneous_input_kbps:",
      absl::StrFormat("%.2f", ctx.node.monitoring().net_input.PerSecond() / 1024.0), "\r\n",
      "instantaneous_output_kbps:",
      absl::StrFormat("%.2f", ctx.node.monitoring().net_output.PerSecond() / 1024.0), "\r\n",
      "instantaneous_input_repl_kbps:0.00\r\ninstantaneous_output_repl_kbps:0.00\r\n",
      "rejected_connections:", st.rejected_connections, "\r\n",
      ctx.node.replication() ? ctx.node.replication()->SyncStatsLines()
                             : "sync_full:0\r\nsync_partial_ok:0\r\nsync_partial_err:0\r\n",
      "expired_keys:", expired, "\r\n",
      // The active expiry cycle never stops early on its time budget here (it
      // expires a fixed number of keys per tick): nothing stale estimated.
      "expired_stale_perc:0.00\r\nexpired_time_cap_reached_count:0\r\n",
      "expire_cycle_cpu_milliseconds:0\r\n", "evicted_keys:", st.evicted_keys, "\r\n",
      "evicted_clients:", st.evicted_clients, "\r\ntotal_eviction_exceeded_time:0\r\n",
      "current_eviction_exceeded_time:0\r\n", "keyspace_hits:", hits, "\r\n",
      "keyspace_misses:", misses, "\r\n");
  PubSub& pubsub = ctx.node.pubsub();
  absl::StrAppend(
      &s, "pubsub_channels:", pubsub.NumChannels(false), "\r\n",
      "pubsub_patterns:", pubsub.NumPatterns(), "\r\n",
      "pubsubshard_channels:", pubsub.NumChannels(true), "\r\n",
      // Snapshots do not fork.
      "latest_fork_usec:0\r\ntotal_forks:0\r\n",
      "migrate_cached_sockets:", ctx.node.migrate_cached_sockets(), "\r\n",
      // Writable replicas (the only ones that track expires) are not
      // supported; active defragmentation neither.
      "slave_expires_tracked_keys:0\r\n", "active_defrag_hits:0\r\nactive_defrag_misses:0\r\n",
      "active_defrag_key_hits:0\r\nactive_defrag_key_misses:0\r\n",
      "total_active_defrag_time:0\r\ncurrent_active_defrag_time:0\r\n",
      "tracking_total_keys:", ctx.node.tracking().total_keys(), "\r\n",
      "tracking_total_items:", ctx.node.tracking().total_items(), "\r\n",
      "tracking_total_prefixes:", ctx.node.tracking().total_prefixes(), "\r\n",
      "unexpected_error_replies:", st.unexpected_error_replies, "\r\n",
      "total_error_replies:", st.total_error_replies, "\r\n",
      // Deep sanitization of RESTORE payloads is Redis's sanitize-dump-payload
      // mode, which the node does not have: none done (Redis's default too).
      "dump_payload_sanitizations:0\r\n", "total_reads_processed:", st.total_reads_processed,
      "\r\n", "total_writes_processed:", st.total_writes_processed, "\r\n",
      // No I/O threads.
      "io_threaded_reads_processed:0\r\nio_threaded_writes_processed:0\r\n",
      "reply_buffer_shrinks:", st.reply_buffer_shrinks,
      "\r\nreply_buffer_expands:", st.reply_buffer_expands, "\r\n");
}

void AppendReplicationSection(CommandContext& ctx, std::string& s) {
  if (ctx.node.replication() != nullptr) {
    s += ctx.node.replication()->InfoSection(ctx.now_ms);
    return;
  }
  absl::StrAppend(&s, "# Replication\r\n", "role:master\r\n", "connected_slaves:0\r\n",
                  "master_failover_state:no-failover\r\n", "master_replid:", ctx.node.run_id(),
                  "\r\n", "master_replid2:0000000000000000000000000000000000000000\r\n",
                  "master_repl_offset:0\r\nsecond_repl_offset:-1\r\n", "repl_backlog_active:0\r\n",
                  "repl_backlog_size:", ctx.node.options().repl_backlog_size, "\r\n",
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

void AppendCommandStats(const NodeServices& node, const CommandSpec& spec, std::string& s) {
  const CommandStats st = node.TotalCommandStats(spec.stats_index);
  if (st.calls || st.rejected_calls || st.failed_calls) {
    absl::StrAppend(
        &s, "cmdstat_", spec.name, ":calls=", st.calls, ",usec=", st.usec, ",usec_per_call=",
        absl::StrFormat("%.2f", st.calls ? static_cast<double>(st.usec) / st.calls : 0.0),
        ",rejected_calls=", st.rejected_calls, ",failed_calls=", st.failed_calls, "\r\n");
  }
  for (const CommandSpec& sub : spec.subcommands) AppendCommandStats(node, sub, s);
}

// Redis's trimDoubleString of "%f": "50", "99.9".
std::string PercentileLabel(std::string_view text) {
  std::string p(text);
  if (p.find('.') != std::string::npos) {
    while (!p.empty() && p.back() == '0') p.pop_back();
    if (!p.empty() && p.back() == '.') p.pop_back();
  }
  return p;
}

void AppendLatencyStats(const NodeServices& node, const CommandSpec& spec,
                        const std::vector<std::string>& percentiles, std::string& s) {
  const LatencyHistogram h = node.TotalCommandStats(spec.stats_index).histogram;
  if (h.total() > 0) {
    absl::StrAppend(&s, "latency_percentiles_usec_", spec.name, ":");
    for (size_t i = 0; i < percentiles.size(); ++i) {
      double p = 0;
      if (!absl::SimpleAtod(percentiles[i], &p)) continue;
      absl::StrAppendFormat(&s, "%sp%s=%.3f", i ? "," : "", PercentileLabel(percentiles[i]),
                            static_cast<double>(h.ValueAtPercentile(p)) / 1000.0);
    }
    s += "\r\n";
  }
  for (const CommandSpec& sub : spec.subcommands) AppendLatencyStats(node, sub, percentiles, s);
}

void AppendLatencySection(CommandContext& ctx, std::string& s) {
  absl::StrAppend(&s, "# Latencystats\r\n");
  if (!ctx.node.options().latency_tracking) return;
  const std::vector<std::string> percentiles =
      absl::StrSplit(ctx.node.config().Value("latency-tracking-info-percentiles").value_or(""), ' ',
                     absl::SkipEmpty());
  for (const auto& spec : ctx.node.commands().all()) {
    AppendLatencyStats(ctx.node, *spec, percentiles, s);
  }
}

void AppendErrorStats(CommandContext& ctx, std::string& s) {
  absl::StrAppend(&s, "# Errorstats\r\n");
  for (const auto& [code, count] : ctx.node.TotalStats().error_codes) {
    absl::StrAppend(&s, "errorstat_", code, ":count=", count, "\r\n");
  }
}

void AppendKeyspaceSection(CommandContext& ctx, const std::vector<ShardFigures>& shards,
                           std::string& s) {
  absl::StrAppend(&s, "# Keyspace\r\n");
  for (int d = 0; d < ctx.num_dbs(); ++d) {
    uint64_t keys = 0, expires = 0;
    for (const ShardFigures& f : shards) {
      keys += f.keys_expires[d].first - f.hidden[d].first;
      expires += f.keys_expires[d].second - f.hidden[d].second;
    }
    if (keys || expires) {
      absl::StrAppend(&s, "db", d, ":keys=", keys, ",expires=", expires, ",avg_ttl=0\r\n");
    }
  }
}

// INFO [section ...]: a fan-out whose steps gather each shard's figures
// (when the stats or keyspace section is wanted) and whose merge writes
// every section.
class InfoFanOut : public FanOut {
 public:
  InfoFanOut(const NodeServices& node, std::set<std::string> wanted, bool all, int num_shards)
      : used_(UsedMemory()),
        node_(node),
        wanted_(std::move(wanted)),
        all_(all),
        shards_(num_shards) {}

  ShardList FirstRound(int num_shards) override {
    if (!Want("stats") && !Want("keyspace") && !Want("memory")) return {};
    return AllShards(num_shards);
  }
  void Step(ShardStep& shard) override {
    Keyspace& ks = shard.keyspace();
    ShardFigures& f = shards_[shard.index()];
    f.stats = ks.TotalStats();
    for (int d = 0; d < ks.num_dbs(); ++d) {
      f.keys_expires.emplace_back(ks.db(d).Size(), ks.db(d).expires_count());
      f.hidden.push_back(HiddenKeysAndExpires(ks.db(d)));
    }
  }
  ShardList Merge(CommandContext& ctx) override;

 private:
  bool Want(std::string_view sec) const { return all_ || wanted_.count(std::string(sec)); }
  // The keys of `db` in hidden slots, and how many of them have a TTL.
  std::pair<uint64_t, uint64_t> HiddenKeysAndExpires(const Db& db) const {
    std::pair<uint64_t, uint64_t> n{0, 0};
    if (!node_.AnySlotHidden()) return n;
    for (int s = 0; s < slots::kNumSlots; ++s) {
      if (!node_.SlotHidden(s)) continue;
      for (const std::string& key : db.KeysInSlot(s, SIZE_MAX)) {
        const Entry* e = db.Peek(key);
        if (e == nullptr) continue;
        ++n.first;
        if (e->has_expire()) ++n.second;
      }
    }
    return n;
  }
  std::vector<DbKeyCounts> KeyCountsByDb() const {
    std::vector<DbKeyCounts> dbs;
    for (const ShardFigures& f : shards_) {
      if (dbs.size() < f.keys_expires.size()) dbs.resize(f.keys_expires.size());
      for (size_t d = 0; d < f.keys_expires.size(); ++d) {
        dbs[d].keys += f.keys_expires[d].first;
        dbs[d].expires += f.keys_expires[d].second;
      }
    }
    return dbs;
  }

  const size_t used_;  // used_memory when the command started (AppendMemoryInfo)
  const NodeServices& node_;
  std::set<std::string> wanted_;      // sections asked for by name (defaults expanded)
  bool all_;                          // "all" or "everything": every section
  std::vector<ShardFigures> shards_;  // by shard
};

ShardList InfoFanOut::Merge(CommandContext& ctx) {
  // Redis's order (default sections: info_family's kDefaultSections).
  static const std::vector<std::string_view> kSections = {
      "server",  "clients",      "memory",     "persistence",  "stats",   "replication", "cpu",
      "modules", "commandstats", "errorstats", "latencystats", "cluster", "keyspace"};
  std::string s;
  auto open = [&s]() {
    if (!s.empty()) s += "\r\n";
  };
  for (std::string_view sec : kSections) {
    if (sec == "modules" ? !Want("modules") && !Want("module_list") : !Want(sec)) continue;
    open();
    if (sec == "server") AppendServerSection(ctx, s, ctx.now_ms);
    if (sec == "clients") AppendClientsSection(ctx, s);
    if (sec == "memory") AppendMemoryInfo(ctx, KeyCountsByDb(), used_, s);
    if (sec == "persistence") AppendPersistenceSection(ctx, s);
    if (sec == "stats") AppendStatsSection(ctx, shards_, s);
    if (sec == "replication") AppendReplicationSection(ctx, s);
    if (sec == "cpu") AppendCpuSection(s);
    if (sec == "modules") absl::StrAppend(&s, "# Modules\r\n");  // modules are not supported
    if (sec == "latencystats") AppendLatencySection(ctx, s);
    if (sec == "commandstats") {
      absl::StrAppend(&s, "# Commandstats\r\n");
      for (const auto& spec : ctx.node.commands().all()) AppendCommandStats(ctx.node, *spec, s);
    }
    if (sec == "errorstats") AppendErrorStats(ctx, s);
    if (sec == "cluster") {
      absl::StrAppend(&s, "# Cluster\r\ncluster_enabled:", ctx.node.cluster_enabled() ? 1 : 0,
                      "\r\n");
    }
    if (sec == "keyspace") AppendKeyspaceSection(ctx, shards_, s);
  }
  // shardnode's own section, only when asked for by name (Redis's sections
  // and their fields stay exactly Redis's): the threads, whether shard
  // threads run commands now (node/server/shard.h) and how many they ran.
  if (wanted_.contains("threads")) {
    open();
    const Stats st = ctx.node.TotalStats();
    absl::StrAppend(&s, "# Threads\r\nthreads:", ctx.shard.num_keyspaces(),
                    "\r\nshard_commands:", ctx.node.shard_commands() ? 1 : 0,
                    "\r\nshard_thread_commands:", st.shard_thread_commands, "\r\n");
  }
  ctx.reply.Verbatim(s);
  return {};
}

std::unique_ptr<FanOut> Info(CommandContext& ctx, Args args) {
  static const char* kDefaultSections[] = {"server",     "clients",     "memory",  "persistence",
                                           "stats",      "replication", "cpu",     "module_list",
                                           "errorstats", "cluster",     "keyspace"};
  std::set<std::string> wanted;
  bool all = false;
  if (args.size() == 1) wanted.insert(std::begin(kDefaultSections), std::end(kDefaultSections));
  for (size_t i = 1; i < args.size(); ++i) {
    std::string sec = absl::AsciiStrToLower(args[i]);
    if (sec == "default") {
      wanted.insert(std::begin(kDefaultSections), std::end(kDefaultSections));
    } else if (sec == "all" || sec == "everything") {
      all = true;
    } else {
      wanted.insert(sec);
    }
  }
  return std::make_unique<InfoFanOut>(ctx.node, std::move(wanted), all, ctx.shard.num_keyspaces());
}

}  // namespace

void RegisterInfoFamily(CommandTable& t) {
  t.Register({.name = "info",
              .arity = -1,
              .flags = kCmdLoading | kCmdStale | kCmdAllShards,
              .fan_out = Info,
              .group = "server",
              .summary = "Get information and statistics about the server",
              .since = "1.0.0"});
}

}  // namespace shardnode::node
