// ReplicationManager: both sides of master-replica replication for one node.
//
// This is the shell. The decisions that depend on time or on the replicas'
// progress (the replica registry, held streams, REPLCONF ACK and WAIT,
// repl-timeout on both sides, the replica output limit, the link's state)
// are the pure core's, replication::ReplCore (replication/repl_core.h):
// the manager feeds it the clock and its sessions' state and carries out
// the Ready each step returns (CarryOut, a std::visit over every action).
// The manager owns the rest: ids, offsets and backlog, the sessions and the
// PrimaryLink, full syncs, INFO and ROLE. Its commands are registered by
// repl_commands.h; the node reaches it through ReplicationControl
// (node/server/replication_control.h).
//
// Primary side: owns the replication ids (PSYNC2), master_repl_offset and the
// shared replication buffer (replication/backlog.h: the backlog and the streams
// held for replicas in a full sync are one copy of the bytes). It is a consumer
// of the node's write stream (node/server/write_stream.h), which encodes each
// write once and puts a SELECT before it when the database changes; the manager
// appends those bytes to the backlog and pushes them to each replica. Replicas
// are ordinary client connections that sent PSYNC (or SYNC): they are known by
// client id, written to through Session::push, and their REPLCONF ACKs come
// back as commands. A PSYNC is answered +CONTINUE from the backlog when it
// holds the gap (replication/psync.h), else +FULLRESYNC and an RDB of the whole
// dataset, made by FullSyncs (full_sync.h) without blocking the node, in the
// disk form ($<len>) or, when repl-diskless-sync is on and the replica sent
// capa eof, the diskless form ($EOF:<mark>). The writes made after the image
// began are held for the replica and follow the RDB (after the replica's first
// ACK in the diskless form, as Redis 7.0 does). A replica silent (no ACK) for
// repl-timeout, or whose pending stream passes client-output-buffer-limit's
// replica class (output_limit.h), is disconnected.
//
// Replica side: follows a primary set by REPLICAOF (standalone) or by the
// cluster state (myself's primary, reconciled every 100 ms, so nodes.conf
// brings it back after a restart). A PrimaryLink (the .cc) connects with a
// RespClient (node/net/resp_client.h), runs the handshake core
// (replication/handshake.h) over its replies, then switches the client to
// raw bytes, receives a full sync's RDB
// whole and loads it a slice at a time while the loop keeps running
// (Server::loading: -LOADING to clients, offset 0 to the cluster; see
// LoadRdb in the .cc), then applies the stream through the Dispatcher with
// a session flagged from_primary, counting the applied offset, and feeds the
// same bytes to its own backlog and sub-replicas. It ACKs every second and
// on GETACK, and reconnects with PSYNC <replid> <offset+1> after a drop,
// also when the primary sent nothing (not even its PINGs) for repl-timeout
// (PSYNC ? -1 when a full sync did not complete). While a replica, keys
// expire only by the primary's DELs (Db::ExpiryMode kHide; kKeep while the
// primary's commands are applied). Once synced or continued, the link is a
// client (primary_session_ in Server::clients(): CLIENT LIST flag M, CLIENT
// KILL TYPE master / ID / ADDR drops it and the cron reconnects with a
// partial resync, as Redis's cached master).
//
// WAIT suspends its client (node/server/suspend.h, WaitReason::kReplicas)
// until enough replicas ACKed the offset of the moment, or the timeout.
//
// Loop: the control loop (the io_context given to the constructor). Not
// thread-safe.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "node/commands/command.h"
#include "node/resp/parser.h"
#include "node/server/replication_control.h"
#include "node/server/session.h"
#include "node/server/write_stream.h"
#include "replication/backlog.h"
#include "replication/psync.h"
#include "replication/repl_core.h"

namespace shardnode::node {

class Server;
class Dispatcher;
class PrimaryLink;
class FullSyncs;
class RespClient;

class ReplicationManager : public ReplicationControl, private WriteConsumer {
 public:
  // The replica link's progress, as ROLE and INFO name it.
  using LinkState = replication::LinkState;

  // REQUIRES: `io`, `server` and `dispatcher` outlive the manager.
  ReplicationManager(boost::asio::io_context& io, Server& server, Dispatcher& dispatcher);
  ~ReplicationManager() override;

  // Subscribes to the write stream, starts the timers, and follows
  // `replicaof` from the configuration when set.
  void Start();

  // The TLS context of the link to our primary (tls-replication yes), read
  // at each connect; unset or nullptr: plain TCP.
  std::function<std::shared_ptr<boost::asio::ssl::context>()> tls_client;
  // Stops the timers and the link (shutdown).
  void Stop();

  // Follows host:port (replacing any current primary) / becomes a primary.
  void SetPrimary(const std::string& host, int port);
  void UnsetPrimary();

  // ReplicationControl.
  bool is_replica() const override { return !primary_host_.empty(); }
  bool produces_stream() const override {
    return !is_replica() && !applying_primary_ && backlog_ != nullptr;
  }
  int64_t master_repl_offset() const override { return master_repl_offset_; }
  int64_t cluster_repl_offset() const override {
    return is_replica() && history_discarded_ ? 0 : master_repl_offset_;
  }
  void FillRdbReplInfo(replication::RdbWriterOptions& o) const override;
  std::string InfoSection(int64_t now_ms) const override;
  std::string SyncStatsLines() const override;
  size_t backlog_memory() const override { return backlog_ ? backlog_->memory() : 0; }
  size_t replication_buffers_memory() const override;
  size_t backlog_not_counted() const override;
  bool producing_sync_image() const override;
  void AbortSyncImage() override;
  std::string CheckCommand(bool is_write, bool stale_ok) const override;
  int64_t DataAgeMs(int64_t now_ms) const override;
  void SyncWithCluster() override;
  int online_replicas() const override {
    int n = 0;
    for (const auto& r : core_.replicas()) n += r.online();
    return n;
  }
  bool PropagateSetSlot(Session& session, int64_t now_ms,
                        std::span<const std::string> args) override;
  void PropagateToShardnodeReplicas(std::span<const std::string> args) override;
  std::vector<ReplicaProgress> Replicas(int64_t now_ms) const override;
  void RequestAcks() override;

  // The replication commands (repl_commands.h registers them; argument
  // counts were checked by the dispatcher).
  void ReplicaOf(CommandContext& ctx, Args args);  // REPLICAOF / SLAVEOF
  void Replconf(CommandContext& ctx, Args args);
  void Sync(CommandContext& ctx, Args args);  // SYNC / PSYNC
  void Wait(CommandContext& ctx, Args args);
  void Role(CommandContext& ctx);
  // FAILOVER [TO host port [FORCE]] [ABORT] [TIMEOUT ms] (standalone mode):
  // pauses writers, waits for a replica to reach our offset, then becomes
  // its replica with PSYNC ... FAILOVER, which makes it the primary.
  void Failover(CommandContext& ctx, Args args);

  // For the replica link (PrimaryLink, in the .cc).
  LinkState link_state() const { return core_.link_state(); }
  const replication::ReplicationIds& ids() const { return ids_; }

 private:
  friend class PrimaryLink;

  // WriteConsumer: a primary with a backlog takes every write (a replica
  // forwards its primary's bytes instead, see ApplyPrimaryBytes; its own
  // writes, with replica-read-only no, stay local as in Redis).
  bool FeedReplicas(const std::vector<std::string>& args) override;
  void ResetStats() override { sync_full_ = sync_partial_ok_ = sync_partial_err_ = 0; }
  bool WantsWrites() const override { return produces_stream(); }
  WriteTargets kind() const override { return kToReplicas; }
  void OnWrite(const StreamWrite& write) override;
  // Sends the GETACK a waiting CLUSTER SETSLOT asked for, after its unit.
  void OnUnitEnd() override;
  // The next write goes with a SELECT (the stream after an image, or the
  // first of a new history).
  void ForgetStreamDb();

  // Whether every attached replica (if any) announced capa
  // shardnode-setslot (PropagateSetSlot).
  bool ReplicasApplySetSlot() const;
  // After an image began: the open slots, as SETSLOT commands in the
  // stream that follows it (an RDB carries no cluster state).
  void StreamOpenSlots();

  Session* FindSession(uint64_t client_id) const;
  // The core's view of a client: its pending output bytes, or nullopt when
  // its connection is gone.
  std::optional<uint64_t> ClientOutput(uint64_t client_id) const;
  // Carries out what a core step decided (std::visit, every alternative).
  void CarryOut(replication::ReplReady ready);
  // The one place a WAIT ends: replies `acked` to client `client_id` and
  // resumes it (node/server/suspend.h's Complete).
  void CompleteWait(uint64_t client_id, int64_t acked);
  // Closes a replica's connection after the core dropped it.
  void CloseReplicaConnection(uint64_t client_id);
  // Appends stream bytes to the backlog and every replica.
  void FeedStream(std::string_view bytes);
  // Frees up to `max_blocks` of the shared buffer's oldest blocks that
  // neither the backlog's size nor a replica holding its stream needs (as
  // Redis, a little at a time: per write, per tick, when a replica goes).
  static constexpr size_t kTrimBlocksPerWrite = 16;
  static constexpr size_t kTrimBlocksPerTick = 1024;
  void TrimBacklog(size_t max_blocks);
  // The output limits of a stream step (client-output-buffer-limit's
  // replica class is re-read every second, so CONFIG SET applies).
  replication::StreamLimits Limits() const;
  std::string ReplicaName(const replication::ReplicaRecord& r) const;
  void ReadOutputLimit();
  // FullSyncs hooks.
  void BeginFullSync(uint64_t client_id, uint64_t attach_to);
  void FullSyncDelivered(uint64_t client_id, bool socket_target);
  // Primary and replica sides of repl-timeout (Cron).
  void CheckTimeouts(int64_t now_ms);
  void CreateBacklog();
  void DisconnectReplicas();
  int GoodReplicas(int64_t now_ms) const;
  void ServeWaiters(int64_t now_ms, bool all);

  // FAILOVER's progress (Redis's failover_state).
  enum class FailoverState { kNone, kWaitForSync, kInProgress };
  // The tick's FAILOVER step: timeout, or the caught-up replica to hand over to.
  void UpdateFailover(int64_t now_ms);
  // Ends a FAILOVER: writers resume; when aborted while handing over, we
  // are a primary again.
  void ClearFailover();
  void AbortFailover(std::string_view why);
  // The online replica at host:port (its announced or peer address and its
  // listening port), or nullptr.
  const replication::ReplicaRecord* FindReplica(std::string_view host, int64_t port) const;

  void Tick();  // every 100 ms: WAIT timeouts, cluster reconciliation
  void Cron();  // every second: ACKs, PINGs, reconnects
  void ArmTick();
  void ConnectToPrimary();
  // Start-up: adopts the repl-id / repl-offset of the RDB file the node
  // loaded (dbfilename in the working directory), if it has them.
  void RestoreFromRdbFile();
  // An error reply to a command of the primary's stream: logged as CRITICAL,
  // counted, and a panic under propagation-error-behavior panic or
  // panic-on-replicas on a read-only replica.
  void ReportErrorToPrimary(std::string_view reply);
  // Mirrors primary_host_ / primary_port_ into the replicaof option.
  void RecordReplicaOf();
  void ResetStream();

  // Called by the link.
  void OnLinkClosed(PrimaryLink* link, int64_t now_ms);
  // The dataset is about to be replaced by a full sync's (Redis's
  // replicationAttachToNewMaster, right before flushing or swapping in the
  // loaded one): our history is gone and our sub-replicas must resync.
  void AttachToNewPrimary();
  void OnFullSync(const std::string& replid, int64_t offset);
  void OnContinue(const std::string& new_replid);
  // The link is up (synced or continued): its session joins the clients
  // (CLIENT LIST flag M, CLIENT KILL TYPE master, INFO clients), with a new
  // id after a full sync, the same one after a partial resync. Detach
  // removes it when the link goes.
  void AttachPrimarySession(const RespClient& client, bool new_client);
  void DetachPrimarySession();
  // Applies stream bytes from the primary; returns false on a protocol error.
  bool ApplyPrimaryBytes(std::string_view chunk, int64_t now_ms);
  // Runs the primary's command in stream_args_ (its replies discarded).
  void ApplyPrimaryCommand(int64_t now_ms);
  // The client pause that held the stream ended: applies the parked
  // command and what arrived meanwhile.
  void ResumePrimaryStream();

  boost::asio::io_context& io_;
  Server& server_;
  Dispatcher& dispatcher_;
  boost::asio::steady_timer tick_timer_;
  int tick_count_ = 0;
  bool stopped_ = false;

  // Replication history and stream.
  replication::ReplicationIds ids_;
  int64_t master_repl_offset_ = 0;
  // The stream offset just after the last CLUSTER SETSLOT sent to the
  // replicas (-1: none). A replica without capa shardnode-setslot (a
  // redis-server) that asks to continue from before it is given a full
  // sync instead, so that it never receives one.
  int64_t setslot_stream_end_ = -1;
  // Clients whose CLUSTER SETSLOT waits for the replicas' ACKs: their WAIT
  // completes with +OK instead of a count.
  std::set<uint64_t> setslot_waiters_;
  bool pending_getack_ = false;
  std::unique_ptr<replication::ReplBacklog> backlog_;

  // The replica registry, ACKs, WAIT, timeouts and the link's state.
  replication::ReplCore core_;

  // Primary side.
  std::unique_ptr<FullSyncs> full_syncs_;
  replication::OutputLimit replica_output_limit_;  // re-read by the cron
  uint64_t sync_full_ = 0;
  uint64_t sync_partial_ok_ = 0;
  uint64_t sync_partial_err_ = 0;

  // Replica side.
  std::string primary_host_;
  int primary_port_ = 0;
  std::shared_ptr<PrimaryLink> link_;
  // From AttachToNewPrimary until the RDB is loaded (Redis discarded its
  // cached primary): the cluster sees offset 0, a PSYNC offers no history.
  // A full sync that fails before (the transfer, a swapdb load) keeps it.
  bool history_discarded_ = false;
  // The full sync's RDB transfer: its size (0 for the diskless form) and the
  // bytes read since its header.
  int64_t transfer_size_ = 0;
  int64_t transfer_read_ = 0;
  Session primary_session_;
  resp::RequestParser stream_parser_;
  std::string stream_pending_;  // bytes the parser has not consumed
  std::string stream_unfed_;    // bytes since the last complete command
  std::vector<std::string> stream_args_;
  // A client pause holds the primary's stream, as Redis pauses its
  // primary's client: the command in stream_args_ (its bytes the first
  // stream_parked_bytes_ of stream_unfed_) and what follows wait, read but
  // not applied, until ResumePrimaryStream.
  bool stream_parked_ = false;
  size_t stream_parked_bytes_ = 0;
  std::string discarded_replies_;
  bool applying_primary_ = false;

  // FAILOVER.
  FailoverState failover_state_ = FailoverState::kNone;
  std::string failover_host_;  // empty: any replica that catches up
  int failover_port_ = 0;
  int64_t failover_end_ms_ = 0;  // 0: no timeout
  bool failover_force_ = false;
};

}  // namespace shardnode::node
