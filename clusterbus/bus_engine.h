// BusEngine: the cluster bus protocol as a pure state machine (spec sections
// 6-10). It owns the links' protocol state and drives a ClusterState: MEET
// handshakes, PING/PONG with gossip, PFAIL/FAIL detection with failure
// reports, epochs and configEpoch collisions, slot claims and UPDATE
// messages, FAIL and PUBLISH propagation, replica elections (votes asked
// and given), automatic and manual failover (CLUSTER FAILOVER).
//
// Inputs: link events from the shell, decoded messages, a tick every 100 ms
// with the current time, admin commands (MEET, PUBLISH). Output: one Ready
// per step (ready.h) holding the link actions and ClusterState's effects. No sockets, threads,
// clock reads or global randomness: time comes in as `now_ms`, randomness from the seed given at
// construction.
//
// Links: the shell names every TCP connection with a LinkId it chooses.
// Outbound links are opened at the engine's request (ConnectAction) and
// belong to one node; inbound links are accepted by the shell and learn
// their node from the messages that arrive on them.
//
// Contract with the shell (node/, tests/sim): after every call into the
// engine (and after admin commands on the ClusterState), the shell carries
// out every item of TakeReady(), handling each alternative (see ready.h),
// until TakeReady() comes back empty (carrying out an action may call into
// the engine again). Every 100 ms it calls Tick and then ClusterState::Tick. Nodes deleted through
// the ClusterState (FORGET, RESET) have their links closed by the engine on its next call.
//
// The engine is built on the state as loaded from nodes.conf: the slots
// then bound to other nodes wait for their owner's claim before any UPDATE
// of mine advertises them (unconfirmed_ below).
//
// Loop: the control loop only. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/node_hash_map.h"
#include "absl/status/status.h"
#include "clusterbus/cluster_state.h"
#include "clusterbus/codec/message.h"
#include "clusterbus/ready.h"

namespace shardnode::clusterbus {

// What the engine must know of the node it runs in (implemented by node/).
class NodeView {
 public:
  virtual ~NodeView() = default;
  // master_repl_offset for a primary, processed offset for a replica.
  virtual uint64_t ReplicationOffset() const = 0;
  // A replica's data age (spec 10.2): milliseconds since it last heard from
  // its primary while the link is up, or since the link went down.
  virtual int64_t ReplicationDataAgeMs(int64_t now_ms) const {
    (void)now_ms;
    return 0;
  }
};

enum class FailoverMode { kDefault, kForce, kTakeover };

// One row of CLUSTER LINKS.
struct LinkRow {
  bool outbound = false;
  std::string node_id;
  int64_t create_ms = 0;
};

class BusEngine {
 public:
  // REQUIRES: `state` and `node` outlive the engine.
  BusEngine(ClusterState& state, const NodeView& node, uint64_t seed);

  // ---- Link events from the shell.
  void OnOutboundConnected(LinkId link, std::string_view node_id, int64_t now_ms);
  void OnOutboundFailed(std::string_view node_id, int64_t now_ms);
  // `peer_ip`: the socket's remote address (used when a sender does not
  // announce its IP). `local_ip`: the socket's local address (getsockname),
  // from which a node without cluster-announce-ip learns its own IP on MEET.
  void OnInboundAccepted(LinkId link, std::string peer_ip, int64_t now_ms,
                         std::string local_ip = "");
  void OnLinkClosed(LinkId link, int64_t now_ms);
  // A decoded message that arrived on `link`.
  void OnMessage(LinkId link, const Message& message, int64_t now_ms);

  // ---- Time: every 100 ms (clusterCron).
  void Tick(int64_t now_ms);

  // ---- Admin commands.
  // CLUSTER MEET ip port [cport]: Redis's errors as the status message
  // (the text after "ERR ").
  absl::Status Meet(std::string_view ip, int port, int cport, int64_t now_ms);
  // PUBLISH / SPUBLISH: send to every node (shard=false) or to the nodes of
  // my shard (shard=true).
  void Publish(std::string_view channel, std::string_view message, bool shard);
  // Sends a PONG on every outbound link of a non-handshake node (after
  // SETSLOT NODE myself closes an import). Tick also does it when the
  // ClusterState's broadcast_pong effect is pending.
  void BroadcastPong();
  // DEBUG CLUSTERLINK KILL: frees my outbound link to `node` and/or the
  // inbound link it opened to me (the cron reconnects the outbound one;
  // messages sent meanwhile are lost).
  void KillLinks(ClusterNode& node, bool outbound, bool inbound);
  // CLUSTER FAILOVER [FORCE|TAKEOVER] on a replica (spec 10.7). Errors are
  // Redis's text after "ERR ": "You should send CLUSTER FAILOVER to a
  // replica", "I'm a replica but my master is unknown to me", "Master is
  // down or failed, please use CLUSTER FAILOVER FORCE".
  absl::Status Failover(FailoverMode mode, int64_t now_ms);
  // True while a manual failover is in progress (either side).
  bool manual_failover_in_progress() const { return mf_.end_ms != 0; }
  // Drop incoming messages of a type (DEBUG DROP-CLUSTER-PACKET-FILTER; -1 = none).
  void set_drop_filter(int type) { drop_filter_ = type; }

  // Everything decided since the last call: runs a requested state
  // evaluation (ClusterState::UpdateState) and a requested PONG broadcast,
  // then returns the link actions queued, in order, followed by the
  // ClusterState's effects (ClusterState::TakeReady).
  Ready TakeReady(int64_t now_ms);
  // CLUSTER LINKS.
  std::vector<LinkRow> Links() const;

 private:
  ClusterState& state_;
  const NodeView& node_;
  std::mt19937_64 rng_;
  int drop_filter_ = -1;
  std::vector<ReadyItem> actions_;  // link actions only, in order

  // A link the shell told us about. Outbound links belong to one node from
  // the start; inbound links learn theirs from the first message whose
  // sender is known (node_id empty until then).
  struct Link {
    bool outbound = false;
    std::string node_id;
    int64_t create_ms = 0;
    std::string peer_ip;
    std::string local_ip;
  };
  std::map<LinkId, Link> links_;
  // What the engine keeps per node about its links (Redis's node->link and
  // node->inbound_link), by node id. Entries of deleted nodes go with
  // SweepLinks / DeleteNode; a rename moves its entry.
  struct NodeLinks {
    LinkId outbound = 0;      // the connected outbound link
    bool connecting = false;  // a ConnectAction is outstanding
    int64_t ctime_ms = 0;     // when the outbound link was created
    std::string queue;        // bytes written while connecting
    LinkId inbound = 0;       // the inbound link that identified itself
    bool has_outbound() const { return outbound != 0 || connecting; }
  };
  // Hashed (looked up on every message and tick; never walked in order).
  // Entries keep their address (node_hash_map; a rename moves the entry).
  absl::node_hash_map<std::string, NodeLinks> node_links_;
  // The entry of a node, by the node's address: a pointer hash instead of
  // hashing and comparing 40-byte ids, several times per node on every tick
  // (15% of a 50-node simulation). Emptied when the node table changes
  // (table_generation: a deleted node's address may be reused) and by the
  // engine's own erasures.
  absl::flat_hash_map<const ClusterNode*, NodeLinks*> links_by_node_;
  uint64_t links_by_node_generation_ = ~0ull;
  NodeLinks& LinksOf(const ClusterNode& node) {
    if (links_by_node_generation_ != state_.table_generation()) {
      links_by_node_.clear();
      links_by_node_generation_ = state_.table_generation();
    }
    NodeLinks*& cached = links_by_node_[&node];
    if (cached == nullptr) cached = &node_links_[node.id];
    return *cached;
  }
  uint64_t iteration_ = 0;            // Tick count (the random ping runs every 10th)
  int pfail_nodes_ = 0;               // PFAIL nodes counted by the last Tick
  uint64_t seen_generation_ = ~0ull;  // ClusterState::table_generation() last swept

  // Links and sending.
  void SweepLinks();
  ClusterNode* LinkNode(const Link& link);
  void CloseLink(LinkId id);
  void FreeOutbound(ClusterNode& node);
  void DeleteNode(ClusterNode& node);
  void SendOnLink(LinkId link, const Message& msg);
  void SendToNode(ClusterNode& node, const Message& msg);
  void Broadcast(const Message& msg);
  void Connect(ClusterNode& node, int64_t now_ms);
  std::string RandomId();

  // Message building.
  // Also notes the configEpoch announced (announced_epoch_).
  MessageHeader BuildHeader(MessageType type);
  Message BuildPing(MessageType type);
  void SendPing(ClusterNode& node, MessageType type, int64_t now_ms);

  // Message processing (Redis's clusterProcessPacket, split by step).
  ClusterNode* Lookup(std::string_view id);
  ClusterNode* SenderOf(LinkId link_id, Link& link, const MessageHeader& hdr);
  // Returns false when the link was freed and processing must stop.
  bool ProcessPingTypes(LinkId link_id, const Message& msg, ClusterNode* sender,
                        uint64_t sender_config_epoch, int64_t now_ms);
  void ProcessGossip(const PingBody& body, ClusterNode* sender, int64_t now_ms);
  void ProcessExtensions(const PingBody& body, ClusterNode& sender);
  bool UpdateAddressIfNeeded(ClusterNode& node, LinkId link_id, const MessageHeader& hdr);
  void SetNodeAsPrimary(ClusterNode& node);
  // Who made a claim: the claimer itself (its own ping) or a third node
  // telling me of it (an UPDATE, built from that node's view).
  enum class ClaimSource { kOwnMessage, kUpdate };
  void UpdateSlotsConfigWith(ClusterNode& sender, uint64_t sender_config_epoch,
                             const slots::SlotSet& claimed, ClaimSource source);
  void HandleConfigEpochCollision(ClusterNode& sender);
  void MarkNodeAsFailingIfNeeded(ClusterNode& node, int64_t now_ms);
  void ClearNodeFailureIfNeeded(ClusterNode& node, int64_t now_ms);
  int CountFailureReports(ClusterNode& node, int64_t now_ms);
  void SendUpdate(ClusterNode& to, const ClusterNode& about);

  // Replica elections and manual failover (failover.cc, spec 10).
  struct Election {
    int64_t auth_time_ms = 0;  // when the election starts (or started)
    int votes = 0;
    bool sent = false;  // AUTH_REQUEST broadcast for this attempt
    int rank = 0;
    uint64_t epoch = 0;  // the currentEpoch the votes were asked for
  };
  struct ManualFailover {
    int64_t end_ms = 0;  // 0: none in progress
    bool can_start = false;
    std::string replica;          // primary side: the replica that asked
    int64_t primary_offset = -1;  // replica side: the paused primary's offset
  };
  Election election_;
  // The highest configEpoch my headers announced (as a replica, my
  // primary's). Others' views of me never go below it.
  uint64_t announced_epoch_ = 0;
  ManualFailover mf_;
  int cant_failover_reason_ = 0;
  int64_t cant_failover_logged_ms_ = 0;

  void ResetManualFailover();
  void CheckManualFailoverTimeout(int64_t now_ms);
  void HandleManualFailover(int64_t now_ms);
  void HandleReplicaFailover(int64_t now_ms);
  void LogCantFailover(int reason, int64_t now_ms);
  int ReplicaRank() const;
  void RequestFailoverAuth();
  void SendFailoverAuthIfNeeded(ClusterNode& requester, const MessageHeader& hdr, int64_t now_ms);
  void OnFailoverAuthAck(ClusterNode& sender, const MessageHeader& hdr, int64_t now_ms);
  void OnMfStart(LinkId link_id, ClusterNode& sender, int64_t now_ms);
  void ReplaceMyPrimary(int64_t now_ms);
  void SendEmpty(ClusterNode& to, MessageType type);

  // Slots bound to a node that stopped claiming them (Redis's
  // owner_not_claiming_slot): kept bound, but any claimer may take them and
  // UPDATE messages leave them out.
  slots::SlotSet not_claiming_;
  // not_claiming_ for `slot`, except that myself always claims the slots it
  // owns: a mark left from the previous owner (my primary, before I took
  // its slots in a failover) must not let a stale claimer with a lower
  // configEpoch take them from me. Redis 7.0.15 keeps that mark (its
  // failover never clears owner_not_claiming_slot) and can lose the slot
  // that way; found by the simulation sweep (seed 154).
  bool NotClaiming(int slot) const {
    return not_claiming_.Test(slot) && state_.SlotOwner(slot) != &state_.myself();
  }
  // Slots bound to another node when the engine started (loaded from
  // nodes.conf) whose owner has not claimed them to me since. The file
  // keeps bindings but not the not-claiming marks, so a binding may be one
  // its owner gave up (SETSLOT NODE to a target) before I went down: until
  // the owner claims the slot (or another claimer takes it), no UPDATE of
  // mine advertises it, else a target whose configEpoch is below the old
  // owner's would drop the slot on my word and nobody would serve it
  // (sweep seed 100164; Redis 7.0.15 has the same hole). Only UPDATEs are
  // held back: rebinding and votes still follow the binding. Never for
  // my own slots.
  slots::SlotSet unconfirmed_;
  bool Unconfirmed(int slot) const {
    return unconfirmed_.Test(slot) && state_.SlotOwner(slot) != &state_.myself();
  }
  // Slots I imported (SETSLOT NODE myself closed the import), by slot: the
  // node I imported from, and the configEpoch with which that node was
  // last seen not claiming the slot (0: not seen yet). Beyond Redis 7.0.15:
  // when my import ended with a configEpoch below the source's (my view of
  // the epochs was stale: just restarted, or cut off), the source's claims
  // of the slot from before the handoff (its own pings still in flight,
  // UPDATEs about it from nodes that have not yet seen it let go) would
  // take the slot back, after which nobody would claim it (the sweep's
  // stale-target-epoch seeds). So claims of that slot by that node at an
  // epoch no newer than the one it let the slot go with are stale and left
  // out; newer ones (it took the slot back) follow the usual rules. Kept
  // while I own the slot and my configEpoch is not above that epoch.
  // Until the source is seen letting go, its own claims are held back for
  // two node timeouts only: it may have taken the slot back meanwhile (a
  // new import of its own, bumping its epoch) before any ping of it showed
  // me the slot let go. UPDATEs about it stay held back until then: they
  // carry a third node's view, which may never have seen the handoff (cut
  // off when it happened) however long ago it was; if the source did take
  // the slot back, its own pings tell me (sweep seed 710074: an UPDATE
  // from such a view, after the source had been down past the two node
  // timeouts, gave the slot back to a source that no longer claimed it).
  // The source's replicas when the import ended are held to the same rule:
  // one of them may have taken the source's slots over (a failover, or a
  // TAKEOVER) with an epoch above mine before the handoff, and been told of
  // the handoff only after its claim went out (SETSLOT NODE reaching every
  // primary): its claim would take the slot from me and nobody would claim
  // it (sweep seeds 100076, 200084, 400292, 500912). So the guard keeps,
  // per node of the source's side, the epoch that node was last seen not
  // claiming the slot with (0: not seen yet).
  struct ImportGuard {
    std::map<std::string, uint64_t, std::less<>> let_go_epochs;
    int64_t unknown_until_ms = 0;
  };
  std::map<int, ImportGuard> import_guards_;
  int64_t guard_now_ms_ = 0;  // the time of the call in progress
  void TakeFinishedImports(int64_t now_ms);
  // Whether `sender`'s claim of `slot` at `epoch` is a stale one (above).
  bool StaleImportClaim(int slot, const ClusterNode& sender, uint64_t epoch, ClaimSource source);
};

}  // namespace shardnode::clusterbus
