#include "clusterbus/routing.h"

#include <set>
#include <string>

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

}  // namespace
}  // namespace shardnode::clusterbus
