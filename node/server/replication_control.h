// ReplicationControl: what the node (commands, the dispatcher, INFO, the
// cluster wiring, persistence) needs of the replication manager
// (node/repl/replication_manager.h implements it). It lives in node/server,
// below every user, so that none of them depends on node_repl, which
// depends on the dispatcher to apply its primary's stream. The replication
// commands themselves (REPLICAOF, REPLCONF, PSYNC, WAIT, ROLE) are
// registered by node/repl (repl_commands.h).
//
// Loop: the control loop, like the Server that points at it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "replication/rdb.h"

namespace shardnode::node {

struct Session;

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
  // Bytes the shared replication buffer's blocks take (INFO
  // mem_replication_backlog); 0 when there is none.
  virtual size_t backlog_memory() const { return 0; }
  // INFO mem_total_replication_buffers: the shared buffer and the stream
  // bytes waiting in online replicas' connections (not a full sync's RDB,
  // which Redis sends outside the replication buffer).
  virtual size_t replication_buffers_memory() const { return 0; }
  // What of the shared buffer is left out of maxmemory, as Redis's
  // freeMemoryGetNotCountedMemory: all above repl-backlog-size (and its
  // blocks' bookkeeping), held for replicas or not yet trimmed.
  virtual size_t backlog_not_counted() const { return 0; }
  // An image for a full sync is being produced (Redis's RDB child for
  // replication): INFO persistence reports rdb_bgsave_in_progress:1.
  virtual bool producing_sync_image() const { return false; }
  // FLUSHALL: the image being produced for a full sync stops and its
  // replicas are dropped (they come back for a new full sync), as Redis
  // kills its RDB child there. Nothing to do where no image is made.
  virtual void AbortSyncImage() {}

  // The error that refuses a command before it runs, without the leading
  // '-' (READONLY on a read-only replica, NOREPLICAS under
  // min-replicas-to-write, MASTERDOWN with replica-serve-stale-data no), or
  // empty when it may run. `is_write`: the command has the write flag;
  // `stale_ok`: it has the stale flag. Not asked for the primary's own
  // stream.
  virtual std::string CheckCommand(bool is_write, bool stale_ok) const = 0;

  // A replica's data age for cluster failover: milliseconds since the
  // primary was last heard from while the link is up, or since the link
  // went down. 0 for a primary.
  virtual int64_t DataAgeMs(int64_t now_ms) const {
    (void)now_ms;
    return 0;
  }
  // Replicas online now (an atomic migration's target WAITs for them).
  virtual int online_replicas() const { return 0; }
  // Follows the cluster's view of myself at once (primary to replicate, or
  // none after a promotion) instead of at the next 100 ms reconciliation.
  virtual void SyncWithCluster() {}
  // Beyond Redis 7.0, as Valkey 8 does: a primary's CLUSTER SETSLOT that
  // changed its view (`args`, the command as received) goes to its
  // replicas through the write stream, so that they mirror its open slots
  // and a promoted replica can continue or close a migration. Only when
  // every replica announced it applies them (REPLCONF capa
  // shardnode-setslot, which shardnode replicas send and redis-server 7.0
  // masters ignore): a redis-server 7.0 replica refuses SETSLOT from its
  // master ("Please use SETSLOT only with masters.", logged as CRITICAL,
  // and a panic under propagation-error-behavior panic), so with one of
  // them attached the shard keeps Redis 7.0's behaviour. With no replica
  // attached it still goes into the backlog, for a replica's partial
  // resync (a redis-server replica asking for that part gets a full one).
  // When it was sent
  // to online replicas, `session` (whose command it is, already applied
  // here) is suspended until they ACKed it or kSetSlotAckTimeoutMs passed,
  // then answered +OK, and true is returned: the caller must not reply.
  // Otherwise (not sent, nobody online, or the client may not block: in
  // MULTI, a script) returns false and the caller replies.
  static constexpr int64_t kSetSlotAckTimeoutMs = 2000;  // Valkey's default
  // Appends `args` (a keyless cluster command only shardnode understands,
  // e.g. CLUSTER SYNCSLOTS HIDDEN) to the replication stream when every
  // replica announced capa shardnode-setslot; otherwise sends nothing, so a
  // redis-server replica never receives it.
  virtual void PropagateToShardnodeReplicas(std::span<const std::string> args) { (void)args; }
  virtual bool PropagateSetSlot(Session& session, int64_t now_ms,
                                std::span<const std::string> args) {
    (void)session;
    (void)now_ms;
    (void)args;
    return false;
  }
  // A replica as the shutdown sequence sees it (node/app/shutdown_sequence.h):
  // Redis's finishShutdown logs each one still behind.
  struct ReplicaProgress {
    std::string name;    // "ip:port" (announced or peer address, listening port)
    int64_t behind = 0;  // bytes of the stream it has not acknowledged
    int64_t lag_s = 0;   // seconds since its last ACK (0 while in a full sync)
    std::string state;   // INFO's state= (wait_bgsave, send_bulk, online)
  };
  // Every connected replica (none for a node without any).
  virtual std::vector<ReplicaProgress> Replicas(int64_t now_ms) const {
    (void)now_ms;
    return {};
  }
  // Sends REPLCONF GETACK * to the replicas so that they report their
  // offsets at once (a shutdown waiting for them). No-op without replicas.
  virtual void RequestAcks() {}
  // CONFIG RESETSTAT: zeroes sync_full, sync_partial_ok and sync_partial_err.
  virtual void ResetStats() {}
  // DEBUG REPLICATE: `args` as one command into the replication stream only
  // (backlog and replicas, no AOF, no SELECT), as Redis's
  // replicationFeedSlaves with dictid -1. Returns false where this node
  // produces no stream (a replica, or no backlog yet), sending nothing.
  virtual bool FeedReplicas(const std::vector<std::string>& args) {
    (void)args;
    return false;
  }
};

}  // namespace shardnode::node
