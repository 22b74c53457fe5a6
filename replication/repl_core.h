// ReplCore: the decisions of both sides of replication that depend on time
// or on the replicas' progress, as a pure core (time in, actions out).
//
// Primary side: the replica registry (what each connection announced with
// REPLCONF, whether it is waiting for its image, receiving it, waiting for
// its first ACK, or online), the stream held for a replica while its image
// is made or sent, REPLCONF ACK offsets, WAIT waiters, repl-timeout for
// silent replicas and client-output-buffer-limit's replica class.
// Replica side: the link's state (LinkState), the time of its last I/O and
// of its drop, and repl-timeout for a silent primary.
//
// Every step returns a ReplReady: the actions the shell must carry out, in
// order (node/repl/replication_manager.cc handles each alternative with
// std::visit and no default). The core never reads a clock, touches a
// socket or logs; what it needs to know of a connection (whether it is
// still open, the bytes pending on it) comes in as a ClientLookup.
//
// Not thread-safe; the shell calls it from one loop.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "replication/output_limit.h"

namespace shardnode::replication {

using ClientId = uint64_t;

// The pending output bytes of a client connection, or nullopt when it is
// gone. Answered by the shell from its sessions; must not call the core.
using ClientLookup = std::function<std::optional<uint64_t>(ClientId)>;

// What a connection announced with REPLCONF (before or after its PSYNC).
struct ReplicaConf {
  int listening_port = 0;
  std::string ip;
  bool capa_eof = false;
  bool capa_psync2 = false;
  // capa shardnode-setslot: a shardnode replica, which applies CLUSTER
  // SETSLOT from our stream (node/server/replication_control.h).
  bool capa_setslot = false;
  // REPLCONF rdb-filter-only <filters>: its full sync image holds no key,
  // and the function libraries only when "functions" is one of the filters
  // (redis-cli --functions-rdb).
  bool rdb_exclude_keys = false;
  bool rdb_exclude_functions = false;
};

// One replica: a client connection that sent PSYNC or SYNC.
struct ReplicaRecord {
  ClientId client_id = 0;
  ReplicaConf conf;
  std::string ip;      // announced, else the peer address
  bool psync = false;  // PSYNC (SYNC replicas never ACK)
  // Full sync: waiting for its image to begin (no stream yet), then
  // receiving it (the stream after its image is held for it).
  bool sync_pending = false;
  bool in_full_sync = false;
  int64_t sync_offset = 0;  // the offset of its image
  // Diskless full sync: the stream is held until the first ACK.
  bool wait_first_ack = false;
  // The bytes of the held stream: the stream from sync_offset + 1 on, which
  // the shell's shared buffer keeps while OldestHeld() names it (no copy
  // per replica, as Redis 7 shares its replication buffer).
  int64_t held_bytes = 0;
  bool closing = false;  // dropped; forgotten at the next ForgetClosed
  OutputLimitCheck output_limit;
  int64_t ack_offset = 0;
  int64_t ack_time_ms = 0;

  // Receiving the stream as it is produced.
  bool online() const { return !closing && !sync_pending && !in_full_sync && !wait_first_ack; }
  // Its stream is held (kept in the shared buffer from sync_offset + 1).
  bool holds_stream() const { return !closing && (in_full_sync || wait_first_ack); }
};

// The replica link's progress, as ROLE and INFO name it.
enum class LinkState { kNone, kConnect, kConnecting, kHandshake, kTransfer, kConnected };

// ---- Actions ----------------------------------------------------------------

// Write `bytes` on the replica's connection now. The view points into the
// bytes given to the step (Stream, Deliver): valid until the step's caller
// returns, so the shell carries it out at once.
struct PushToReplica {
  ClientId client = 0;
  std::string_view bytes;
};
// The stream held for a replica is released (its image was delivered, or
// it sent its first ACK): the shell copies the stream from offset `from`
// to its end (`bytes` of them) out of its shared buffer and hands it to
// Deliver, which pushes or drops.
struct ReleaseHeld {
  ClientId client = 0;
  int64_t from = 0;
  int64_t bytes = 0;
};
enum class DropReason { kTimeout, kOutputLimit };
// Close the replica's connection (the core already marked it closing).
struct DropReplica {
  ClientId client = 0;
  DropReason reason = DropReason::kTimeout;
};
// A WAIT is over: reply `acked` (an integer) to the client and resume it.
struct CompleteWait {
  ClientId client = 0;
  int64_t acked = 0;
};
// The primary said nothing for repl-timeout while the link was in
// `state`: close the link and report it closed (LinkClosed).
struct DropPrimaryLink {
  LinkState state = LinkState::kConnect;
};

using ReplAction =
    std::variant<PushToReplica, ReleaseHeld, DropReplica, CompleteWait, DropPrimaryLink>;

// Everything one step decided, in the order to carry it out.
struct ReplReady {
  std::vector<ReplAction> actions;
  bool empty() const { return actions.empty(); }
};

// For std::visit over a ReplAction: name every alternative, no catch-all.
template <class... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <class... F>
Overloaded(F...) -> Overloaded<F...>;

// The limits a stream step applies, read by the shell from the config.
struct StreamLimits {
  OutputLimit output_limit;  // client-output-buffer-limit's replica class
  int64_t backlog_size = 0;  // repl-backlog-size (raises the hard limit)
};

class ReplCore {
 public:
  // ---- Primary side: the registry ----

  // The replica of a client, or nullptr.
  ReplicaRecord* Find(ClientId client);
  const std::vector<ReplicaRecord>& replicas() const { return replicas_; }
  // The REPLCONF state of a client: its replica's when it is one, else the
  // one kept for its coming PSYNC (created empty).
  ReplicaConf& ConfFor(ClientId client);
  // Takes the REPLCONF state kept for a client that now sent PSYNC / SYNC
  // (empty when it sent none).
  ReplicaConf TakePendingConf(ClientId client);
  // Registers a replica. REQUIRES: Find(r.client_id) == nullptr.
  void Add(ReplicaRecord r);

  // A full sync's image begins for `client` at `master_offset`, or joins
  // the one already made for `attach_to` (then its offset and held stream
  // are shared). Returns the image's offset, or nullopt when the client is
  // no longer a replica.
  std::optional<int64_t> BeginFullSync(ClientId client, ClientId attach_to, int64_t master_offset);
  // A replica's image was delivered (written whole to its connection).
  // With `socket_target` (diskless) a PSYNC replica then waits for its
  // first ACK; otherwise its held stream is released at once. Returns false
  // when the client is no longer a live replica.
  bool FullSyncDelivered(ClientId client, bool socket_target, int64_t now_ms, ReplReady& out);

  // Stream bytes for every replica: pushed to online ones, held for those
  // in a full sync, none for those waiting for their image. A replica over
  // the output limit is dropped (DropReplica after its push).
  ReplReady Stream(std::string_view bytes, int64_t now_ms, const StreamLimits& limits,
                   const ClientLookup& lookup);
  // The same for one replica (a released held stream).
  ReplReady Deliver(ClientId client, std::string_view bytes, int64_t now_ms,
                    const StreamLimits& limits, const ClientLookup& lookup);

  // The oldest stream offset a replica whose connection is still there
  // holds (the shell's shared buffer keeps it), or INT64_MAX for none.
  int64_t OldestHeld(const ClientLookup& lookup) const;

  // Marks a replica closing (its held stream freed); false when it was
  // unknown or already closing. The shell closes the connection.
  bool MarkClosing(ClientId client);
  // Forgets every replica; returns their clients (the shell closes them).
  std::vector<ClientId> TakeAll();
  // Forgets the replicas marked closing.
  void ForgetClosed();
  // Forgets replicas and REPLCONF state of connections gone (lookup says
  // nullopt); returns the replicas forgotten.
  std::vector<ClientId> ForgetGone(const ClientLookup& lookup);

  // REPLCONF ACK <offset> from `client` at `now_ms`: its offset moves
  // forward, a diskless replica's held stream is released after the first
  // one (ReleaseHeld), and WAITs that have their count complete.
  ReplReady Ack(ClientId client, int64_t offset, int64_t now_ms, const ClientLookup& lookup);

  // ---- Primary side: WAIT ----

  // Replicas that ACKed at least `offset`.
  int CountAcked(int64_t offset) const;
  // Online replicas whose last ACK is at most `max_lag_ms` old
  // (min-replicas-to-write).
  int GoodReplicas(int64_t now_ms, int64_t max_lag_ms) const;
  // WAIT numreplicas for `offset`: the count to reply at once when enough
  // replicas ACKed it or `may_block` is false; otherwise nullopt, the client
  // waits until `deadline_ms` (0: forever) and a CompleteWait ends it.
  std::optional<int64_t> Wait(ClientId client, int64_t num_replicas, int64_t offset,
                              int64_t deadline_ms, bool may_block);
  bool has_waiters() const { return !waiters_.empty(); }
  // Completes the WAITs that have their count or passed their deadline
  // (every one with `all`); waiters whose client is gone are forgotten.
  ReplReady ServeWaiters(int64_t now_ms, bool all, const ClientLookup& lookup);

  // ---- Replica side: the link ----

  LinkState link_state() const { return link_state_; }
  int64_t last_io_ms() const { return last_io_ms_; }
  int64_t down_since_ms() const { return down_since_ms_; }
  // Follows a (new) primary: the link is to be connected.
  void Follow();
  // Follows no primary any more.
  void Unfollow();
  // A connection attempt starts (repl-timeout counts from here).
  void LinkStarted(int64_t now_ms);
  // The link's progress: connecting, then the handshake, then an RDB.
  void LinkConnecting() { link_state_ = LinkState::kConnecting; }
  void LinkHandshake() { link_state_ = LinkState::kHandshake; }
  void LinkTransfer() { link_state_ = LinkState::kTransfer; }
  // Bytes came from the primary.
  void LinkIo(int64_t now_ms) { last_io_ms_ = now_ms; }
  // Synced (a full sync loaded, `synced_now`, or a partial resync): the
  // link is up.
  void LinkUp(int64_t now_ms, bool synced_now);
  // The link is gone; `following` when a primary is still set (the cron
  // then reconnects). Returns true when it was up.
  bool LinkClosed(int64_t now_ms, bool following);
  // A replica's data age (cluster failover): since the last I/O while the
  // link is up, else since it went down (the whole clock when it never was
  // up).
  int64_t DataAgeMs(int64_t now_ms) const;

  // ---- Both sides: repl-timeout ----

  // Drops PSYNC replicas silent (no ACK) for more than `timeout_ms` once
  // online or waiting for their first ACK, and, when `link_open`, a link
  // past its connect whose primary sent nothing for as long
  // (DropPrimaryLink).
  ReplReady CheckTimeouts(int64_t now_ms, int64_t timeout_ms, bool link_open);

 private:
  struct Waiter {
    ClientId client = 0;
    int64_t num_replicas = 0;
    int64_t offset = 0;
    int64_t deadline_ms = 0;  // 0: forever
  };

  void Route(ReplicaRecord& r, std::string_view bytes, int64_t now_ms, const StreamLimits& limits,
             const ClientLookup& lookup, ReplReady& out);
  // Ends a replica's holding: ReleaseHeld for what it held.
  static void Release(ReplicaRecord& r, ReplReady& out);

  std::vector<ReplicaRecord> replicas_;
  std::vector<std::pair<ClientId, ReplicaConf>> pending_conf_;
  std::vector<Waiter> waiters_;

  LinkState link_state_ = LinkState::kNone;
  int64_t last_io_ms_ = 0;
  int64_t down_since_ms_ = 0;
};

}  // namespace shardnode::replication
