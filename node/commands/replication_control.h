// ReplicationControl: what commands, the dispatcher and INFO need of the
// replication manager (node/repl/replication_manager.h implements it). It
// lives here so that node_commands does not depend on node_repl, which
// depends on the dispatcher to apply its primary's stream.
//
// Loop: the control loop, like the Server that points at it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "node/commands/command.h"
#include "replication/rdb.h"

namespace shardnode::node {

class ReplicationControl {
 public:
  virtual ~ReplicationControl() = default;

  // True while this node follows a primary (REPLICAOF, or a cluster replica).
  virtual bool is_replica() const = 0;
  // True when this node's own writes feed a replication stream (a primary
  // with a backlog, i.e. once a replica has asked for one): only then does
  // replication want the write stream's writes (node/server/write_stream.h).
  virtual bool produces_stream() const = 0;
  // master_repl_offset: the stream offset produced (primary) or applied
  // (replica).
  virtual int64_t master_repl_offset() const = 0;
  // The offset the cluster sees (bus header, CLUSTER SLOTS / SHARDS), Redis's
  // replicationGetSlaveOffset: a replica that discarded its history for a
  // full sync announces 0 until the RDB is loaded, so the other nodes hide
  // it from CLUSTER SLOTS and CLUSTER SHARDS shows it "loading".
  virtual int64_t cluster_repl_offset() const = 0;

  // RDB files (SAVE, BGSAVE, shutdown): the repl-id / repl-offset /
  // repl-stream-db aux fields, so that a restarted node continues its
  // history with a partial resync. Leaves `o` alone when there is none.
  virtual void FillRdbReplInfo(replication::RdbWriterOptions& o) const = 0;

  // The "# Replication" INFO section, CRLF-terminated lines.
  virtual std::string InfoSection(int64_t now_ms) const = 0;
  // INFO stats: "sync_full:..\r\nsync_partial_ok:..\r\nsync_partial_err:..\r\n".
  virtual std::string SyncStatsLines() const = 0;

  // The error that refuses `spec` for `session` before it runs, without the
  // leading '-' (READONLY on a read-only replica, NOREPLICAS under
  // min-replicas-to-write, MASTERDOWN with replica-serve-stale-data no), or
  // empty when it may run. Never refuses the primary's own stream.
  virtual std::string CheckCommand(const Session& session, const CommandSpec& spec) const = 0;

  // A replica's data age for cluster failover: milliseconds since the
  // primary was last heard from while the link is up, or since the link
  // went down. 0 for a primary.
  virtual int64_t DataAgeMs(int64_t now_ms) const {
    (void)now_ms;
    return 0;
  }
  // Follows the cluster's view of myself at once (primary to replicate, or
  // none after a promotion) instead of at the next 100 ms reconciliation.
  virtual void SyncWithCluster() {}
  // CLIENT KILL of the link to my primary, named by its address "ip:port".
  // Returns false when `addr` is not my primary's; the link reconnects later.
  virtual bool KillPrimaryLink(std::string_view addr) {
    (void)addr;
    return false;
  }

  // Command handlers (argument counts were checked by the dispatcher).
  virtual void ReplicaOf(CommandContext& ctx, Args args) = 0;  // REPLICAOF / SLAVEOF
  virtual void Replconf(CommandContext& ctx, Args args) = 0;
  virtual void Sync(CommandContext& ctx, Args args) = 0;  // SYNC / PSYNC
  virtual void Wait(CommandContext& ctx, Args args) = 0;
  virtual void Role(CommandContext& ctx) = 0;
};

}  // namespace shardnode::node
