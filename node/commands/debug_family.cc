// DEBUG: SLEEP, DROP-CLUSTER-PACKET-FILTER, SEGFAULT, CLUSTERLINK KILL and
// HELP here; the dataset's subcommands (RELOAD, POPULATE, DIGEST...) are
// persist_family.cc's (PersistDebug).
#include <signal.h>
#include <sys/mman.h>

#include <cstdint>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "clusterbus/bus_engine.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/persist_family.h"
#include "node/config/options.h"
#include "node/resp/reply.h"
#include "node/server/cluster_setup.h"
#include "node/server/node_services.h"
#include "node/server/shard.h"

namespace shardnode::node {
namespace {

// DEBUG CLUSTERLINK KILL <to|from|all> <node-id>.
void DebugClusterLinkKill(CommandContext& ctx, const std::string& dir, const std::string& id) {
  clusterbus::ClusterState* cluster = ctx.node.cluster();
  if (!cluster || !ctx.node.cluster_bus()) {
    ctx.reply.Error(errors::kDebugClusterOnly);
    return;
  }
  clusterbus::ClusterNode* node = cluster->FindNode(id);
  if (!node) {
    ctx.reply.Error(errors::UnknownNode(id));
    return;
  }
  const std::string d = absl::AsciiStrToLower(dir);
  if (d != "to" && d != "from" && d != "all") {
    ctx.reply.Error(errors::UnknownDirection(dir));
    return;
  }
  ctx.node.cluster_bus()->engine().KillLinks(*node, d != "from", d != "to");
  ctx.node.ApplyClusterEffects(ctx.now_ms);
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
    ctx.node.Sleep(static_cast<int64_t>(secs * 1000));
    ctx.reply.Ok();
  } else if (sub == "drop-cluster-packet-filter" && args.size() == 3) {
    int64_t type = 0;
    if (!absl::SimpleAtoi(args[2], &type) || type < INT32_MIN || type > INT32_MAX) {
      ctx.reply.Error(errors::kNotInteger);
      return;
    }
    if (ctx.node.cluster_bus()) {
      ctx.node.cluster_bus()->engine().set_drop_filter(static_cast<int>(type));
    }
    ctx.reply.Ok();
  } else if (sub == "pause-cron" && args.size() == 3) {
    // As Redis: atoi's value, anything but a non-zero number resumes it.
    int64_t paused = 0;
    if (!absl::SimpleAtoi(args[2], &paused)) paused = 0;
    ctx.node.set_cron_paused(paused != 0);
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
        "PAUSE-CRON <0|1>",
        "    Stop periodic cron job processing.",
        "SEGFAULT",
        "    Crash the server with sigsegv.",
        "SLEEP <seconds>",
        "    Stop the server for <seconds>. Decimals allowed.",
        "HELP",
        "    Print this help."};
    ctx.reply.ArrayHeader(std::size(kLines));
    for (const char* line : kLines) ctx.reply.SimpleString(line);
  } else {
    ctx.reply.Error(errors::SubcommandSyntax(args[0], args[1]));
  }
}

}  // namespace

void RegisterDebugFamily(CommandTable& t) {
  constexpr uint32_t kConn = kCmdNoScript | kCmdLoading | kCmdStale;
  t.Register({.name = "debug",
              .arity = -2,
              // POPULATE and DIGEST-VALUE reach keys that no key spec names:
              // the context is granted every shard.
              .flags = kCmdAdmin | kConn | kCmdAllShards,
              .handler = Debug,
              .group = "server",
              .summary = "A container for debugging commands",
              .since = "1.0.0"});
}

}  // namespace shardnode::node
