// Ready: everything one step of the cluster core (BusEngine + ClusterState)
// decided and the shell must carry out, as one value (etcd-io/raft's Ready).
//
// Every action and effect is one alternative of ReadyItem. Shells (node/
// and the simulator in tests/sim) handle a Ready with std::visit over an
// Overloaded set that names every alternative and has no catch-all, so
// adding an alternative that a shell does not carry out fails to compile
// there instead of being dropped silently.
//
// Items come in the order they must be carried out: the engine's link
// actions first (in the order it queued them), then the state's effects.
//
// Pure: plain values, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace shardnode::clusterbus {

using LinkId = uint64_t;

// ---- Link actions (the bus engine) ----------------------------------------

// Open an outbound link to `node_id` at ip:cport; answer with
// BusEngine::OnOutboundConnected or OnOutboundFailed.
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

// ---- Node effects (the cluster state) -------------------------------------

enum class LogSeverity { kDebug, kVerbose, kNotice, kWarning };
// Write a line to the log.
struct LogLine {
  LogSeverity severity;
  std::string text;
};
// Save nodes.conf (with fsync when asked). A failing save is fatal.
struct SaveConfig {
  bool fsync = false;
};
// CLUSTER RESET on a replica: empty every database.
struct FlushData {};
// Slots this primary lost to a newer claim while keeping others (Redis's
// "dirty slots"): delete the keys it still holds in them (database 0).
struct DeleteKeysInSlots {
  std::vector<int> slots;
};
// Slots my shard (myself, or my primary) stopped serving: their shard
// channel subscribers get an sunsubscribe (Redis's removeChannelsInSlot).
struct UnsubscribeShardSlots {
  std::vector<int> slots;
};
// Manual failover on a primary (spec 10.7): pause client writes until this
// wall-clock time; 0 ends the pause.
struct PauseWrites {
  int64_t until_ms = 0;
};
// Myself became a primary: stop replicating.
struct StopReplication {};
// Myself is (now) a replica of this node id: replicate it.
struct ReplicatePrimary {
  std::string node_id;
};
// The cluster state went ok <-> fail (ClusterState::ok() has the new value).
struct ClusterStateChanged {
  bool ok = false;
};

using ReadyItem = std::variant<ConnectAction, SendAction, CloseAction, DeliverAction, LogLine,
                               SaveConfig, FlushData, DeleteKeysInSlots, UnsubscribeShardSlots,
                               PauseWrites, StopReplication, ReplicatePrimary, ClusterStateChanged>;

struct Ready {
  std::vector<ReadyItem> items;
  bool empty() const { return items.empty(); }
};

// The visitor helper: std::visit(Overloaded{[](const A&) {...}, ...}, item).
// Give every alternative its own typed lambda (no `auto` parameter), so a
// missing one is a compile error.
template <class... Fs>
struct Overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
Overloaded(Fs...) -> Overloaded<Fs...>;

// The items of type T in `ready`, in order (tests and diagnostics).
template <class T>
std::vector<T> ItemsOf(const Ready& ready) {
  std::vector<T> out;
  for (const ReadyItem& item : ready.items) {
    if (const T* t = std::get_if<T>(&item)) out.push_back(*t);
  }
  return out;
}

}  // namespace shardnode::clusterbus
