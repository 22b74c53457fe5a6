// Simulator: a deterministic cluster of BusEngine + ClusterState pairs on a
// fake clock and an in-memory network. It plays the part of the Asio shell
// for every node: it carries out ConnectAction / SendAction / CloseAction,
// runs each node's 100 ms cron (BusEngine::Tick then ClusterState::Tick) and,
// after every call into a node, evaluates the cluster state when asked and
// drains the effects, as node/server/cluster_setup.cc does.
//
// The network delays every message (per-connection order is kept, as TCP
// does), can break connections at random (losing a write), and can be
// partitioned into groups:
// traffic between groups is lost and new connections between them fail.
// Killed nodes close their connections and refuse new ones.
//
// Beyond TCP's behaviour the network can also lose single messages without
// resetting the connection, duplicate them and reorder them on one
// connection (options below; all off by default), and links can be cut in
// one direction only (asymmetric partitions). Each node reads its own
// clock: the simulated time plus an offset that clock jumps move, as the
// shell's wall clock (node/server/clock.h) can jump.
//
// Every SaveConfig a node asks for stores SerializeNodesConf's text; a
// restart parses that text with ParseNodesConf, as the shell loads
// nodes.conf, so whatever a node did not save is lost in a crash.
//
// Everything random (delays, drops, tick phases, node ids, the engines'
// seeds) comes from one seed, so a run is reproducible.
//
// Single-threaded; test code only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "clusterbus/bus_engine.h"
#include "clusterbus/cluster_state.h"

namespace shardnode::sim {

struct SimOptions {
  int64_t node_timeout_ms = 3000;
  bool require_full_coverage = true;
  int64_t min_delay_ms = 1;
  int64_t max_delay_ms = 20;
  // Probability that a write is lost and its connection reset (both ends
  // get OnLinkClosed), as with a broken TCP connection.
  double drop_rate = 0.0;
  // Probability that one message is silently lost, duplicated, or
  // delivered out of order on its connection (not TCP's behaviour: a
  // stress beyond it).
  double loss_rate = 0.0;
  double dup_rate = 0.0;
  double reorder_rate = 0.0;
};

class Simulator {
 public:
  Simulator(uint64_t seed, SimOptions options);
  ~Simulator();
  Simulator(const Simulator&) = delete;  // events capture `this`
  Simulator& operator=(const Simulator&) = delete;

  // Adds a fresh node (a primary knowing only itself) with address
  // 10.0.x.y:7000@17000. Returns its index.
  int AddNode();
  int num_nodes() const { return static_cast<int>(nodes_.size()); }
  clusterbus::ClusterState& state(int i);
  clusterbus::BusEngine& engine(int i);
  const std::string& id(int i);
  const std::string& ip(int i) const;
  bool alive(int i) const;
  int64_t now() const { return now_ms_; }
  // Node i's clock (now() plus its offset).
  int64_t node_now(int i) const;
  // The last nodes.conf text node i saved.
  const std::string& saved_config(int i) const;
  // Set when the simulated shell met something a real one cannot live
  // with (a saved nodes.conf that does not parse); empty otherwise.
  const std::string& fatal() const { return fatal_; }

  // Admin commands, run on node i as a client would (the effects are
  // carried out at once).
  void Meet(int from, int to);
  void AddSlots(int i, int start, int end);
  void SetConfigEpoch(int i, uint64_t epoch);
  // Any other admin command: `fn` runs on node i's state, then the effects
  // and actions are carried out.
  void Admin(int i, const std::function<void(clusterbus::ClusterState&)>& fn);

  // CLUSTER FAILOVER [FORCE|TAKEOVER] on node i (actions carried out at once).
  absl::Status Failover(int i, clusterbus::FailoverMode mode);
  // What node i's engine reads of its replication (clusterbus::NodeView).
  void set_repl_offset(int i, uint64_t offset);
  void set_data_age(int i, int64_t ms);
  // Called with every line a node logs (the shell's log file). Lines come
  // when the shell drains the engine, after the call that logged them: the
  // state may have moved on since (TakeReady re-evaluates the cluster
  // state first); call_start says how it stood when the call began.
  void set_log_observer(std::function<void(int, const clusterbus::LogLine&)> fn) {
    log_observer_ = std::move(fn);
  }
  // Node i's cluster size (ClusterState::size) and role when its last
  // message delivery began: failure detection, which runs only on
  // messages, counts against that size (the next re-evaluation comes when
  // the shell drains), with myself's vote when a primary (the role can
  // change within the call, before the gossip, not the size).
  struct CallStart {
    int size = 0;
    bool primary = false;
  };
  const CallStart& call_start(int i) const;

  // Faults.
  void Kill(int i);
  // A killed node starts again from the nodes.conf text it saved last
  // (through ParseNodesConf), with a fresh engine and no links.
  void Restart(int i);
  // Nodes in different groups cannot talk; nodes not listed form one more group.
  void Partition(const std::vector<std::vector<int>>& groups);
  // Messages from `from` to `to` are lost (and connections between them
  // cannot be made) while the other direction still carries them.
  void BlockOneWay(int from, int to);
  // `a`'s messages reach `b` now (both alive, same group, no one-way block).
  bool CanSend(int a, int b) const;
  // Ends every partition and one-way block.
  void Heal();
  // Moves node i's clock by `delta_ms` (either way).
  void JumpClock(int i, int64_t delta_ms);
  void set_drop_rate(double rate) { options_.drop_rate = rate; }
  SimOptions& options() { return options_; }

  // Runs the clock forward. `check`, when set, runs every 100 ms of
  // simulated time (invariants; use gtest assertions inside).
  void RunFor(int64_t ms);
  // Runs until `done` holds (checked every `every_ms`) or `max_ms` passed.
  // Returns the simulated time it took, or -1 on timeout.
  int64_t RunUntil(const std::function<bool()>& done, int64_t max_ms, int64_t every_ms = 100);
  void set_check(std::function<void()> check) { check_ = std::move(check); }

  // What node i's shell was asked to carry out on its data and config.
  struct ShellRecord {
    uint64_t config_saves = 0;
    uint64_t flushes = 0;
    uint64_t deliveries = 0;
    std::vector<int> deleted_key_slots;  // DeleteKeysInSlots, in order
  };
  const ShellRecord& shell_record(int i) const;

  uint64_t messages_delivered() const { return messages_delivered_; }
  uint64_t writes_dropped() const { return writes_dropped_; }

 private:
  struct Node;
  struct Conn;
  struct Event {
    int64_t at;
    uint64_t seq;
    std::function<void()> fn;
    bool operator>(const Event& o) const { return at != o.at ? at > o.at : seq > o.seq; }
  };

  void Schedule(int64_t delay, std::function<void()> fn);
  int64_t Delay();
  bool CanTalk(int a, int b) const;
  void Deliver(int peer_node, clusterbus::LinkId peer,
               const std::vector<clusterbus::Message>& messages);
  int FindByBusAddress(const std::string& ip, int cport) const;
  void ScheduleTick(int i, int64_t at);
  // Carries out every item of node i's Ready after a call into it.
  void Drain(int i);
  void DoConnect(int i, const clusterbus::ConnectAction& a);
  void DoSend(int i, const clusterbus::SendAction& a);
  void DoClose(int i, clusterbus::LinkId link);

  SimOptions options_;
  std::mt19937_64 rng_;
  int64_t now_ms_ = 0;
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, std::greater<Event>> events_;
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<int> group_;                 // partition group of each node
  std::set<std::pair<int, int>> blocked_;  // one-way blocks (from, to)
  std::string fatal_;
  // Every link end, by its id: the node holding it and the other end.
  std::map<clusterbus::LinkId, std::unique_ptr<Conn>> ends_;
  clusterbus::LinkId next_link_ = 1;
  std::function<void()> check_;
  std::function<void(int, const clusterbus::LogLine&)> log_observer_;
  uint64_t messages_delivered_ = 0;
  uint64_t writes_dropped_ = 0;
};

}  // namespace shardnode::sim
