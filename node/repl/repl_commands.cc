// REPLICAOF / SLAVEOF, REPLCONF, PSYNC / SYNC, WAIT and ROLE: argument
// counts are the dispatcher's; each entry's bound handler calls the manager.
#include "node/repl/repl_commands.h"

#include "node/commands/command_table.h"
#include "node/repl/replication_manager.h"

namespace shardnode::node {

void RegisterReplicationCommands(CommandTable& table, ReplicationManager& manager) {
  ReplicationManager* m = &manager;
  const BoundHandler replicaof = [m](CommandContext& ctx, Args args) { m->ReplicaOf(ctx, args); };
  const BoundHandler sync = [m](CommandContext& ctx, Args args) { m->Sync(ctx, args); };
  const uint32_t replicaof_flags = kCmdAdmin | kCmdNoScript | kCmdStale | kCmdNoAsyncLoading;
  table.Register(
      {.name = "replicaof",
       .arity = 3,
       .flags = replicaof_flags,
       .bound_handler = replicaof,
       .group = "server",
       .summary = "Make the server a replica of another instance, or promote it as master.",
       .since = "5.0.0"});
  table.Register(
      {.name = "slaveof",
       .arity = 3,
       .flags = replicaof_flags,
       .bound_handler = replicaof,
       .group = "server",
       .summary = "Make the server a replica of another instance, or promote it as master.",
       .since = "1.0.0"});
  table.Register({.name = "replconf",
                  .arity = -1,
                  .flags = kCmdAdmin | kCmdNoScript | kCmdLoading | kCmdStale | kCmdAllowBusy,
                  .bound_handler = [m](CommandContext& ctx, Args args) { m->Replconf(ctx, args); },
                  .group = "server",
                  .summary = "An internal command for configuring the replication stream",
                  .since = "3.0.0"});
  table.Register({.name = "psync",
                  .arity = -3,
                  .flags = kCmdAdmin | kCmdNoScript | kCmdNoAsyncLoading | kCmdNoMulti,
                  .bound_handler = sync,
                  .group = "server",
                  .summary = "Internal command used for replication",
                  .since = "2.8.0"});
  table.Register({.name = "sync",
                  .arity = 1,
                  .flags = kCmdAdmin | kCmdNoScript | kCmdNoAsyncLoading | kCmdNoMulti,
                  .bound_handler = sync,
                  .group = "server",
                  .summary = "Internal command used for replication",
                  .since = "1.0.0"});
  table.Register({.name = "wait",
                  .arity = 3,
                  .flags = kCmdNoScript,
                  .bound_handler = [m](CommandContext& ctx, Args args) { m->Wait(ctx, args); },
                  .group = "generic",
                  .summary = "Wait for the synchronous replication of all the write commands sent "
                             "in the context of the current connection",
                  .since = "3.0.0"});
  table.Register({.name = "failover",
                  .arity = -1,
                  .flags = kCmdAdmin | kCmdNoScript | kCmdStale,
                  .bound_handler = [m](CommandContext& ctx, Args args) { m->Failover(ctx, args); },
                  .group = "server",
                  .summary = "Start a coordinated failover between this server and one of its "
                             "replicas.",
                  .since = "6.2.0"});
  table.Register({.name = "role",
                  .arity = 1,
                  .flags = kCmdNoScript | kCmdLoading | kCmdStale | kCmdFast,
                  .bound_handler = [m](CommandContext& ctx, Args) { m->Role(ctx); },
                  .group = "server",
                  .summary = "Return the role of the instance in the context of replication",
                  .since = "2.8.12"});
}

}  // namespace shardnode::node
