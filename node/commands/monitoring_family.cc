// The operators' commands over what the node records (node/server/
// monitoring.h): SLOWLOG, LATENCY and MONITOR, with Redis 7.0.15's replies.
#include <iterator>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/config/options.h"
#include "node/keyspace/types/type_util.h"
#include "node/resp/reply.h"
#include "node/server/monitoring.h"
#include "node/server/node_services.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

int64_t NowSec(const CommandContext& ctx) { return ctx.now_ms / 1000; }

// ---- SLOWLOG

void SlowlogGet(CommandContext& ctx, Args args) {
  const SlowLog& log = ctx.node.monitoring().slowlog;
  int64_t count = 10;
  if (args.size() == 3) {
    if (!types::ParseInt64(args[2], &count) || count < -1) {
      ctx.reply.Error("ERR count should be greater than or equal to -1");
      return;
    }
    if (count == -1) count = static_cast<int64_t>(log.size());
  } else if (args.size() > 3) {
    ctx.reply.Error(errors::SubcommandSyntax(args[0], args[1]));
    return;
  }
  const std::vector<const SlowLogEntry*> entries = log.Newest(static_cast<size_t>(count));
  ctx.reply.ArrayHeader(entries.size());
  for (const SlowLogEntry* e : entries) {
    ctx.reply.ArrayHeader(6);
    ctx.reply.Integer(static_cast<int64_t>(e->id));
    ctx.reply.Integer(e->time_sec);
    ctx.reply.Integer(e->duration_us);
    ctx.reply.ArrayHeader(e->args.size());
    for (const std::string& a : e->args) ctx.reply.Bulk(a);
    ctx.reply.Bulk(e->client_addr);
    ctx.reply.Bulk(e->client_name);
  }
}

void SlowlogLen(CommandContext& ctx, Args) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.node.monitoring().slowlog.size()));
}

void SlowlogReset(CommandContext& ctx, Args) {
  ctx.node.monitoring().slowlog.Reset();
  ctx.reply.Ok();
}

void SlowlogHelp(CommandContext& ctx, Args) {
  ReplyHelp(ctx, "SLOWLOG",
            {"GET [<count>]",
             "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
             "    Entries are made of:",
             "    id, timestamp, time in microseconds, arguments array, client IP and port,",
             "    client name", "LEN", "    Return the length of the slowlog.", "RESET",
             "    Reset the slowlog."});
}

// ---- LATENCY

void LatencyLatest(CommandContext& ctx, Args) {
  const auto& events = ctx.node.monitoring().latency.events();
  ctx.reply.ArrayHeader(events.size());
  for (const auto& [name, series] : events) {
    const LatencySample& last = series.Latest();
    ctx.reply.ArrayHeader(4);
    ctx.reply.Bulk(name);
    ctx.reply.Integer(last.time_sec);
    ctx.reply.Integer(last.latency_ms);
    ctx.reply.Integer(series.max_ms);
  }
}

void LatencyHistory(CommandContext& ctx, Args args) {
  const LatencyMonitor::Series* series = ctx.node.monitoring().latency.Find(args[2]);
  if (series == nullptr) {
    ctx.reply.ArrayHeader(0);
    return;
  }
  const std::vector<LatencySample> samples = series->History();
  ctx.reply.ArrayHeader(samples.size());
  for (const LatencySample& s : samples) {
    ctx.reply.ArrayHeader(2);
    ctx.reply.Integer(s.time_sec);
    ctx.reply.Integer(s.latency_ms);
  }
}

void LatencyReset(CommandContext& ctx, Args args) {
  LatencyMonitor& latency = ctx.node.monitoring().latency;
  if (args.size() == 2) {
    ctx.reply.Integer(latency.Reset());
    return;
  }
  int resets = 0;
  for (size_t i = 2; i < args.size(); ++i) {
    if (!args[i].empty()) resets += latency.Reset(args[i]);
  }
  ctx.reply.Integer(resets);
}

void LatencyGraph(CommandContext& ctx, Args args) {
  const LatencyMonitor::Series* series = ctx.node.monitoring().latency.Find(args[2]);
  if (series == nullptr) {
    ctx.reply.Error(absl::StrCat("ERR No samples available for event '", args[2], "'"));
    return;
  }
  ctx.reply.Verbatim(LatencyMonitor::Graph(args[2], *series, NowSec(ctx)));
}

void LatencyDoctor(CommandContext& ctx, Args) {
  ctx.reply.Verbatim(ctx.node.monitoring().latency.Doctor(
      NowSec(ctx), ctx.node.options().latency_monitor_threshold));
}

// One command's LATENCY HISTOGRAM entry: its name, then a map of calls and
// the cumulative buckets.
void ReplyHistogram(CommandContext& ctx, const CommandSpec& spec) {
  const LatencyHistogram h = ctx.node.TotalCommandStats(spec.stats_index).histogram;
  ctx.reply.Bulk(spec.name);
  ctx.reply.MapHeader(2);
  ctx.reply.Bulk("calls");
  ctx.reply.Integer(static_cast<int64_t>(h.total()));
  ctx.reply.Bulk("histogram_usec");
  const auto buckets = h.CumulativeBuckets();
  ctx.reply.MapHeader(buckets.size());
  for (const auto& [usec, count] : buckets) {
    ctx.reply.Integer(usec);
    ctx.reply.Integer(static_cast<int64_t>(count));
  }
}

void CollectWithData(const NodeServices& node, const CommandSpec& spec, bool with_subs,
                     std::vector<const CommandSpec*>& out) {
  if (node.TotalCommandStats(spec.stats_index).histogram.total() > 0) out.push_back(&spec);
  if (!with_subs) return;
  for (const CommandSpec& sub : spec.subcommands) CollectWithData(node, sub, false, out);
}

void LatencyHistogramCmd(CommandContext& ctx, Args args) {
  std::vector<const CommandSpec*> specs;
  if (args.size() == 2) {
    for (const auto& spec : ctx.node.commands().all())
      CollectWithData(ctx.node, *spec, true, specs);
  } else {
    for (size_t i = 2; i < args.size(); ++i) {
      // "parent|sub" names one subcommand; an unknown name is skipped.
      const std::string_view name = args[i];
      const size_t bar = name.find('|');
      const CommandSpec* spec = ctx.node.commands().Find(name.substr(0, bar));
      if (spec != nullptr && bar != std::string_view::npos) {
        spec = CommandTable::FindSub(*spec, name.substr(bar + 1));
      }
      if (spec != nullptr) CollectWithData(ctx.node, *spec, bar == std::string_view::npos, specs);
    }
  }
  ctx.reply.MapHeader(specs.size());
  for (const CommandSpec* spec : specs) ReplyHistogram(ctx, *spec);
}

void LatencyHelp(CommandContext& ctx, Args) {
  ReplyHelp(ctx, "LATENCY",
            {"DOCTOR", "    Return a human readable latency analysis report.", "GRAPH <event>",
             "    Return an ASCII latency graph for the <event> class.", "HISTORY <event>",
             "    Return time-latency samples for the <event> class.", "LATEST",
             "    Return the latest latency samples for all events.", "RESET [<event> ...]",
             "    Reset latency data of one or more <event> classes.",
             "    (default: reset all data for all event classes)", "HISTOGRAM [COMMAND ...]",
             "    Return a cumulative distribution of latencies in the format of a histogram for "
             "the specified command names.",
             "    If no commands are specified then all histograms are replied."});
}

// ---- MONITOR

void Monitor(CommandContext& ctx, Args) {
  Session& s = ctx.session;
  if (s.deny_blocking) {  // inside EXEC
    ctx.reply.Error("ERR MONITOR isn't allowed for DENY BLOCKING client");
    return;
  }
  // A replica (or a client already monitoring) is left as it is.
  if (s.replica || s.monitor) return;
  s.monitor = true;
  ctx.node.monitoring().monitors.push_back(s.id);
  ctx.reply.Ok();
}

void ContainerHelp(CommandContext& ctx, Args) { ctx.reply.Error(errors::kUnexpectedHelp); }

}  // namespace

void RegisterMonitoringFamily(CommandTable& t) {
  constexpr uint32_t kAdminLs = kCmdAdmin | kCmdLoading | kCmdStale;
  constexpr uint32_t kAdminNs = kCmdAdmin | kCmdNoScript | kCmdLoading | kCmdStale;
  CommandSpec slowlog{.name = "slowlog",
                      .arity = -2,
                      .handler = ContainerHelp,
                      .group = "server",
                      .summary = "A container for slow log commands",
                      .since = "2.2.12"};
  slowlog.subcommands = {
      SubcommandSpec("slowlog", "get", -2, kAdminLs, SlowlogGet, "server"),
      SubcommandSpec("slowlog", "help", 2, kCmdLoading | kCmdStale, SlowlogHelp, "server"),
      SubcommandSpec("slowlog", "len", 2, kAdminLs, SlowlogLen, "server"),
      SubcommandSpec("slowlog", "reset", 2, kAdminLs, SlowlogReset, "server"),
  };
  t.Register(std::move(slowlog));
  CommandSpec latency{.name = "latency",
                      .arity = -2,
                      .handler = ContainerHelp,
                      .group = "server",
                      .summary = "A container for latency diagnostics commands",
                      .since = "2.8.13"};
  latency.subcommands = {
      SubcommandSpec("latency", "doctor", 2, kAdminNs, LatencyDoctor, "server"),
      SubcommandSpec("latency", "graph", 3, kAdminNs, LatencyGraph, "server"),
      SubcommandSpec("latency", "help", 2, kCmdLoading | kCmdStale, LatencyHelp, "server"),
      SubcommandSpec("latency", "histogram", -2, kAdminNs, LatencyHistogramCmd, "server"),
      SubcommandSpec("latency", "history", 3, kAdminNs, LatencyHistory, "server"),
      SubcommandSpec("latency", "latest", 2, kAdminNs, LatencyLatest, "server"),
      SubcommandSpec("latency", "reset", -2, kAdminNs, LatencyReset, "server"),
  };
  t.Register(std::move(latency));
  t.Register({.name = "monitor",
              .arity = 1,
              .flags = kAdminNs,
              .handler = Monitor,
              .group = "server",
              .summary = "Listen for all requests received by the server in real time",
              .since = "1.0.0"});
}

}  // namespace shardnode::node
