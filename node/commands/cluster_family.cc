// CLUSTER and the cluster session commands (READONLY, READWRITE, ASKING).
// The handlers parse arguments, call the pure clusterbus::ClusterState and
// encode its answers; ApplyClusterEffects then logs and saves nodes.conf.
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/strings.h"
#include "clusterbus/bus_engine.h"
#include "clusterbus/cluster_state.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/fan_out.h"
#include "node/config/options.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/resp/reply.h"
#include "node/server/cluster_setup.h"
#include "node/server/node_services.h"
#include "node/server/replication_control.h"
#include "node/server/session.h"
#include "node/server/shard.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

using clusterbus::ClusterNode;
using clusterbus::ClusterState;
using slots::SlotRange;

// Redis's string2ll.
bool ParseLL(std::string_view s, int64_t* out) { return base::ParseStrictInt64(s, out); }

// getSlotOrReply: -1 when not a slot number.
int ParseSlotArg(std::string_view s) {
  int64_t v;
  if (!ParseLL(s, &v) || v < 0 || v >= slots::kNumSlots) return -1;
  return static_cast<int>(v);
}

bool EqualsNoCase(std::string_view a, std::string_view b) { return base::EqualsIgnoreCase(a, b); }

// The cluster, or nullptr after replying the "disabled" error.
ClusterState* ClusterOrReply(CommandContext& ctx) {
  ClusterState* c = ctx.node.cluster();
  if (!c) ctx.reply.Error(errors::kClusterDisabled);
  return c;
}

void ReplyStatus(CommandContext& ctx, const absl::Status& st) {
  if (st.ok()) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(errors::Err(st));
  }
  ctx.node.ApplyClusterEffects(ctx.now_ms);
}

void SyntaxShapeError(CommandContext& ctx, std::string_view sub) {
  ctx.reply.Error(errors::SubcommandSyntax("CLUSTER", sub));
}

uint64_t KeysInSlot(CommandContext& ctx, int slot) {
  return ctx.DbForSlot(slot).CountKeysInSlot(slot);
}

// The subcommands that need to know whether this node holds keys (FLUSHSLOTS,
// RESET, REPLICATE) run as a fan-out that counts database 0 on every shard,
// then run `Then` with the count (fan_out.h).
using WithKeysInDb0 = void (*)(CommandContext& ctx, Args args, uint64_t keys);

template <WithKeysInDb0 Then>
class KeysInDb0FanOut : public FanOut {
 public:
  KeysInDb0FanOut(Args args, int num_shards) : args_(args), counts_(num_shards) {}
  void Step(ShardStep& shard) override { counts_[shard.index()] = shard.keyspace().db(0).Size(); }
  ShardList Merge(CommandContext& ctx) override {
    uint64_t n = 0;
    for (uint64_t c : counts_) n += c;
    Then(ctx, args_, n);
    return {};
  }

 private:
  Args args_;                     // the command's, valid while it runs
  std::vector<uint64_t> counts_;  // by shard
};

template <WithKeysInDb0 Then>
std::unique_ptr<FanOut> CountKeysInDb0Then(CommandContext& ctx, Args args) {
  return std::make_unique<KeysInDb0FanOut<Then>>(args, ctx.shard.num_keyspaces());
}

// ---- Read-only subcommands -------------------------------------------------

void ClusterHelp(CommandContext& ctx, Args) {
  if (!ClusterOrReply(ctx)) return;
  static const char* kLines[] = {
      "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
      "ADDSLOTS <slot> [<slot> ...]",
      "    Assign slots to current node.",
      "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
      "    Assign slots which are between <start-slot> and <end-slot> to current node.",
      "BUMPEPOCH",
      "    Advance the cluster config epoch.",
      "COUNT-FAILURE-REPORTS <node-id>",
      "    Return number of failure reports for <node-id>.",
      "COUNTKEYSINSLOT <slot>",
      "    Return the number of keys in <slot>.",
      "DELSLOTS <slot> [<slot> ...]",
      "    Delete slots information from current node.",
      "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
      "    Delete slots information which are between <start-slot> and <end-slot> from current "
      "node.",
      "FAILOVER [FORCE|TAKEOVER]",
      "    Promote current replica node to being a master.",
      "FORGET <node-id>",
      "    Remove a node from the cluster.",
      "GETKEYSINSLOT <slot> <count>",
      "    Return key names stored by current node in a slot.",
      "FLUSHSLOTS",
      "    Delete current node own slots information.",
      "INFO",
      "    Return information about the cluster.",
      "KEYSLOT <key>",
      "    Return the hash slot for <key>.",
      "MEET <ip> <port> [<bus-port>]",
      "    Connect nodes into a working cluster.",
      "MYID",
      "    Return the node id.",
      "NODES",
      "    Return cluster configuration seen by node. Output format:",
      "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> <slot> ...",
      "REPLICATE <node-id>",
      "    Configure current node as replica to <node-id>.",
      "RESET [HARD|SOFT]",
      "    Reset current node (default: soft).",
      "SET-CONFIG-EPOCH <epoch>",
      "    Set config epoch of current node.",
      "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE <node-id>)",
      "    Set slot state.",
      "REPLICAS <node-id>",
      "    Return <node-id> replicas.",
      "SAVECONFIG",
      "    Force saving cluster configuration on disk.",
      "SLOTS",
      "    Return information about slots range mappings. Each range is made of:",
      "    start, end, master and replicas IP addresses, ports and ids",
      "SHARDS",
      "    Return information about slot range mappings and the nodes associated with them.",
      "LINKS",
      "    Return information about all network links between this node and its peers.",
      "    Output format is an array where each array element is a map containing attributes of "
      "a link",
      "HELP",
      "    Print this help.",
  };
  ctx.reply.ArrayHeader(std::size(kLines));
  for (const char* line : kLines) ctx.reply.SimpleString(line);
}

void ClusterMyId(CommandContext& ctx, Args) {
  if (ClusterState* c = ClusterOrReply(ctx)) ctx.reply.Bulk(c->myself().id);
}

// Under tls-cluster the nodes announce their TLS port; a client on the
// plain port is shown the plain ports (pport) instead, as Redis does.
bool UsePlainPorts(const CommandContext& ctx) {
  return ctx.node.options().tls_cluster && !ctx.session.tls;
}

void ClusterNodes(CommandContext& ctx, Args) {
  if (ClusterState* c = ClusterOrReply(ctx)) {
    ctx.reply.Verbatim(c->NodesText(true, UsePlainPorts(ctx)));
  }
}

void ClusterInfo(CommandContext& ctx, Args) {
  if (ClusterState* c = ClusterOrReply(ctx)) ctx.reply.Verbatim(c->InfoText());
}

// Redis never gossips its own offset into its table: SLOTS (is a replica
// available?) and SHARDS (replication-offset, health) read it from
// replication.
void RefreshMyReplOffset(CommandContext& ctx, ClusterState& c) {
  if (ctx.node.replication())
    c.myself().repl_offset = ctx.node.replication()->cluster_repl_offset();
}

void ReplyNodeForSlots(CommandContext& ctx, const ClusterState& c, const ClusterNode& n) {
  const auto type = c.options().preferred_endpoint;
  ctx.reply.ArrayHeader(4);
  if (type == clusterbus::PreferredEndpoint::kUnknown) {
    ctx.reply.NullBulk();
  } else {
    ctx.reply.Bulk(c.Endpoint(n));
  }
  ctx.reply.Integer(UsePlainPorts(ctx) && n.pport ? n.pport : n.port);
  ctx.reply.Bulk(n.id);
  const bool with_ip = type != clusterbus::PreferredEndpoint::kIp;
  const bool with_host = type != clusterbus::PreferredEndpoint::kHostname && !n.hostname.empty();
  ctx.reply.MapHeader((with_ip ? 1 : 0) + (with_host ? 1 : 0));
  if (with_ip) {
    ctx.reply.Bulk("ip");
    ctx.reply.Bulk(n.ip);
  }
  if (with_host) {
    ctx.reply.Bulk("hostname");
    ctx.reply.Bulk(n.hostname);
  }
}

void ClusterSlots(CommandContext& ctx, Args) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  RefreshMyReplOffset(ctx, *c);
  std::vector<clusterbus::SlotsEntry> entries = c->SlotsReply();
  ctx.reply.ArrayHeader(entries.size());
  for (const clusterbus::SlotsEntry& e : entries) {
    ctx.reply.ArrayHeader(2 + e.nodes.size());
    ctx.reply.Integer(e.start);
    ctx.reply.Integer(e.end);
    for (const ClusterNode* n : e.nodes) ReplyNodeForSlots(ctx, *c, *n);
  }
}

void ClusterShards(CommandContext& ctx, Args) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  RefreshMyReplOffset(ctx, *c);
  std::vector<clusterbus::ShardEntry> shards = c->ShardsReply();
  ctx.reply.ArrayHeader(shards.size());
  for (const clusterbus::ShardEntry& shard : shards) {
    ctx.reply.MapHeader(2);
    ctx.reply.Bulk("slots");
    ctx.reply.ArrayHeader(shard.ranges.size() * 2);
    for (const SlotRange& r : shard.ranges) {
      ctx.reply.Integer(r.start);
      ctx.reply.Integer(r.end);
    }
    ctx.reply.Bulk("nodes");
    ctx.reply.ArrayHeader(shard.nodes.size());
    for (const ClusterNode* n : shard.nodes) {
      const int64_t offset = n->repl_offset;
      // tls-cluster: port is the plain one (pport), tls-port the TLS one.
      const bool tls_cluster = ctx.node.options().tls_cluster;
      const int plain_port = tls_cluster ? n->pport : n->port;
      const int tls_port = tls_cluster ? n->port : 0;
      size_t fields = 6 + (plain_port ? 1 : 0) + (tls_port ? 1 : 0) + (n->hostname.empty() ? 0 : 1);
      ctx.reply.MapHeader(fields);
      ctx.reply.Bulk("id");
      ctx.reply.Bulk(n->id);
      if (plain_port) {
        ctx.reply.Bulk("port");
        ctx.reply.Integer(plain_port);
      }
      if (tls_port) {
        ctx.reply.Bulk("tls-port");
        ctx.reply.Integer(tls_port);
      }
      ctx.reply.Bulk("ip");
      ctx.reply.Bulk(n->ip);
      ctx.reply.Bulk("endpoint");
      std::string endpoint = c->Endpoint(*n);
      ctx.reply.Bulk(c->options().preferred_endpoint == clusterbus::PreferredEndpoint::kUnknown
                         ? "?"
                         : endpoint);
      if (!n->hostname.empty()) {
        ctx.reply.Bulk("hostname");
        ctx.reply.Bulk(n->hostname);
      }
      ctx.reply.Bulk("role");
      ctx.reply.Bulk(n->is_replica() ? "replica" : "master");
      ctx.reply.Bulk("replication-offset");
      ctx.reply.Integer(offset);
      ctx.reply.Bulk("health");
      ctx.reply.Bulk(n->failed()                        ? "fail"
                     : (n->is_replica() && offset == 0) ? "loading"
                                                        : "online");
    }
  }
}

void ClusterLinks(CommandContext& ctx, Args) {
  if (!ClusterOrReply(ctx)) return;
  std::vector<BusLinkInfo> links;
  if (ctx.node.cluster_bus()) links = ctx.node.cluster_bus()->Links();
  ctx.reply.ArrayHeader(links.size());
  for (const BusLinkInfo& l : links) {
    ctx.reply.MapHeader(6);
    ctx.reply.Bulk("direction");
    ctx.reply.Bulk(l.outbound ? "to" : "from");
    ctx.reply.Bulk("node");
    ctx.reply.Bulk(l.node_id);
    ctx.reply.Bulk("create-time");
    ctx.reply.Integer(l.create_ms);
    ctx.reply.Bulk("events");
    ctx.reply.Bulk(l.events);
    ctx.reply.Bulk("send-buffer-allocated");
    ctx.reply.Integer(static_cast<int64_t>(l.send_buffer_allocated));
    ctx.reply.Bulk("send-buffer-used");
    ctx.reply.Integer(static_cast<int64_t>(l.send_buffer_used));
  }
}

void ClusterKeySlot(CommandContext& ctx, Args args) {
  if (ClusterOrReply(ctx)) ctx.reply.Integer(slots::KeyHashSlot(args[2]));
}

void ClusterCountKeysInSlot(CommandContext& ctx, Args args) {
  if (!ClusterOrReply(ctx)) return;
  int64_t slot;
  if (!ParseLL(args[2], &slot)) return ctx.reply.Error(errors::kNotInteger);
  if (slot < 0 || slot >= slots::kNumSlots) return ctx.reply.Error(errors::kInvalidSlotShort);
  // Keys an atomic migration is importing are not counted until the handoff.
  if (ctx.node.SlotHidden(static_cast<int>(slot))) return ctx.reply.Integer(0);
  ctx.reply.Integer(static_cast<int64_t>(KeysInSlot(ctx, static_cast<int>(slot))));
}

void ClusterGetKeysInSlot(CommandContext& ctx, Args args) {
  if (!ClusterOrReply(ctx)) return;
  int64_t slot, max;
  if (!ParseLL(args[2], &slot) || !ParseLL(args[3], &max)) {
    return ctx.reply.Error(errors::kNotInteger);
  }
  if (slot < 0 || slot >= slots::kNumSlots || max < 0) {
    return ctx.reply.Error(errors::kInvalidSlotOrCount);
  }
  std::vector<std::string> keys;
  if (!ctx.node.SlotHidden(static_cast<int>(slot))) {
    keys = ctx.DbForSlot(static_cast<int>(slot))
               .KeysInSlot(static_cast<int>(slot), static_cast<size_t>(max));
  }
  ctx.reply.ArrayHeader(keys.size());
  for (const std::string& k : keys) ctx.reply.Bulk(k);
}

void ClusterCountFailureReports(CommandContext& ctx, Args args) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  absl::StatusOr<int> n = c->CountFailureReports(args[2], ctx.now_ms);
  if (!n.ok()) return ctx.reply.Error(errors::Err(n.status()));
  ctx.reply.Integer(*n);
}

void ClusterReplicas(CommandContext& ctx, Args args) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  auto replicas = c->Replicas(args[2]);
  if (!replicas.ok()) {
    return ctx.reply.Error(errors::Err(replicas.status()));
  }
  ctx.reply.ArrayHeader(replicas->size());
  for (const ClusterNode* n : *replicas) ctx.reply.Bulk(c->NodeLine(*n, UsePlainPorts(ctx)));
}

// ---- Mutating subcommands --------------------------------------------------

void ChangeSlots(CommandContext& ctx, Args args, bool del) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  std::vector<SlotRange> ranges;
  for (size_t j = 2; j < args.size(); ++j) {
    int slot = ParseSlotArg(args[j]);
    if (slot < 0) return ctx.reply.Error(errors::kInvalidSlot);
    ranges.push_back({slot, slot});
  }
  ReplyStatus(ctx, c->ChangeSlots(ranges, del));
}

void ClusterAddSlots(CommandContext& ctx, Args args) { ChangeSlots(ctx, args, false); }
void ClusterDelSlots(CommandContext& ctx, Args args) { ChangeSlots(ctx, args, true); }

void ChangeSlotRanges(CommandContext& ctx, Args args, bool del) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  if (args.size() % 2 == 1) return ctx.reply.Error(ArityError(ctx.spec));
  std::vector<SlotRange> ranges;
  for (size_t j = 2; j < args.size(); j += 2) {
    int start = ParseSlotArg(args[j]);
    int end = start < 0 ? -1 : ParseSlotArg(args[j + 1]);
    if (start < 0 || end < 0) {
      // Redis checks each pair before parsing the next: earlier pairs'
      // errors win over this parse error.
      absl::Status st = c->ValidateSlotChanges(ranges, del);
      if (!st.ok()) return ctx.reply.Error(errors::Err(st));
      return ctx.reply.Error(errors::kInvalidSlot);
    }
    ranges.push_back({start, end});
  }
  ReplyStatus(ctx, c->ChangeSlots(ranges, del));
}

void ClusterAddSlotsRange(CommandContext& ctx, Args args) { ChangeSlotRanges(ctx, args, false); }
void ClusterDelSlotsRange(CommandContext& ctx, Args args) { ChangeSlotRanges(ctx, args, true); }

void ClusterFlushSlots(CommandContext& ctx, Args, uint64_t keys_in_db0) {
  if (ClusterState* c = ClusterOrReply(ctx)) ReplyStatus(ctx, c->FlushSlots(keys_in_db0 == 0));
}

// SETSLOT from my primary's replication stream: mirror it (Valkey 8 style,
// see ClusterState::MirrorPrimarySetSlot). The reply goes nowhere.
void MirrorSetSlot(CommandContext& ctx, ClusterState& c, Args args, int slot) {
  using Action = ClusterState::SetSlotAction;
  const std::string& action = args[3];
  std::string_view id = args.size() > 4 ? std::string_view(args[4]) : std::string_view();
  if (EqualsNoCase(action, "migrating") && args.size() == 5) {
    ReplyStatus(ctx, c.MirrorPrimarySetSlot(slot, Action::kMigrating, id, 0));
  } else if (EqualsNoCase(action, "importing") && args.size() == 5) {
    ReplyStatus(ctx, c.MirrorPrimarySetSlot(slot, Action::kImporting, id, 0));
  } else if (EqualsNoCase(action, "stable") && args.size() == 4) {
    ReplyStatus(ctx, c.MirrorPrimarySetSlot(slot, Action::kStable, id, 0));
  } else if (EqualsNoCase(action, "node") && args.size() == 5) {
    ReplyStatus(ctx, c.MirrorPrimarySetSlot(slot, Action::kNode, id, KeysInSlot(ctx, slot)));
  } else {
    ctx.reply.Error(errors::kSetSlotSyntax);
  }
}

void ClusterSetSlot(CommandContext& ctx, Args args) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  if (c->myself().is_replica() && !ctx.session.from_primary) {
    return ctx.reply.Error(errors::kSetSlotOnReplica);
  }
  // An atomic migration job owns its slots' states until it ends (Valkey
  // refuses every SETSLOT meanwhile, whatever the slot).
  if (std::string_view busy = ctx.node.SlotMigrationBusy(); !busy.empty()) {
    return ctx.reply.Error(absl::StrCat("ERR ", base::ToAbsl(busy)));
  }
  int slot = ParseSlotArg(args[2]);
  if (slot < 0) return ctx.reply.Error(errors::kInvalidSlot);
  if (c->myself().is_replica()) return MirrorSetSlot(ctx, *c, args, slot);
  const std::string& action = args[3];
  const bool was_primary = c->myself().is_primary();
  absl::Status st;
  if (EqualsNoCase(action, "migrating") && args.size() == 5) {
    st = c->SetSlotMigrating(slot, args[4]);
  } else if (EqualsNoCase(action, "importing") && args.size() == 5) {
    st = c->SetSlotImporting(slot, args[4]);
  } else if (EqualsNoCase(action, "stable") && args.size() == 4) {
    st = c->SetSlotStable(slot);
  } else if (EqualsNoCase(action, "node") && args.size() == 5) {
    st = c->SetSlotNode(slot, args[4], KeysInSlot(ctx, slot));
  } else {
    return ctx.reply.Error(errors::kSetSlotSyntax);
  }
  // What changed my view reaches my replicas, in stream order with the
  // keys MIGRATE moves (ReplicationControl::PropagateSetSlot says when).
  if (st.ok() && was_primary && ctx.node.replication() != nullptr &&
      ctx.node.replication()->PropagateSetSlot(
          ctx.session, ctx.now_ms, std::span<const std::string>(args.data(), args.size()))) {
    ctx.node.ApplyClusterEffects(ctx.now_ms);  // +OK once the replicas have it
    return;
  }
  ReplyStatus(ctx, st);
}

void ClusterBumpEpoch(CommandContext& ctx, Args) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  bool bumped = c->BumpEpochWithoutConsensus();
  ctx.reply.SimpleString(absl::StrCat(bumped ? "BUMPED " : "STILL ", c->myself().config_epoch));
  ctx.node.ApplyClusterEffects(ctx.now_ms);
}

void ClusterSetConfigEpoch(CommandContext& ctx, Args args) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  int64_t epoch;
  if (!ParseLL(args[2], &epoch)) return ctx.reply.Error(errors::kNotInteger);
  ReplyStatus(ctx, c->SetConfigEpoch(epoch));
}

// MEET ip port [cport]: the ports are parsed here (Redis's errors quote the
// argument as typed), the address checks and the handshake are the engine's.
void ClusterMeet(CommandContext& ctx, Args args) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  if (args.size() != 4 && args.size() != 5) return SyntaxShapeError(ctx, args[1]);
  int64_t port, cport;
  if (!ParseLL(args[3], &port)) {
    return ctx.reply.Error(errors::InvalidBasePort(args[3]));
  }
  if (args.size() == 5) {
    if (!ParseLL(args[4], &cport)) {
      return ctx.reply.Error(errors::InvalidBusPort(args[4]));
    }
  } else {
    cport = port + 10000;
  }
  const std::string invalid = errors::InvalidNodeAddress(args[2], args[3]);
  if (port <= 0 || port > 65535 || cport <= 0 || cport > 65535) {
    return ctx.reply.Error(invalid);
  }
  if (!ctx.node.cluster_bus()) return ctx.reply.Error(errors::kNoClusterBus);
  absl::Status st = ctx.node.cluster_bus()->engine().Meet(args[2], static_cast<int>(port),
                                                          static_cast<int>(cport), ctx.now_ms);
  if (st.ok()) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(invalid);
  }
  ctx.node.ApplyClusterEffects(ctx.now_ms);
}

// FAILOVER [FORCE|TAKEOVER]: the checks and the failover are the engine's.
void ClusterFailover(CommandContext& ctx, Args args) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  if (args.size() > 3) return SyntaxShapeError(ctx, args[1]);
  clusterbus::FailoverMode mode = clusterbus::FailoverMode::kDefault;
  if (args.size() == 3) {
    if (EqualsNoCase(args[2], "force")) {
      mode = clusterbus::FailoverMode::kForce;
    } else if (EqualsNoCase(args[2], "takeover")) {
      mode = clusterbus::FailoverMode::kTakeover;
    } else {
      return ctx.reply.Error(errors::kSyntax);
    }
  }
  if (!ctx.node.cluster_bus()) return ctx.reply.Error(errors::kNoClusterBus);
  ReplyStatus(ctx, ctx.node.cluster_bus()->engine().Failover(mode, ctx.now_ms));
}

void ClusterForget(CommandContext& ctx, Args args) {
  if (ClusterState* c = ClusterOrReply(ctx)) ReplyStatus(ctx, c->Forget(args[2], ctx.now_ms));
}

void ClusterReset(CommandContext& ctx, Args args, uint64_t keys_in_db0) {
  ClusterState* c = ClusterOrReply(ctx);
  if (!c) return;
  if (args.size() > 3) return SyntaxShapeError(ctx, args[1]);
  bool hard = false;
  if (args.size() == 3) {
    if (EqualsNoCase(args[2], "hard")) {
      hard = true;
    } else if (!EqualsNoCase(args[2], "soft")) {
      return ctx.reply.Error(errors::kSyntax);
    }
  }
  ReplyStatus(ctx, c->Reset(hard, keys_in_db0 != 0, RandomHexId()));
}

void ClusterReplicate(CommandContext& ctx, Args args, uint64_t keys_in_db0) {
  if (ClusterState* c = ClusterOrReply(ctx)) {
    ReplyStatus(ctx, c->Replicate(args[2], keys_in_db0 != 0));
  }
}

void ClusterSaveConfig(CommandContext& ctx, Args) {
  if (!ClusterOrReply(ctx)) return;
  std::string error = "no config file";
  if (ctx.node.SaveClusterConfig(true, &error)) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(errors::ClusterConfigSaveFailed(error));
  }
}

// ---- Session commands ------------------------------------------------------

void ReadOnly(CommandContext& ctx, Args) {
  if (!ClusterOrReply(ctx)) return;
  ctx.session.readonly = true;
  ctx.reply.Ok();
}

void ReadWrite(CommandContext& ctx, Args) {
  if (!ClusterOrReply(ctx)) return;
  ctx.session.readonly = false;
  ctx.reply.Ok();
}

void Asking(CommandContext& ctx, Args) {
  if (!ClusterOrReply(ctx)) return;
  ctx.session.asking = true;
  ctx.reply.Ok();
}

// Atomic slot migration (Valkey 9.0's commands), run by node/migrate's
// AtomicMigrator.
void ClusterSlotMigration(CommandContext& ctx, Args args) {
  if (!ClusterOrReply(ctx)) return;
  if (!ctx.node.SlotMigrationCommand(ctx, args)) {
    ctx.reply.Error(errors::UnknownSubcommand("CLUSTER", args[1]));
  }
}

void ClusterParent(CommandContext& ctx, Args args) {
  ctx.reply.Error(errors::UnknownSubcommand("CLUSTER", args.size() > 1 ? args[1] : ""));
}

CommandSpec Sub(std::string_view name, int arity, uint32_t flags, Handler h) {
  return SubcommandSpec("cluster", name, arity, flags, h, "cluster");
}

// A subcommand of Valkey 9.0's atomic slot migration (not in Redis 7.0.15's
// tables: COMMAND DOCS shows this summary and since).
CommandSpec ValkeySub(std::string_view name, int arity, uint32_t flags, std::string_view summary) {
  CommandSpec spec = Sub(name, arity, flags, ClusterSlotMigration);
  spec.summary = summary;
  spec.since = "9.0.0";
  return spec;
}

// A subcommand whose args[2] is a hash slot whose keys it reads or changes:
// the dispatcher grants it that slot's shard.
CommandSpec SlotSub(std::string_view name, int arity, uint32_t flags, Handler h) {
  CommandSpec spec = Sub(name, arity, flags, h);
  spec.slot_arg = 2;
  return spec;
}

// A subcommand that runs once database 0's keys are counted on every shard.
CommandSpec CountingSub(std::string_view name, int arity, uint32_t flags, FanOutFn fan_out) {
  CommandSpec spec = Sub(name, arity, flags, nullptr);
  spec.flags |= kCmdAllShards;
  spec.fan_out = fan_out;
  return spec;
}

}  // namespace

void RegisterClusterFamily(CommandTable& t) {
  constexpr uint32_t kAdmin = kCmdAdmin | kCmdStale;
  // The admin subcommands that change the cluster's state are refused
  // while a replica loads its primary's data asynchronously, as in Redis.
  constexpr uint32_t kChange = kAdmin | kCmdNoAsyncLoading;
  constexpr uint32_t kRead = kCmdStale;
  CommandSpec cluster{.name = "cluster",
                      .arity = -2,
                      .flags = 0,
                      .handler = ClusterParent,
                      .group = "cluster",
                      .summary = "A container for cluster commands",
                      .since = "3.0.0"};
  cluster.subcommands = {
      Sub("addslots", -3, kChange, ClusterAddSlots),
      Sub("addslotsrange", -4, kChange, ClusterAddSlotsRange),
      Sub("bumpepoch", 2, kChange, ClusterBumpEpoch),
      ValkeySub("cancelslotmigrations", 2, kAdmin, "Cancel all current ongoing slot migrations."),
      Sub("count-failure-reports", 3, kAdmin, ClusterCountFailureReports),
      SlotSub("countkeysinslot", 3, kRead, ClusterCountKeysInSlot),
      Sub("delslots", -3, kChange, ClusterDelSlots),
      Sub("delslotsrange", -4, kChange, ClusterDelSlotsRange),
      Sub("failover", -2, kChange, ClusterFailover),
      CountingSub("flushslots", 2, kChange, CountKeysInDb0Then<ClusterFlushSlots>),
      Sub("forget", 3, kChange, ClusterForget),
      ValkeySub(
          "getslotmigrations", 2, kRead,
          "Get the status of ongoing and recently finished slot import and export operations."),
      SlotSub("getkeysinslot", 4, kRead, ClusterGetKeysInSlot),
      Sub("help", 2, kCmdLoading | kCmdStale, ClusterHelp),
      Sub("info", 2, kRead, ClusterInfo),
      Sub("keyslot", 3, kRead, ClusterKeySlot),
      Sub("links", 2, kRead, ClusterLinks),
      Sub("meet", -4, kChange, ClusterMeet),
      ValkeySub("migrateslots", -4, kChange,
                "Migrate the given slots from this node to the specified nodes."),
      Sub("myid", 2, kRead, ClusterMyId),
      Sub("nodes", 2, kRead, ClusterNodes),
      Sub("replicas", 3, kAdmin, ClusterReplicas),
      CountingSub("replicate", 3, kChange, CountKeysInDb0Then<ClusterReplicate>),
      CountingSub("reset", -2, kAdmin | kCmdNoScript, CountKeysInDb0Then<ClusterReset>),
      Sub("saveconfig", 2, kChange, ClusterSaveConfig),
      Sub("set-config-epoch", 3, kChange, ClusterSetConfigEpoch),
      SlotSub("setslot", -4, kChange, ClusterSetSlot),
      Sub("shards", 2, kCmdStale, ClusterShards),
      Sub("slaves", 3, kAdmin, ClusterReplicas),
      Sub("slots", 2, kCmdStale, ClusterSlots),
      ValkeySub("syncslots", -3, kChange, "A container for internal slot migration commands."),
  };
  t.Register(std::move(cluster));
  t.Register({.name = "readonly",
              .arity = 1,
              .flags = kCmdFast | kCmdLoading | kCmdStale,
              .handler = ReadOnly,
              .group = "cluster",
              .summary = "Enables read queries for a connection to a cluster replica node",
              .since = "3.0.0"});
  t.Register({.name = "readwrite",
              .arity = 1,
              .flags = kCmdFast | kCmdLoading | kCmdStale,
              .handler = ReadWrite,
              .group = "cluster",
              .summary = "Disables read queries for a connection to a cluster replica node",
              .since = "3.0.0"});
  t.Register({.name = "asking",
              .arity = 1,
              .flags = kCmdFast,
              .handler = Asking,
              .group = "cluster",
              .summary = "Sent by cluster clients after an -ASK redirect",
              .since = "3.0.0"});
}

}  // namespace shardnode::node
