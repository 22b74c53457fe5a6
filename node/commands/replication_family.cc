// REPLICAOF / SLAVEOF, REPLCONF, PSYNC / SYNC, WAIT and ROLE: argument
// checks are the dispatcher's; the work is the replication manager's,
// reached through Server::replication (null in unit tests: ROLE and INFO
// then describe a primary without replicas).
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/families.h"
#include "node/commands/replication_control.h"
#include "node/resp/reply.h"
#include "node/server/server.h"

namespace shardnode::node {
namespace {

ReplicationControl* Control(CommandContext& ctx) {
  if (ctx.server.replication == nullptr) ctx.reply.Error(errors::kNoReplication);
  return ctx.server.replication;
}

void ReplicaOf(CommandContext& ctx, Args args) {
  if (auto* r = Control(ctx)) r->ReplicaOf(ctx, args);
}
void Replconf(CommandContext& ctx, Args args) {
  if (auto* r = Control(ctx)) r->Replconf(ctx, args);
}
void Sync(CommandContext& ctx, Args args) {
  if (auto* r = Control(ctx)) r->Sync(ctx, args);
}
void Wait(CommandContext& ctx, Args args) {
  if (auto* r = Control(ctx)) r->Wait(ctx, args);
}
void Role(CommandContext& ctx, Args) {
  if (ctx.server.replication != nullptr) {
    ctx.server.replication->Role(ctx);
    return;
  }
  ctx.reply.ArrayHeader(3);
  ctx.reply.Bulk("master");
  ctx.reply.Integer(0);
  ctx.reply.ArrayHeader(0);
}

}  // namespace

void RegisterReplicationFamily(CommandTable& table) {
  const uint32_t replicaof_flags = kCmdAdmin | kCmdNoScript | kCmdStale;
  table.Register(
      {.name = "replicaof",
       .arity = 3,
       .flags = replicaof_flags,
       .handler = ReplicaOf,
       .group = "server",
       .summary = "Make the server a replica of another instance, or promote it as master.",
       .since = "5.0.0"});
  table.Register(
      {.name = "slaveof",
       .arity = 3,
       .flags = replicaof_flags,
       .handler = ReplicaOf,
       .group = "server",
       .summary = "Make the server a replica of another instance, or promote it as master.",
       .since = "1.0.0"});
  table.Register({.name = "replconf",
                  .arity = -1,
                  .flags = kCmdAdmin | kCmdNoScript | kCmdLoading | kCmdStale | kCmdAllowBusy,
                  .handler = Replconf,
                  .group = "server",
                  .summary = "An internal command for configuring the replication stream",
                  .since = "3.0.0"});
  table.Register({.name = "psync",
                  .arity = -3,
                  .flags = kCmdAdmin | kCmdNoScript | kCmdNoMulti,
                  .handler = Sync,
                  .group = "server",
                  .summary = "Internal command used for replication",
                  .since = "2.8.0"});
  table.Register({.name = "sync",
                  .arity = 1,
                  .flags = kCmdAdmin | kCmdNoScript | kCmdNoMulti,
                  .handler = Sync,
                  .group = "server",
                  .summary = "Internal command used for replication",
                  .since = "1.0.0"});
  table.Register({.name = "wait",
                  .arity = 3,
                  .flags = kCmdNoScript,
                  .handler = Wait,
                  .group = "generic",
                  .summary = "Wait for the synchronous replication of all the write commands sent "
                             "in the context of the current connection",
                  .since = "3.0.0"});
  table.Register({.name = "role",
                  .arity = 1,
                  .flags = kCmdNoScript | kCmdLoading | kCmdStale | kCmdFast,
                  .handler = Role,
                  .group = "server",
                  .summary = "Return the role of the instance in the context of replication",
                  .since = "2.8.12"});
}

}  // namespace shardnode::node
