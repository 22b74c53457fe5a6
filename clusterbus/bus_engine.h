// BusEngine: the cluster bus protocol as a pure state machine (spec sections
// 6-10). It owns the links' protocol state and drives a ClusterState: MEET
// handshakes, PING/PONG with gossip, PFAIL/FAIL detection with failure
// reports, epochs and configEpoch collisions, slot claims and UPDATE
// messages, FAIL and PUBLISH propagation.
//
// Inputs: link events from the shell, decoded messages, a tick every 100 ms
// with the current time, admin commands (MEET, PUBLISH). Outputs: actions the
// shell carries out (TakeActions), plus ClusterState's Effects (save config,
// state changed...). No sockets, threads, clock reads or global randomness:
// time comes in as `now_ms`, randomness from the seed given at construction.
//
// Links: the shell names every TCP connection with a LinkId it chooses.
// Outbound links are opened at the engine's request (ConnectAction) and
// belong to one node; inbound links are accepted by the shell and learn
// their node from the messages that arrive on them.
//
// Loop: the control loop only. Not thread-safe.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "clusterbus/cluster_state.h"
#include "clusterbus/codec/message.h"

namespace shardnode::clusterbus {

using LinkId = uint64_t;

// Open an outbound link to `node_id` at ip:cport; answer with
// OnOutboundConnected or OnOutboundFailed.
struct ConnectAction {
  std::string node_id;
  std::string ip;
  int cport = 0;
};
// Write these bytes (one or more encoded messages) on the link.
struct SendAction {
  LinkId link = 0;
  std::string bytes;
};
// Close the link (the shell then must not call OnLinkClosed for it).
struct CloseAction {
  LinkId link = 0;
};
// Deliver a PUBLISH / PUBLISHSHARD received from the bus to local subscribers.
struct DeliverAction {
  bool shard = false;
  std::string channel;
  std::string message;
};
using Action = std::variant<ConnectAction, SendAction, CloseAction, DeliverAction>;

// What the engine must know of the node it runs in (implemented by node/).
class NodeView {
 public:
  virtual ~NodeView() = default;
  // master_repl_offset for a primary, processed offset for a replica.
  virtual uint64_t ReplicationOffset() const = 0;
};

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
  // announce its IP).
  void OnInboundAccepted(LinkId link, std::string peer_ip, int64_t now_ms);
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
  // Drop incoming messages of a type (DEBUG DROP-CLUSTER-PACKET-FILTER; -1 = none).
  void set_drop_filter(int type) { drop_filter_ = type; }

  // Actions accumulated since the last call, in order.
  std::vector<Action> TakeActions();
  // CLUSTER LINKS.
  std::vector<LinkRow> Links() const;

 private:
  ClusterState& state_;
  const NodeView& node_;
  std::mt19937_64 rng_;
  int drop_filter_ = -1;
  std::vector<Action> actions_;
  // Link bookkeeping and the rest: the implementation's.
};

}  // namespace shardnode::clusterbus
