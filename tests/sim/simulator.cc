#include "tests/sim/simulator.h"

#include <cstdlib>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/strings/str_cat.h"
#include "clusterbus/codec/codec.h"
#include "clusterbus/nodes_conf.h"
#include "slots/slot_set.h"

namespace shardnode::sim {

using clusterbus::BusEngine;
using clusterbus::ClusterState;
using clusterbus::LinkId;

namespace {

constexpr int64_t kTickMs = 100;
constexpr int kPort = 7000;
constexpr int kBusPort = 17000;

// The replication a node reports to its engine, set by the test.
class ReplicationView : public clusterbus::NodeView {
 public:
  uint64_t ReplicationOffset() const override { return offset; }
  int64_t ReplicationDataAgeMs(int64_t) const override { return data_age_ms; }
  uint64_t offset = 0;
  int64_t data_age_ms = 0;
};

}  // namespace

struct Simulator::Node {
  std::string ip;
  std::unique_ptr<ClusterState> state;
  ReplicationView view;
  std::unique_ptr<BusEngine> engine;
  bool alive = true;
  // What the node's shell was asked to do to its data and its config (the
  // simulator keeps no keys: it records the requests for tests).
  ShellRecord record;
  int64_t clock_offset_ms = 0;
  std::string saved_conf;  // nodes.conf as last saved
  CallStart call_start;
};

// One end of a connection. Bytes written on it arrive at `peer` on node
// `peer_node`, in order, no earlier than `last_arrival`.
struct Simulator::Conn {
  int node = 0;
  int peer_node = 0;
  LinkId peer = 0;
  bool open = true;
  int64_t last_arrival = 0;
};

Simulator::Simulator(uint64_t seed, SimOptions options) : options_(options), rng_(seed) {}

Simulator::~Simulator() = default;

int Simulator::AddNode() {
  int i = num_nodes();
  auto node = std::make_unique<Node>();
  node->ip = absl::StrCat("10.0.", i / 250, ".", i % 250 + 1);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(clusterbus::kNodeIdLen, '0');
  for (char& c : id) c = kHex[rng_() & 15];
  clusterbus::ClusterOptions copts;
  copts.node_timeout_ms = options_.node_timeout_ms;
  copts.require_full_coverage = options_.require_full_coverage;
  node->state = std::make_unique<ClusterState>(id, copts);
  // As a fresh redis-server: ports known, own IP learned from peers.
  node->state->myself().port = kPort;
  node->state->myself().cport = kBusPort;
  node->engine = std::make_unique<BusEngine>(*node->state, node->view, rng_());
  node->state->RequestStateUpdate();
  // Saved before the ports are known, as the shell does on a first start.
  node->saved_conf = clusterbus::SerializeNodesConf(*node->state);
  nodes_.push_back(std::move(node));
  group_.push_back(0);
  std::uniform_int_distribution<int64_t> phase(0, kTickMs - 1);
  ScheduleTick(i, now_ms_ + phase(rng_));
  return i;
}

ClusterState& Simulator::state(int i) { return *nodes_[i]->state; }
BusEngine& Simulator::engine(int i) { return *nodes_[i]->engine; }
const std::string& Simulator::id(int i) { return nodes_[i]->state->myself().id; }
const std::string& Simulator::ip(int i) const { return nodes_[i]->ip; }
bool Simulator::alive(int i) const { return nodes_[i]->alive; }
int64_t Simulator::node_now(int i) const { return now_ms_ + nodes_[i]->clock_offset_ms; }
const std::string& Simulator::saved_config(int i) const { return nodes_[i]->saved_conf; }

// ---- Admin --------------------------------------------------------------------

void Simulator::Meet(int from, int to) {
  absl::Status st = engine(from).Meet(ip(to), kPort, kBusPort, node_now(from));
  if (!st.ok()) std::abort();
  Drain(from);
}

void Simulator::AddSlots(int i, int start, int end) {
  slots::SlotRange range{start, end};
  absl::Status st = state(i).ChangeSlots({&range, 1}, /*del=*/false);
  if (!st.ok()) std::abort();
  Drain(i);
}

void Simulator::SetConfigEpoch(int i, uint64_t epoch) {
  absl::Status st = state(i).SetConfigEpoch(static_cast<int64_t>(epoch));
  if (!st.ok()) std::abort();
  Drain(i);
}

void Simulator::Admin(int i, const std::function<void(ClusterState&)>& fn) {
  fn(state(i));
  Drain(i);
}

absl::Status Simulator::Failover(int i, clusterbus::FailoverMode mode) {
  absl::Status st = engine(i).Failover(mode, node_now(i));
  Drain(i);
  return st;
}

void Simulator::set_repl_offset(int i, uint64_t offset) { nodes_[i]->view.offset = offset; }
void Simulator::set_data_age(int i, int64_t ms) { nodes_[i]->view.data_age_ms = ms; }
const Simulator::ShellRecord& Simulator::shell_record(int i) const { return nodes_[i]->record; }
const Simulator::CallStart& Simulator::call_start(int i) const { return nodes_[i]->call_start; }

// ---- Faults -------------------------------------------------------------------

void Simulator::Restart(int i) {
  Node& n = *nodes_[i];
  if (n.alive) return;
  clusterbus::ClusterOptions copts = n.state->options();
  auto loaded = clusterbus::ParseNodesConf(n.saved_conf, copts, node_now(i));
  if (!loaded.ok()) {
    if (fatal_.empty()) {
      fatal_ = absl::StrCat("node ", i, " cannot load its nodes.conf: ", loaded.status().message(),
                            "\n", n.saved_conf);
    }
    return;
  }
  // The engine refers to the state: drop it first.
  n.engine.reset();
  n.state = std::move(*loaded);
  // As the shell does after loading (ApplyMyselfAddress): the configured
  // ports; what loading asked for is moot before the node serves.
  n.state->myself().port = kPort;
  n.state->myself().cport = kBusPort;
  clusterbus::Ready from_loading = n.state->TakeReady(node_now(i));
  (void)from_loading;
  n.engine = std::make_unique<BusEngine>(*n.state, n.view, rng_());
  n.alive = true;
  n.state->RequestStateUpdate();
  ScheduleTick(i, now_ms_ + 1);
}

void Simulator::Kill(int i) {
  nodes_[i]->alive = false;
  for (auto& [link, end] : ends_) {
    if (!end->open || (end->node != i && end->peer_node != i)) continue;
    end->open = false;
    if (end->node == i) continue;
    // The surviving side sees the connection reset.
    LinkId l = link;
    int holder = end->node;
    Schedule(Delay(), [this, holder, l] {
      if (!nodes_[holder]->alive) return;
      engine(holder).OnLinkClosed(l, node_now(holder));
      Drain(holder);
    });
  }
}

void Simulator::Partition(const std::vector<std::vector<int>>& groups) {
  std::fill(group_.begin(), group_.end(), 0);
  for (size_t g = 0; g < groups.size(); ++g) {
    for (int i : groups[g]) group_[i] = static_cast<int>(g) + 1;
  }
}

void Simulator::BlockOneWay(int from, int to) { blocked_.insert({from, to}); }

void Simulator::Heal() {
  std::fill(group_.begin(), group_.end(), 0);
  blocked_.clear();
}

void Simulator::JumpClock(int i, int64_t delta_ms) { nodes_[i]->clock_offset_ms += delta_ms; }

bool Simulator::CanTalk(int a, int b) const {
  return nodes_[a]->alive && nodes_[b]->alive && group_[a] == group_[b];
}

bool Simulator::CanSend(int a, int b) const { return CanTalk(a, b) && !blocked_.contains({a, b}); }

// ---- Clock --------------------------------------------------------------------

void Simulator::Schedule(int64_t delay, std::function<void()> fn) {
  events_.push(Event{now_ms_ + delay, seq_++, std::move(fn)});
}

int64_t Simulator::Delay() {
  std::uniform_int_distribution<int64_t> d(options_.min_delay_ms, options_.max_delay_ms);
  return d(rng_);
}

void Simulator::ScheduleTick(int i, int64_t at) {
  events_.push(Event{at, seq_++, [this, i] {
                       if (!nodes_[i]->alive) return;
                       engine(i).Tick(node_now(i));
                       state(i).Tick(node_now(i));
                       Drain(i);
                       ScheduleTick(i, now_ms_ + kTickMs);
                     }});
}

void Simulator::RunFor(int64_t ms) {
  const int64_t end = now_ms_ + ms;
  int64_t next_check = now_ms_ + kTickMs;
  while (!events_.empty() && events_.top().at <= end) {
    while (check_ && next_check <= events_.top().at) {
      now_ms_ = next_check;
      check_();
      next_check += kTickMs;
    }
    // Moved out, not copied: a delivery's function holds its messages.
    // (pop compares only `at` and `seq`, which the move leaves intact.)
    Event ev = std::move(const_cast<Event&>(events_.top()));
    events_.pop();
    now_ms_ = ev.at;
    ev.fn();
  }
  now_ms_ = end;
}

int64_t Simulator::RunUntil(const std::function<bool()>& done, int64_t max_ms, int64_t every_ms) {
  const int64_t start = now_ms_;
  while (now_ms_ - start < max_ms) {
    if (done()) return now_ms_ - start;
    RunFor(every_ms);
  }
  return done() ? now_ms_ - start : -1;
}

// ---- The shell's part -----------------------------------------------------------

void Simulator::Drain(int i) {
  Node& n = *nodes_[i];
  // Carrying out an item never calls into the engine synchronously here
  // (connects and deliveries are scheduled), but loop as a shell must.
  for (;;) {
    clusterbus::Ready ready = n.engine->TakeReady(node_now(i));
    if (ready.empty()) break;
    for (clusterbus::ReadyItem& item : ready.items) {
      std::visit(clusterbus::Overloaded{
                     [&](const clusterbus::ConnectAction& a) { DoConnect(i, a); },
                     [&](const clusterbus::SendAction& a) { DoSend(i, a); },
                     [&](const clusterbus::CloseAction& a) { DoClose(i, a.link); },
                     // No subscribers in the simulator.
                     [&](const clusterbus::DeliverAction&) { ++n.record.deliveries; },
                     [&](const clusterbus::LogLine& line) {
                       if (log_observer_) log_observer_(i, line);
                     },
                     // nodes.conf lives in memory: a restart parses this text.
                     [&](const clusterbus::SaveConfig&) {
                       ++n.record.config_saves;
                       n.saved_conf = clusterbus::SerializeNodesConf(*n.state);
                     },
                     [&](const clusterbus::FlushData&) { ++n.record.flushes; },
                     [&](const clusterbus::DeleteKeysInSlots& d) {
                       n.record.deleted_key_slots.insert(n.record.deleted_key_slots.end(),
                                                         d.slots.begin(), d.slots.end());
                     },
                     [&](const clusterbus::UnsubscribeShardSlots&) {},  // no subscribers
                     // No clients and no replication streams: the replication view
                     // is set by tests (set_repl_offset).
                     [&](const clusterbus::PauseWrites&) {},
                     [&](const clusterbus::StopReplication&) {},
                     [&](const clusterbus::ReplicatePrimary&) {},
                     [&](const clusterbus::ClusterStateChanged&) {},
                 },
                 item);
    }
  }
}

int Simulator::FindByBusAddress(const std::string& ip, int cport) const {
  if (cport != kBusPort) return -1;
  for (int j = 0; j < num_nodes(); ++j) {
    if (nodes_[j]->ip == ip) return j;
  }
  return -1;
}

void Simulator::DoConnect(int i, const clusterbus::ConnectAction& a) {
  int target = FindByBusAddress(a.ip, a.cport);
  std::string node_id = a.node_id;
  Schedule(Delay(), [this, i, target, node_id] {
    if (!nodes_[i]->alive) return;
    if (target < 0 || !CanSend(i, target) || !CanSend(target, i)) {
      engine(i).OnOutboundFailed(node_id, node_now(i));
      Drain(i);
      return;
    }
    LinkId mine = next_link_++;
    LinkId theirs = next_link_++;
    ends_[mine] = std::make_unique<Conn>(Conn{i, target, theirs, true, 0});
    ends_[theirs] = std::make_unique<Conn>(Conn{target, i, mine, true, 0});
    engine(target).OnInboundAccepted(theirs, nodes_[i]->ip, node_now(target), nodes_[target]->ip);
    Drain(target);
    engine(i).OnOutboundConnected(mine, node_id, node_now(i));
    Drain(i);
  });
}

void Simulator::DoSend(int i, const clusterbus::SendAction& a) {
  auto it = ends_.find(a.link);
  if (it == ends_.end() || !it->second->open) return;
  Conn& end = *it->second;
  if (!CanSend(i, end.peer_node)) return;  // lost in the partition
  std::bernoulli_distribution drop(options_.drop_rate);
  if (options_.drop_rate > 0 && drop(rng_)) {
    // A broken connection: the write is lost and both ends see a reset.
    ++writes_dropped_;
    LinkId peer = end.peer;
    int peer_node = end.peer_node;
    DoClose(peer_node, peer);
    Schedule(Delay(), [this, i, link = a.link] {
      if (!nodes_[i]->alive) return;
      engine(i).OnLinkClosed(link, node_now(i));
      Drain(i);
    });
    return;
  }
  // Frame the bytes exactly as a receiving shell would.
  std::vector<clusterbus::Message> messages;
  std::string_view buf = a.bytes;
  while (!buf.empty()) {
    size_t consumed = 0;
    clusterbus::Message msg;
    clusterbus::DecodeStatus st = clusterbus::Decode(buf, &consumed, &msg, nullptr);
    if (st != clusterbus::DecodeStatus::kMessage) std::abort();  // the engine wrote garbage
    messages.push_back(std::move(msg));
    buf.remove_prefix(consumed);
  }
  auto chance = [&](double p) { return p > 0 && std::bernoulli_distribution(p)(rng_); };
  if (chance(options_.loss_rate)) {
    ++writes_dropped_;
    return;
  }
  int64_t at = now_ms_ + Delay();
  if (!chance(options_.reorder_rate)) {
    at = std::max(at, end.last_arrival);
    end.last_arrival = at;
  }
  int peer_node = end.peer_node;
  LinkId peer = end.peer;
  if (chance(options_.dup_rate)) {
    events_.push(Event{at + Delay(), seq_++,
                       [this, peer_node, peer, messages] { Deliver(peer_node, peer, messages); }});
  }
  events_.push(Event{at, seq_++, [this, peer_node, peer, messages = std::move(messages)] {
                       Deliver(peer_node, peer, messages);
                     }});
}

void Simulator::Deliver(int peer_node, LinkId peer,
                        const std::vector<clusterbus::Message>& messages) {
  auto p = ends_.find(peer);
  if (p == ends_.end() || !p->second->open || !nodes_[peer_node]->alive) return;
  for (const clusterbus::Message& m : messages) {
    ++messages_delivered_;
    const ClusterState& st = state(peer_node);
    nodes_[peer_node]->call_start = {st.size(), st.myself().is_primary()};
    engine(peer_node).OnMessage(peer, m, node_now(peer_node));
    Drain(peer_node);
    if (!p->second->open) break;
  }
}

void Simulator::DoClose(int i, LinkId link) {
  auto it = ends_.find(link);
  if (it == ends_.end() || !it->second->open) return;
  it->second->open = false;
  auto peer = ends_.find(it->second->peer);
  if (peer == ends_.end() || !peer->second->open) return;
  peer->second->open = false;
  int holder = it->second->peer_node;
  LinkId l = it->second->peer;
  (void)i;
  Schedule(Delay(), [this, holder, l] {
    if (!nodes_[holder]->alive) return;
    engine(holder).OnLinkClosed(l, node_now(holder));
    Drain(holder);
  });
}

}  // namespace shardnode::sim
