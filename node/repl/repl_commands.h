// The replication commands (REPLICAOF / SLAVEOF, REPLCONF, PSYNC / SYNC,
// WAIT, ROLE), registered by node/repl itself: their entries hold bound
// handlers that call the node's ReplicationManager, so node/commands knows
// nothing of replication beyond node/server/replication_control.h.
//
// Loop: the control loop (the table is filled before the node serves).
#pragma once

namespace shardnode::node {

class CommandTable;
class ReplicationManager;

// Adds the replication commands to `table`.
// REQUIRES: `manager` outlives the table's use; none of these names is
// registered yet.
void RegisterReplicationCommands(CommandTable& table, ReplicationManager& manager);

}  // namespace shardnode::node
