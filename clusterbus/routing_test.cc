#include "clusterbus/routing.h"

#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "clusterbus/cluster_state.h"
#include "gtest/gtest.h"
#include "slots/hash_slot.h"

namespace shardnode::clusterbus {
namespace {

const std::string kMe(40, 'a');
const std::string kPeer(40, 'b');

// "foo" -> 12182, "bar" -> 5061, "{foo}x" -> 12182.
class RoutingTest : public ::testing::Test {
 protected:
  RoutingTest() : state_(kMe, ClusterOptions{}) {
    ClusterNode& peer = state_.AddNode(kPeer, kFlagPrimary, 0);
    peer.ip = "127.0.0.1";
    peer.port = 7003;
    for (int s = 0; s < 10000; ++s) state_.BindSlot(s, state_.myself());
    for (int s = 10000; s < slots::kNumSlots; ++s) state_.BindSlot(s, peer);
    state_.UpdateState(0);
    state_.UpdateState(3000);
  }
  RouteResult Go(RouteInput in) {
    // Routing reads the snapshot the control loop would publish now.
    return Route(*SlotTable::Build(state_), in,
                 [this](std::string_view k) { return present_.count(std::string(k)); });
  }
  ClusterState state_;
  std::set<std::string> present_;
};

// A redirection's target, "<slot> <endpoint>:<port>".
std::string Target(const RouteResult& r) {
  return std::to_string(r.slot) + " " + r.endpoint + ":" + std::to_string(r.port);
}

TEST_F(RoutingTest, LocalMovedCrossSlot) {
  ASSERT_TRUE(state_.ok());
  EXPECT_EQ(Go({.keys = {"bar"}}).outcome, RouteOutcome::kLocal);
  EXPECT_EQ(Go({}).outcome, RouteOutcome::kLocal);
  RouteResult r = Go({.keys = {"foo"}});
  EXPECT_EQ(r.outcome, RouteOutcome::kMoved);
  EXPECT_EQ(Target(r), "12182 127.0.0.1:7003");
  EXPECT_EQ(Go({.keys = {"bar", "foo"}}).outcome, RouteOutcome::kCrossSlot);
  EXPECT_EQ(Go({.keys = {"foo", "{foo}x"}}).outcome, RouteOutcome::kMoved);
}

TEST_F(RoutingTest, UnboundBeforeDownCheck) {
  state_.UnbindSlot(5061);
  state_.UpdateState(4000);
  EXPECT_FALSE(state_.ok());
  EXPECT_EQ(Go({.keys = {"bar"}}).outcome, RouteOutcome::kUnbound);
  EXPECT_EQ(Go({.keys = {"foo"}}).outcome, RouteOutcome::kDown);
  EXPECT_EQ(Go({.keys = {"foo"}, .allow_reads_when_down = true}).outcome, RouteOutcome::kMoved);
  EXPECT_EQ(Go({.keys = {"foo"}, .is_write = true, .allow_reads_when_down = true}).outcome,
            RouteOutcome::kDownReadOnly);
  EXPECT_EQ(Go({.keys = {"foo"}, .shard_pubsub = true}).outcome, RouteOutcome::kMoved);
  EXPECT_EQ(
      Go({.keys = {"foo"}, .shard_pubsub = true, .allow_pubsubshard_when_down = false}).outcome,
      RouteOutcome::kDown);
}

TEST_F(RoutingTest, MigratingAskAndTryAgain) {
  state_.SetMigrating(5061, state_.FindNode(kPeer));
  // "bar" and "{bar}2" share slot 5061.
  present_.insert("bar");
  EXPECT_EQ(Go({.keys = {"bar"}}).outcome, RouteOutcome::kLocal);
  RouteResult r = Go({.keys = {"{bar}2"}});
  EXPECT_EQ(r.outcome, RouteOutcome::kAsk);
  EXPECT_EQ(Target(r), "5061 127.0.0.1:7003");
  EXPECT_EQ(Go({.keys = {"bar", "{bar}2"}}).outcome, RouteOutcome::kTryAgain);
  EXPECT_EQ(Go({.keys = {"{bar}2"}, .is_migrate = true}).outcome, RouteOutcome::kLocal);
  // Channels are not looked up.
  EXPECT_EQ(Go({.keys = {"{bar}2"}, .shard_pubsub = true}).outcome, RouteOutcome::kLocal);
}

TEST_F(RoutingTest, MigratingToMyselfServesMissingKeys) {
  state_.SetMigrating(5061, &state_.myself());
  present_.insert("bar");
  EXPECT_EQ(Go({.keys = {"{bar}2"}}).outcome, RouteOutcome::kLocal);
  EXPECT_EQ(Go({.keys = {"{bar}2"}, .is_write = true}).outcome, RouteOutcome::kLocal);
  EXPECT_EQ(Go({.keys = {"bar", "{bar}2"}}).outcome, RouteOutcome::kTryAgain);
}

TEST_F(RoutingTest, ImportingNeedsAsking) {
  state_.SetImporting(12182, state_.FindNode(kPeer));
  EXPECT_EQ(Go({.keys = {"foo"}}).outcome, RouteOutcome::kMoved);
  EXPECT_EQ(Go({.keys = {"foo"}, .asking = true}).outcome, RouteOutcome::kLocal);
  present_.insert("foo");
  EXPECT_EQ(Go({.keys = {"foo", "{foo}x"}, .asking = true}).outcome, RouteOutcome::kTryAgain);
  present_.insert("{foo}x");
  EXPECT_EQ(Go({.keys = {"foo", "{foo}x"}, .asking = true}).outcome, RouteOutcome::kLocal);
}

TEST_F(RoutingTest, ReadonlyReplicaServesPrimaryReads) {
  ClusterNode& me = state_.myself();
  for (int s = 0; s < 10000; ++s) state_.BindSlot(s, *state_.FindNode(kPeer));
  me.flags = kFlagMyself | kFlagReplica;
  state_.SetPrimary(me, state_.FindNode(kPeer));
  EXPECT_EQ(Go({.keys = {"foo"}}).outcome, RouteOutcome::kMoved);
  EXPECT_EQ(Go({.keys = {"foo"}, .readonly = true}).outcome, RouteOutcome::kLocal);
  EXPECT_EQ(Go({.keys = {"foo"}, .is_write = true, .readonly = true}).outcome,
            RouteOutcome::kMoved);
  EXPECT_EQ(Go({.keys = {"foo"}, .shard_pubsub = true}).outcome, RouteOutcome::kLocal);
}

TEST_F(RoutingTest, HostnameEndpoint) {
  ClusterOptions o;
  o.preferred_endpoint = PreferredEndpoint::kHostname;
  state_.set_options(o);
  const RouteResult r = Go({.keys = {"foo"}});
  EXPECT_EQ(r.outcome, RouteOutcome::kMoved);
  EXPECT_EQ(Target(r), "12182 ?:7003");
}

// Seam 4 of issue 9: the published snapshot changes exactly when routing
// would, and a reader sees each new one.
TEST_F(RoutingTest, SlotTableIsRepublishedWhenRoutingChangesOnly) {
  SlotTableBox box;
  SlotTableReader reader(box);
  EXPECT_EQ(reader.Get(), nullptr);
  EXPECT_TRUE(box.Publish(SlotTable::Build(state_)));
  const SlotTable* first = reader.Get();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(reader.Get(), first);  // cached while nothing new is published
  RouteInput foo{.keys = {"foo"}};
  auto exists = [](std::string_view) { return false; };
  EXPECT_EQ(Route(*first, foo, exists).outcome, RouteOutcome::kMoved);

  // Nothing that routing reads changed: no new table.
  state_.FindNode(kPeer)->ping_sent_ms = 1234;
  state_.myself().config_epoch = 9;
  EXPECT_FALSE(box.Publish(SlotTable::Build(state_)));
  EXPECT_EQ(box.version(), 1u);

  // A slot moves to myself: a new table, and the reader switches to it.
  state_.BindSlot(12182, state_.myself());
  EXPECT_TRUE(box.Publish(SlotTable::Build(state_)));
  const SlotTable* second = reader.Get();
  ASSERT_NE(second, first);
  EXPECT_EQ(Route(*second, foo, exists).outcome, RouteOutcome::kLocal);

  // Open-slot marks, the cluster state, the peer's address and my role
  // each make a new table.
  state_.SetMigrating(12182, state_.FindNode(kPeer));
  EXPECT_TRUE(box.Publish(SlotTable::Build(state_)));
  RouteResult r = Route(*reader.Get(), foo, exists);
  EXPECT_EQ(r.outcome, RouteOutcome::kAsk);
  EXPECT_EQ(Target(r), "12182 127.0.0.1:7003");
  state_.SetMigrating(12182, nullptr);
  state_.SetImporting(0, state_.FindNode(kPeer));
  EXPECT_TRUE(box.Publish(SlotTable::Build(state_)));
  EXPECT_TRUE(reader.Get()->importing(0));
  state_.SetImporting(0, nullptr);
  state_.UnbindSlot(5061);
  state_.UpdateState(5000);
  ASSERT_FALSE(state_.ok());
  EXPECT_TRUE(box.Publish(SlotTable::Build(state_)));
  EXPECT_FALSE(reader.Get()->ok());
  state_.FindNode(kPeer)->port = 7004;
  EXPECT_TRUE(box.Publish(SlotTable::Build(state_)));
  r = Route(*reader.Get(), {.keys = {"a"}, .allow_reads_when_down = true}, exists);
  EXPECT_EQ(r.outcome, RouteOutcome::kMoved);
  EXPECT_EQ(Target(r), std::to_string(slots::KeyHashSlot("a")) + " 127.0.0.1:7004");
  ClusterNode& me = state_.myself();
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (state_.SlotOwner(s) == &me) state_.BindSlot(s, *state_.FindNode(kPeer));
  }
  EXPECT_TRUE(box.Publish(SlotTable::Build(state_)));
  me.flags = kFlagMyself | kFlagReplica;
  state_.SetPrimary(me, state_.FindNode(kPeer));
  EXPECT_TRUE(box.Publish(SlotTable::Build(state_)));
  EXPECT_TRUE(reader.Get()->myself_is_replica());
  EXPECT_EQ(box.version(), 8u);
}

// IsCurrent answers "would Build give the same table?" without the walk:
// true while nothing routing reads changed, false after each kind of change
// (slots, marks, ok, an address or port written directly, my role and
// primary, the endpoint type).
TEST_F(RoutingTest, IsCurrentUntilRoutingInputsChange) {
  auto table = SlotTable::Build(state_);
  EXPECT_TRUE(table->IsCurrent(state_));
  ClusterNode& peer = *state_.FindNode(kPeer);
  ClusterNode& stranger = state_.AddNode(std::string(40, 'c'), kFlagPrimary, 0);
  // Gossip that changes nothing routing reads.
  peer.pong_received_ms = 12345;
  peer.ping_sent_ms = 12340;
  peer.cport = 17004;
  stranger.ip = "10.9.9.9";      // owns and receives nothing
  state_.BindSlot(10000, peer);  // a claim repeated
  EXPECT_TRUE(table->IsCurrent(state_));

  auto expect_stale_then_rebuild = [&](const char* what) {
    EXPECT_FALSE(table->IsCurrent(state_)) << what;
    auto rebuilt = SlotTable::Build(state_);
    EXPECT_TRUE(rebuilt->IsCurrent(state_)) << what;
    table = rebuilt;
  };
  state_.SetMigrating(5061, &peer);
  expect_stale_then_rebuild("migrating mark");
  state_.SetImporting(12182, &stranger);
  expect_stale_then_rebuild("importing mark");
  state_.BindSlot(0, peer);
  expect_stale_then_rebuild("slot owner");
  peer.ip = "127.0.0.2";
  expect_stale_then_rebuild("target address");
  peer.port = 7009;
  expect_stale_then_rebuild("target port");
  stranger.port = 7010;  // an import source is not a target
  EXPECT_TRUE(table->IsCurrent(state_));
  state_.UnbindSlot(1);
  expect_stale_then_rebuild("unbound slot");
  state_.UpdateState(9000);
  ASSERT_FALSE(state_.ok());
  expect_stale_then_rebuild("cluster state");
  ClusterOptions o;
  o.preferred_endpoint = PreferredEndpoint::kHostname;
  state_.set_options(o);
  expect_stale_then_rebuild("endpoint type");
  peer.hostname = "peer.example";
  expect_stale_then_rebuild("hostname with the hostname endpoint type");
  ClusterNode& me = state_.myself();
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (state_.SlotOwner(s) == &me) state_.UnbindSlot(s);
  }
  table = SlotTable::Build(state_);
  me.flags = kFlagMyself | kFlagReplica;
  expect_stale_then_rebuild("my role");
  state_.SetPrimary(me, &peer);
  expect_stale_then_rebuild("my primary");
  state_.SetPrimary(me, &stranger);
  expect_stale_then_rebuild("another primary");
  state_.SetPrimary(me, &peer);
  const std::string stranger_id = stranger.id;
  state_.DeleteNode(stranger_id);
  expect_stale_then_rebuild("a target deleted");
}

// An equal table is stored (it carries the newest version for IsCurrent)
// but readers are not told.
TEST_F(RoutingTest, PublishOfAnEqualTableKeepsReadersButStoresIt) {
  SlotTableBox box;
  EXPECT_TRUE(box.Publish(SlotTable::Build(state_)));
  state_.SetMigrating(5061, state_.FindNode(kPeer));
  state_.SetMigrating(5061, nullptr);  // the version moved, routing did not
  auto equal = SlotTable::Build(state_);
  EXPECT_FALSE(box.Load()->IsCurrent(state_));
  EXPECT_FALSE(box.Publish(equal));
  EXPECT_EQ(box.version(), 1u);
  EXPECT_EQ(box.Load(), equal);
  EXPECT_TRUE(box.Load()->IsCurrent(state_));
}

// Every routing answer of `t`: per slot the owner's endpoint and port,
// whether it is myself or my primary, the migration target's endpoint and
// port, and the importing mark; then ok and my role. (The views point into
// `t`, which must outlive the result.)
using SlotAnswer = std::tuple<std::string_view, int, bool, bool, std::string_view, int, bool>;
std::vector<SlotAnswer> Answers(const SlotTable& t) {
  std::vector<SlotAnswer> out;
  out.reserve(slots::kNumSlots + 1);
  out.emplace_back("", t.ok(), t.myself_is_replica(), false, "", 0, false);
  for (int s = 0; s < slots::kNumSlots; ++s) {
    const int16_t owner = t.owner(s);
    const SlotTable::Target* o = owner == SlotTable::kNone ? nullptr : &t.target(owner);
    const SlotTable::Target* to = t.migrating_to(s);
    out.emplace_back(o ? std::string_view(o->endpoint) : "-", o ? o->port : -1,
                     t.owned_by_myself(s), t.owned_by_my_primary(s),
                     to ? std::string_view(to->endpoint) : "-", to ? to->port : -1, t.importing(s));
  }
  return out;
}

// A table built from the previous one (copy, then only the changed chunks)
// answers exactly as one built from scratch, through random sequences of
// the changes a reshard, gossip and failovers make.
TEST_F(RoutingTest, BuildFromPreviousMatchesBuildFromScratch) {
  std::mt19937 rng(20261204);
  std::vector<std::string> ids = {kMe, kPeer, std::string(40, 'c'), std::string(40, 'd')};
  for (size_t i = 2; i < ids.size(); ++i) {
    ClusterNode& n = state_.AddNode(ids[i], kFlagPrimary, 0);
    n.ip = "127.0.0.1";
    n.port = 7100 + static_cast<int>(i);
  }
  auto pick = [&]() -> ClusterNode* {
    const std::string& id = ids[rng() % ids.size()];
    return state_.FindNode(id);
  };
  auto table = SlotTable::Build(state_);
  for (int step = 0; step < 400; ++step) {
    const int slot = static_cast<int>(rng() % slots::kNumSlots);
    switch (rng() % 9) {
      case 0:
      case 1:
        if (ClusterNode* n = pick()) state_.BindSlot(slot, *n);
        break;
      case 2:
        state_.UnbindSlot(slot);
        break;
      case 3:
        state_.SetMigrating(slot, rng() % 2 ? pick() : nullptr);
        break;
      case 4:
        state_.SetImporting(slot, rng() % 2 ? pick() : nullptr);
        break;
      case 5:
        if (ClusterNode* n = pick()) n->port = 7000 + static_cast<int>(rng() % 5);
        break;
      case 6:
        state_.UpdateState(3000 + step);
        break;
      case 7: {
        // Myself turns replica of another node, or back.
        ClusterNode& me = state_.myself();
        ClusterNode* p = pick();
        if (me.is_replica() || p == &me || p == nullptr) {
          me.flags = kFlagMyself | kFlagPrimary;
          state_.SetPrimary(me, nullptr);
        } else {
          me.flags = kFlagMyself | kFlagReplica;
          state_.SetPrimary(me, p);
        }
        break;
      }
      case 8:
        // A whole range, as a failover or an UPDATE message rebinds.
        if (ClusterNode* n = pick()) {
          for (int s = slot; s < std::min(slot + 700, slots::kNumSlots); ++s) {
            state_.BindSlot(s, *n);
          }
        }
        break;
    }
    if (step == 250) {
      // A node deleted: the next build starts from scratch.
      state_.DeleteNode(ids[3]);
      ids.pop_back();
    }
    const auto scratch = SlotTable::Build(state_);
    if (table->IsCurrent(state_)) {
      EXPECT_TRUE(Answers(*table) == Answers(*scratch)) << "step " << step;
      continue;
    }
    table = SlotTable::Build(state_, table.get());
    ASSERT_TRUE(Answers(*table) == Answers(*scratch)) << "step " << step;
    EXPECT_TRUE(table->IsCurrent(state_));
  }
}

}  // namespace
}  // namespace shardnode::clusterbus
