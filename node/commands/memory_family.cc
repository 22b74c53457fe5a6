// INFO memory and MEMORY USAGE / STATS / DOCTOR / PURGE / MALLOC-STATS /
// HELP.
#include "node/commands/memory_family.h"

#include <malloc.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include <fstream>
#include <limits>
#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/fan_out.h"
#include "node/config/options.h"
#include "node/keyspace/db.h"
#include "node/keyspace/eviction.h"
#include "node/keyspace/keyspace.h"
#include "node/resp/reply.h"
#include "node/server/cluster_setup.h"
#include "node/server/lazyfree.h"
#include "node/server/memory_counter.h"
#include "node/server/node_services.h"
#include "node/server/replication_control.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

std::string HumanBytes(uint64_t n) {
  const double d = static_cast<double>(n);
  if (n < 1024) return absl::StrCat(n, "B");
  if (n < 1024ull * 1024) return absl::StrFormat("%.2fK", d / 1024);
  if (n < 1024ull * 1024 * 1024) return absl::StrFormat("%.2fM", d / (1024 * 1024));
  if (n < 1024ull * 1024 * 1024 * 1024) return absl::StrFormat("%.2fG", d / (1024.0 * 1024 * 1024));
  return absl::StrFormat("%.2fT", d / (1024.0 * 1024 * 1024 * 1024));
}

uint64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
}

// Per key of the main table: the entry's header (its Value and key bytes
// are data) and one bucket pointer; per key with a TTL: its expiry record
// (Redis counts dictEntry and bucket sizes the same way).
constexpr size_t kKeyOverhead = sizeof(Entry) - sizeof(Value) + sizeof(void*);
constexpr size_t kExpireOverhead = 2 * sizeof(int64_t);

// Redis's redisMemOverhead, for this node.
struct MemoryFigures {
  size_t used = 0;
  size_t peak = 0;
  size_t startup = 0;
  size_t rss = 0;
  size_t allocator_allocated = 0;
  size_t allocator_active = 0;
  size_t allocator_resident = 0;
  size_t repl_backlog = 0;
  size_t repl_buffers = 0;  // mem_total_replication_buffers
  size_t clients_slaves = 0;
  size_t clients_normal = 0;
  size_t num_replicas = 0;
  size_t num_normal = 0;
  size_t cluster_links = 0;
  size_t lua_caches = 0;
  size_t not_counted_for_evict = 0;
  std::vector<std::pair<size_t, size_t>> db_overhead;  // by db: (main, expires)
  size_t overhead = 0;
  size_t total_keys = 0;
  size_t dataset = 0;

  double Ratio(size_t a, size_t b) const {
    return b ? static_cast<double>(a) / static_cast<double>(b) : 0.0;
  }
  int64_t Diff(size_t a, size_t b) const {
    return static_cast<int64_t>(a) - static_cast<int64_t>(b);
  }
  double peak_perc() const { return peak ? used * 100.0 / peak : 0.0; }
  double dataset_perc() const {
    const size_t net = used > startup ? used - startup : 1;
    return dataset * 100.0 / net;
  }
  size_t bytes_per_key() const {
    const size_t net = used > startup ? used - startup : 1;
    return total_keys ? net / total_keys : 0;
  }
};

// The scripts' cached bodies: the used_memory_scripts line of their INFO.
size_t ScriptCaches(NodeServices& node) {
  const std::string lines = node.ScriptMemoryInfo();
  constexpr std::string_view kField = "used_memory_scripts:";
  const size_t at = lines.find(kField);
  if (at == std::string::npos) return 0;
  const size_t end = lines.find('\r', at);
  size_t v = 0;
  if (!absl::SimpleAtoi(lines.substr(at + kField.size(), end - at - kField.size()), &v)) return 0;
  return v;
}

MemoryFigures Compute(CommandContext& ctx, const std::vector<DbKeyCounts>& dbs, size_t used) {
  MemoryFigures m;
  m.used = used;
  m.peak = UpdatePeakMemory();
  m.startup = StartupMemory();
  m.rss = ResidentBytes();
  // glibc: bytes in use by malloc (mmapped blocks included), bytes the
  // heaps and mappings hold from the system, and what of it is resident.
  const struct mallinfo2 mi = mallinfo2();
  m.allocator_allocated = mi.uordblks + mi.hblkhd;
  m.allocator_active = mi.arena + mi.hblkhd;
  m.allocator_resident = std::min<size_t>(m.rss, m.allocator_active);
  if (ctx.node.replication() != nullptr) {
    m.repl_backlog = ctx.node.replication()->backlog_memory();
    m.repl_buffers = ctx.node.replication()->replication_buffers_memory();
    m.not_counted_for_evict += ctx.node.replication()->backlog_not_counted();
  }
  m.not_counted_for_evict += OutputInFlight();
  for (const auto& [id, session] : ctx.node.clients()) {
    CountOutputOf(*session);
    const size_t bytes =
        sizeof(Session) + session->query_buffer_bytes + session->output_buffer_allocated;
    if (session->replica) {
      m.clients_slaves += bytes;
      m.not_counted_for_evict += session->output_buffer_allocated;
      ++m.num_replicas;
    } else {
      m.clients_normal += bytes;
      ++m.num_normal;
    }
  }
  if (ClusterBus* bus = ctx.node.cluster_bus()) {
    for (const BusLinkInfo& link : bus->Links()) {
      m.cluster_links += sizeof(BusLinkInfo) + link.send_buffer_allocated;
    }
  }
  m.lua_caches = ScriptCaches(ctx.node);
  m.overhead = m.startup + m.repl_backlog + m.clients_slaves + m.clients_normal + m.cluster_links +
               m.lua_caches;
  for (const DbKeyCounts& d : dbs) {
    const size_t main = d.keys * kKeyOverhead;
    const size_t expires = d.expires * kExpireOverhead;
    m.db_overhead.emplace_back(main, expires);
    m.overhead += main + expires;
    m.total_keys += d.keys;
  }
  m.dataset = m.used > m.overhead ? m.used - m.overhead : 0;
  return m;
}

std::string Ratio2(double d) { return absl::StrFormat("%.2f", d); }

}  // namespace

void AppendMemoryInfo(CommandContext& ctx, const std::vector<DbKeyCounts>& dbs, size_t used,
                      std::string& s) {
  const MemoryFigures m = Compute(ctx, dbs, used);
  struct sysinfo si;
  const uint64_t total_system = sysinfo(&si) == 0 ? uint64_t{si.totalram} * si.mem_unit : 0;
  const ServerOptions& o = ctx.node.options();
  const auto maxmemory = static_cast<uint64_t>(o.maxmemory);
  absl::StrAppend(
      &s, "# Memory\r\n", "used_memory:", m.used, "\r\n", "used_memory_human:", HumanBytes(m.used),
      "\r\n", "used_memory_rss:", m.rss, "\r\n", "used_memory_rss_human:", HumanBytes(m.rss),
      "\r\n", "used_memory_peak:", m.peak, "\r\n", "used_memory_peak_human:", HumanBytes(m.peak),
      "\r\n", "used_memory_peak_perc:", Ratio2(m.peak_perc()), "%\r\n");
  absl::StrAppend(&s, "used_memory_overhead:", m.overhead, "\r\n",
                  "used_memory_startup:", m.startup, "\r\n", "used_memory_dataset:", m.dataset,
                  "\r\n", "used_memory_dataset_perc:", Ratio2(m.dataset_perc()), "%\r\n",
                  "allocator_allocated:", m.allocator_allocated, "\r\n",
                  "allocator_active:", m.allocator_active, "\r\n",
                  "allocator_resident:", m.allocator_resident, "\r\n",
                  "total_system_memory:", total_system, "\r\n",
                  "total_system_memory_human:", HumanBytes(total_system), "\r\n");
  s += ctx.node.ScriptMemoryInfo();
  absl::StrAppend(
      &s, "maxmemory:", maxmemory, "\r\n", "maxmemory_human:", HumanBytes(maxmemory), "\r\n",
      "maxmemory_policy:", EvictionPolicyName(static_cast<EvictionPolicy>(o.maxmemory_policy)),
      "\r\n", "allocator_frag_ratio:", Ratio2(m.Ratio(m.allocator_active, m.allocator_allocated)),
      "\r\n", "allocator_frag_bytes:", m.Diff(m.allocator_active, m.allocator_allocated), "\r\n",
      "allocator_rss_ratio:", Ratio2(m.Ratio(m.allocator_resident, m.allocator_active)), "\r\n",
      "allocator_rss_bytes:", m.Diff(m.allocator_resident, m.allocator_active), "\r\n",
      "rss_overhead_ratio:", Ratio2(m.Ratio(m.rss, m.allocator_resident)), "\r\n",
      "rss_overhead_bytes:", m.Diff(m.rss, m.allocator_resident), "\r\n");
  absl::StrAppend(&s, "mem_fragmentation_ratio:", Ratio2(m.Ratio(m.rss, m.used)), "\r\n",
                  "mem_fragmentation_bytes:", m.Diff(m.rss, m.used), "\r\n",
                  "mem_not_counted_for_evict:", m.not_counted_for_evict, "\r\n",
                  "mem_replication_backlog:", m.repl_backlog, "\r\n",
                  "mem_total_replication_buffers:", m.repl_buffers, "\r\n",
                  "mem_clients_slaves:", m.clients_slaves, "\r\n",
                  "mem_clients_normal:", m.clients_normal, "\r\n",
                  "mem_cluster_links:", m.cluster_links, "\r\n",
                  // No AOF buffer: writes go out at once. Big values UNLINK
                  // deletes are freed in the background (node/server/lazyfree.h).
                  "mem_aof_buffer:0\r\n", "mem_allocator:libc\r\n", "active_defrag_running:0\r\n",
                  "lazyfree_pending_objects:", LazyFreePendingObjects(), "\r\n",
                  "lazyfreed_objects:", LazyFreedObjects(), "\r\n");
}

namespace {

// Key and keys-with-TTL counts by database, over every keyspace shard.
class MemoryStatsFanOut : public FanOut {
 public:
  MemoryStatsFanOut(bool doctor, int num_dbs)
      : used_(UsedMemory()), doctor_(doctor), dbs_(num_dbs) {}
  ShardList FirstRound(int num_shards) override { return AllShards(num_shards); }
  void Step(ShardStep& shard) override {
    Keyspace& ks = shard.keyspace();
    for (int d = 0; d < ks.num_dbs() && d < static_cast<int>(dbs_.size()); ++d) {
      dbs_[d].keys += ks.db(d).Size();
      dbs_[d].expires += ks.db(d).expires_count();
    }
  }
  ShardList Merge(CommandContext& ctx) override {
    if (doctor_) {
      Doctor(ctx);
    } else {
      Stats(ctx);
    }
    return {};
  }

 private:
  void Stats(CommandContext& ctx) {
    const MemoryFigures m = Compute(ctx, dbs_, used_);
    resp::ReplyBuilder& r = ctx.reply;
    size_t num_dbs = 0;
    for (const DbKeyCounts& d : dbs_) num_dbs += d.keys ? 1 : 0;
    r.MapHeader(27 + num_dbs);
    auto num = [&r](std::string_view name, int64_t v) {
      r.Bulk(name);
      r.Integer(v);
    };
    auto dbl = [&r](std::string_view name, double v) {
      r.Bulk(name);
      r.Double(v);
    };
    auto sz = [](size_t v) { return static_cast<int64_t>(v); };
    num("peak.allocated", sz(m.peak));
    num("total.allocated", sz(m.used));
    num("startup.allocated", sz(m.startup));
    num("replication.backlog", sz(m.repl_backlog));
    num("clients.slaves", sz(m.clients_slaves));
    num("clients.normal", sz(m.clients_normal));
    num("cluster.links", sz(m.cluster_links));
    num("aof.buffer", 0);
    num("lua.caches", sz(m.lua_caches));
    num("functions.caches", 0);
    for (size_t d = 0; d < dbs_.size(); ++d) {
      if (dbs_[d].keys == 0) continue;
      r.Bulk(absl::StrCat("db.", d));
      r.MapHeader(3);
      num("overhead.hashtable.main", sz(m.db_overhead[d].first));
      num("overhead.hashtable.expires", sz(m.db_overhead[d].second));
      // Keys are indexed by slot inside the main table: no separate index.
      num("overhead.hashtable.slot-to-keys", 0);
    }
    num("overhead.total", sz(m.overhead));
    num("keys.count", sz(m.total_keys));
    num("keys.bytes-per-key", sz(m.bytes_per_key()));
    num("dataset.bytes", sz(m.dataset));
    dbl("dataset.percentage", m.dataset_perc());
    dbl("peak.percentage", m.peak_perc());
    num("allocator.allocated", sz(m.allocator_allocated));
    num("allocator.active", sz(m.allocator_active));
    num("allocator.resident", sz(m.allocator_resident));
    dbl("allocator-fragmentation.ratio", m.Ratio(m.allocator_active, m.allocator_allocated));
    num("allocator-fragmentation.bytes", m.Diff(m.allocator_active, m.allocator_allocated));
    dbl("allocator.rss-ratio", m.Ratio(m.allocator_resident, m.allocator_active));
    num("allocator.rss-bytes", m.Diff(m.allocator_resident, m.allocator_active));
    dbl("rss-overhead.ratio", m.Ratio(m.rss, m.allocator_resident));
    num("rss-overhead.bytes", m.Diff(m.rss, m.allocator_resident));
    dbl("fragmentation", m.Ratio(m.rss, m.used));
    num("fragmentation.bytes", m.Diff(m.rss, m.used));
  }

  void Doctor(CommandContext& ctx) {
    const MemoryFigures m = Compute(ctx, dbs_, used_);
    constexpr int64_t kTenMb = 10 << 20;
    std::vector<std::string_view> issues;
    const bool empty = m.used < 5 * 1024 * 1024;
    if (!empty) {
      if (m.Ratio(m.peak, m.used) > 1.5) {
        issues.push_back(
            " * Peak memory: In the past this instance used more than 150% the memory that is "
            "currently using. The allocator is normally not able to release memory after a "
            "peak; if the peak was only occasional, try the MEMORY PURGE command.\n\n");
      }
      if (m.Ratio(m.rss, m.used) > 1.4 && m.Diff(m.rss, m.used) > kTenMb) {
        issues.push_back(
            " * High total RSS: This instance has a memory fragmentation and RSS overhead greater "
            "than 1.4 (the Resident Set Size of the process is much larger than the sum of its "
            "logical allocations), usually after a large memory peak. Note: The currently used "
            "allocator is \"libc\".\n\n");
      }
      if (m.Ratio(m.allocator_active, m.allocator_allocated) > 1.1 &&
          m.Diff(m.allocator_active, m.allocator_allocated) > kTenMb) {
        issues.push_back(
            " * High allocator fragmentation: This instance has an allocator external "
            "fragmentation greater than 1.1, usually after a large memory peak or from a "
            "workload that fragments memory a lot.\n\n");
      }
      if (m.num_normal > 0 && m.clients_normal / m.num_normal > 200 * 1024) {
        issues.push_back(
            " * Big client buffers: The clients output buffers in this instance are greater "
            "than 200K per client (on average). Use the CLIENT LIST command to find which "
            "clients hold them.\n\n");
      }
      if (m.num_replicas > 0 && m.clients_slaves > 10 * 1024 * 1024) {
        issues.push_back(
            " * Big replica buffers: The replica output buffers in this instance are greater "
            "than 10MB for each replica (on average): some replica is not receiving data fast "
            "enough. Check INFO replication and CLIENT LIST.\n\n");
      }
    }
    std::string report;
    if (empty) {
      report =
          "Hi Sam, this instance is empty or is using very little memory, my issues detector "
          "can't be used in these conditions. Please, leave for your mission on Earth and fill "
          "it with some data. The new Sam and I will be back to our programming as soon as I "
          "finished rebooting.\n";
    } else if (issues.empty()) {
      report =
          "Hi Sam, I can't find any memory issue in your instance. I can only account for what "
          "occurs on this base.\n";
    } else {
      report = "Sam, I detected a few issues in this Redis instance memory implants:\n\n";
      for (std::string_view issue : issues) report += issue;
      report += "I'm here to keep you safe, Sam. I want to help you.\n";
    }
    ctx.reply.Verbatim(report);
  }

  const size_t used_;  // used_memory when the command started (AppendMemoryInfo)
  bool doctor_;
  std::vector<DbKeyCounts> dbs_;
};

std::unique_ptr<FanOut> MemoryStats(CommandContext& ctx, Args) {
  return std::make_unique<MemoryStatsFanOut>(false, ctx.num_dbs());
}

std::unique_ptr<FanOut> MemoryDoctor(CommandContext& ctx, Args) {
  return std::make_unique<MemoryStatsFanOut>(true, ctx.num_dbs());
}

void MemoryUsage(CommandContext& ctx, Args args) {
  int64_t samples = 5;
  for (size_t j = 3; j < args.size(); ++j) {
    if (absl::EqualsIgnoreCase(args[j], "samples") && j + 1 < args.size()) {
      if (!absl::SimpleAtoi(args[j + 1], &samples)) {
        ctx.reply.Error(errors::kNotInteger);
        return;
      }
      if (samples < 0) {
        ctx.reply.Error(errors::kSyntax);
        return;
      }
      if (samples == 0) samples = std::numeric_limits<int64_t>::max();
      ++j;
    } else {
      ctx.reply.Error(errors::kSyntax);
      return;
    }
  }
  // As Redis: the key as stored (no expiry, no access clock).
  const Entry* e = ctx.DbFor(args[2]).Peek(args[2]);
  if (e == nullptr) {
    ctx.reply.NullBulk();
    return;
  }
  // The entry's own block (header, key bytes, inline Value), one bucket
  // pointer, and what the value allocated apart.
  size_t bytes = malloc_usable_size(const_cast<Entry*>(e)) + sizeof(void*);
  bytes += e->value().HeapBytes();
  if (const TypedObject* o = e->value().object()) {
    bytes += o->MemoryUsage(static_cast<size_t>(samples));
  }
  ctx.reply.Integer(static_cast<int64_t>(bytes));
}

void MemoryPurge(CommandContext& ctx, Args) {
  // glibc: give the free memory at the heaps' tops (and whole free pages
  // inside them) back to the system.
  malloc_trim(0);
  ctx.reply.Ok();
}

void MemoryMallocStats(CommandContext& ctx, Args) {
  // Redis answers this for every allocator but jemalloc.
  ctx.reply.Bulk("Stats not supported for the current allocator");
}

void MemoryHelp(CommandContext& ctx, Args) {
  ReplyHelp(ctx, "MEMORY",
            {"DOCTOR", "    Return memory problems reports.", "MALLOC-STATS",
             "    Return internal statistics report from the memory allocator.", "PURGE",
             "    Attempt to purge dirty pages for reclamation by the allocator.", "STATS",
             "    Return information about the memory usage of the server.",
             "USAGE <key> [SAMPLES <count>]",
             "    Return memory in bytes used by <key> and its value. Nested values are",
             "    sampled up to <count> times (default: 5, 0 means sample all)."});
}

void MemoryParent(CommandContext& ctx, Args args) {
  ctx.reply.Error(errors::UnknownSubcommand("MEMORY", args.size() > 1 ? args[1] : ""));
}

CommandSpec Sub(std::string name, int arity, uint32_t flags, Handler h, std::string_view summary,
                int first = 0) {
  return CommandSpec{.name = std::move(name),
                     .arity = arity,
                     .flags = flags,
                     .first_key = first,
                     .last_key = first,
                     .key_step = first ? 1 : 0,
                     .handler = h,
                     .group = "server",
                     .summary = summary,
                     .since = "4.0.0"};
}

CommandSpec FanOutSub(std::string name, FanOutFn fn, std::string_view summary) {
  return CommandSpec{.name = std::move(name),
                     .arity = 2,
                     .flags = kCmdAllShards,
                     .fan_out = fn,
                     .group = "server",
                     .summary = summary,
                     .since = "4.0.0"};
}

}  // namespace

void RegisterMemoryFamily(CommandTable& t) {
  CommandSpec memory =
      Sub("memory", -2, 0, MemoryParent, "A container for memory diagnostics commands");
  memory.subcommands = {
      FanOutSub("memory|doctor", MemoryDoctor, "Outputs memory problems report"),
      Sub("memory|help", 2, kCmdLoading | kCmdStale, MemoryHelp,
          "Show helpful text about the different subcommands"),
      Sub("memory|malloc-stats", 2, 0, MemoryMallocStats, "Show allocator internal stats"),
      Sub("memory|purge", 2, 0, MemoryPurge, "Ask the allocator to release memory"),
      FanOutSub("memory|stats", MemoryStats, "Show memory usage details"),
      Sub("memory|usage", -3, kCmdReadonly, MemoryUsage, "Estimate the memory usage of a key", 2),
  };
  t.Register(std::move(memory));
}

}  // namespace shardnode::node
