// DEBUG: OBJECT, PROTOCOL, REPLICATE, SLEEP, DROP-CLUSTER-PACKET-FILTER, SEGFAULT, CLUSTERLINK KILL
// and HELP here; the dataset's subcommands (RELOAD, POPULATE, DIGEST...) are persist_family.cc's
// (PersistDebug).
#include <signal.h>
#include <sys/mman.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "clusterbus/bus_engine.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/object_refcount.h"
#include "node/commands/persist_family.h"
#include "node/config/config.h"
#include "node/config/options.h"
#include "node/keyspace/db.h"
#include "node/keyspace/eviction.h"
#include "node/keyspace/types/list_object.h"
#include "node/persist/dataset.h"
#include "node/resp/reply.h"
#include "node/server/cluster_setup.h"
#include "node/server/log.h"
#include "node/server/node_services.h"
#include "node/server/replication_control.h"
#include "node/server/shard.h"
#include "replication/rdb.h"

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

// DEBUG OBJECT <key>: Redis's status line about the value. The key is looked
// up without the clock (an expired key not yet deleted is shown);
// serializedlength is the RDB encoding's size (a DUMP payload less its type
// byte, version and checksum).
void DebugObject(CommandContext& ctx, const std::string& key) {
  Db& db = ctx.DbFor(key);
  const Entry* e = db.Find(key, std::numeric_limits<int64_t>::min(), false);
  if (e == nullptr) {
    ctx.reply.Error(errors::kNoSuchKey);
    return;
  }
  const Value& v = e->value();
  replication::RdbWriterOptions o;
  o.compression = ctx.node.options().rdbcompression;
  const size_t dumped = replication::DumpPayload(persist::ToRdbValue(v), o).size();
  const size_t serialized = dumped > 11 ? dumped - 11 : 0;
  std::string extra;
  if (const auto* list = dynamic_cast<const ListObject*>(v.object())) {
    const size_t nodes = list->node_count();
    absl::StrAppendFormat(
        &extra, " ql_nodes:%u ql_avg_node:%.2f ql_listpack_max:%d ql_compressed:%d", nodes,
        nodes == 0 ? 0.0 : static_cast<double>(list->Size()) / static_cast<double>(nodes),
        static_cast<int>(ctx.node.config().IntValue("list-max-listpack-size", -2)),
        ctx.node.config().IntValue("list-compress-depth", 0) != 0 ? 1 : 0);
    absl::StrAppend(&extra, " ql_uncompressed_size:", list->PackedBytes());
  }
  ctx.reply.SimpleString(absl::StrFormat(
      "Value at:%p refcount:%d encoding:%s serializedlength:%u lru:%u lru_seconds_idle:%u%s",
      static_cast<const void*>(&v), ValueRefCount(ctx, v), std::string(v.EncodingName()),
      serialized, e->lru(), LruIdleMs(e->lru(), ctx.now_ms) / 1000, extra));
}

// DEBUG PROTOCOL <type>: one reply of each RESP type, for client tests.
void DebugProtocol(CommandContext& ctx, const std::string& type) {
  resp::ReplyBuilder& r = ctx.reply;
  const bool resp3 = r.protocol() >= 3;
  const std::string t = absl::AsciiStrToLower(type);
  if (t == "string") {
    r.Bulk("Hello World");
  } else if (t == "integer") {
    r.Integer(12345);
  } else if (t == "double") {
    r.Double(3.141);
  } else if (t == "bignum") {
    constexpr char kBig[] = "1234567999999999999999999999999999999";
    if (resp3) {
      r.Raw(absl::StrCat("(", kBig, "\r\n"));
    } else {
      r.Bulk(kBig);
    }
  } else if (t == "null") {
    r.NullBulk();
  } else if (t == "array" || t == "set") {
    if (t == "array") {
      r.ArrayHeader(3);
    } else {
      r.SetHeader(3);
    }
    for (int j = 0; j < 3; ++j) r.Integer(j);
  } else if (t == "map") {
    r.MapHeader(3);
    for (int j = 0; j < 3; ++j) {
      r.Integer(j);
      r.Bool(j == 1);
    }
  } else if (t == "attrib") {
    // An attribute is no reply of its own: a real one follows it.
    if (resp3) {
      r.Raw("|1\r\n");
      r.Bulk("key-popularity");
      r.ArrayHeader(2);
      r.Bulk("key:123");
      r.Integer(90);
    }
    r.Bulk("Some real reply following the attribute");
  } else if (t == "push") {
    if (!resp3) {
      r.Error("ERR RESP2 is not supported by this command");
      return;
    }
    {
      resp::ReplyBuilder::PushScope pushing(r);  // a push even under CLIENT REPLY OFF
      r.PushHeader(2);
      r.Bulk("server-cpu-usage");
      r.Integer(42);
    }
    r.Bulk("Some real reply following the push reply");
  } else if (t == "true" || t == "false") {
    r.Bool(t == "true");
  } else if (t == "verbatim") {
    r.Verbatim("This is a verbatim\nstring", "txt");
  } else {
    r.Error(
        "ERR Wrong protocol type name. Please use one of the following: "
        "string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false");
  }
}

}  // namespace

// DEBUG's entry point, named as Redis's and with external linkage so that
// its frame is named in the crash report's and the watchdog's stack traces
// as in Redis's (what operators and Redis's integration/logging look for).
void debugCommand(CommandContext& ctx, Args args);
void debugCommand(CommandContext& ctx, Args args) {
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
  } else if (sub == "replicate" && args.size() >= 3) {
    if (ReplicationControl* repl = ctx.node.replication()) {
      repl->FeedReplicas(std::vector<std::string>(args.begin() + 2, args.end()));
    }
    ctx.reply.Ok();
  } else if (sub == "protocol" && args.size() == 3) {
    DebugProtocol(ctx, args[2]);
  } else if (sub == "object" && args.size() == 3) {
    DebugObject(ctx, args[2]);
  } else if (sub == "set-disable-deny-scripts" && args.size() == 3) {
    // As Redis: atoi's value.
    int64_t allow = 0;
    if (!absl::SimpleAtoi(args[2], &allow)) allow = 0;
    ctx.node.set_script_allows_noscript(allow != 0);
    ctx.reply.Ok();
  } else if (sub == "pause-cron" && args.size() == 3) {
    // As Redis: atoi's value, anything but a non-zero number resumes it.
    int64_t paused = 0;
    if (!absl::SimpleAtoi(args[2], &paused)) paused = 0;
    ctx.node.set_cron_paused(paused != 0);
    ctx.reply.Ok();
  } else if (sub == "config-rewrite-force-all" && args.size() == 2) {
    // CONFIG REWRITE writing every directive, defaults included.
    const absl::Status status = ctx.node.config().Rewrite({}, {}, /*force_all=*/true);
    if (status.ok()) {
      ctx.reply.Ok();
    } else {
      ctx.reply.Error(absl::StrCat("ERR CONFIG-REWRITE-FORCE-ALL failed: ", status.message()));
    }
  } else if (sub == "replybuffer" && args.size() == 4) {
    const std::string what = absl::AsciiStrToLower(args[2]);
    if (what == "peak-reset-time") {
      int64_t ms = 5000;  // "reset": Redis's default
      if (absl::EqualsIgnoreCase(args[3], "never")) {
        ms = -1;
      } else if (!absl::EqualsIgnoreCase(args[3], "reset") && !absl::SimpleAtoi(args[3], &ms)) {
        ctx.reply.Error(errors::kNotInteger);
        return;
      }
      ctx.node.set_reply_buffer_peak_reset_ms(ms);
    } else if (what == "resizing") {
      // As Redis: atoi's value.
      int64_t on = 0;
      if (!absl::SimpleAtoi(args[3], &on)) on = 0;
      ctx.node.set_reply_buffer_resizing(on != 0);
    } else {
      ctx.reply.Error(errors::SubcommandSyntax(args[0], args[1]));
      return;
    }
    ctx.reply.Ok();
  } else if (sub == "set-skip-checksum-validation" && args.size() == 3) {
    // As Redis: atoi's value.
    int64_t skip = 0;
    if (!absl::SimpleAtoi(args[2], &skip)) skip = 0;
    ctx.node.set_skip_checksum_validation(skip != 0);
    ctx.reply.Ok();
  } else if (sub == "log" && args.size() == 3) {
    Logf(LogLevel::kWarning, "DEBUG LOG: %s", args[2]);
    ctx.reply.Ok();
  } else if (sub == "quicklist-packed-threshold" && args.size() == 3) {
    const std::optional<uint64_t> bytes = ParseMemory(args[2]);
    if (!bytes || !ListObject::SetPackedThreshold(static_cast<size_t>(*bytes))) {
      ctx.reply.Error("ERR argument must be a memory value bigger than 1 and smaller than 4gb");
      return;
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
        "CONFIG-REWRITE-FORCE-ALL",
        "    Like CONFIG REWRITE but writes all configuration options, including",
        "    keywords not listed in original configuration file or default values.",
        "DROP-CLUSTER-PACKET-FILTER <packet-type>",
        "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
        "LOG <message>",
        "    Write <message> to the server log.",
        "OBJECT <key>",
        "    Show low level info about the `key` and associated value.",
        "PROTOCOL <type>",
        "    Reply with a test value of the specified type. <type> can be: string,",
        "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
        "    true, false.",
        "QUICKLIST-PACKED-THRESHOLD <size>",
        "    Sets the threshold for elements to be inserted as plain vs packed nodes",
        "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
        "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
        "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
        "    In case NEVER is provided the last observed peak will never be reset",
        "    In case RESET is provided the peak reset time will be restored to the default value",
        "REPLYBUFFER RESIZING <0|1>",
        "    Enable or disable the reply buffer resize cron job",
        "REPLICATE <command> [<arg> ...]",
        "    Send the command to the replicas only (the data set is left alone).",
        "PAUSE-CRON <0|1>",
        "    Stop periodic cron job processing.",
        "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
        "    Enables or disables checksum checks for RESTORE's payload.",
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

void RegisterDebugFamily(CommandTable& t) {
  constexpr uint32_t kConn = kCmdNoScript | kCmdLoading | kCmdStale;
  t.Register({.name = "debug",
              .arity = -2,
              // POPULATE and DIGEST-VALUE reach keys that no key spec names:
              // the context is granted every shard.
              .flags = kCmdAdmin | kConn | kCmdAllShards | kCmdProtected,
              .handler = debugCommand,
              .group = "server",
              .summary = "A container for debugging commands",
              .since = "1.0.0"});
}

}  // namespace shardnode::node
