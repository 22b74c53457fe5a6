#include "clusterbus/routing.h"

#include <set>
#include <string>

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
    return Route(state_, in, [this](std::string_view k) { return present_.count(std::string(k)); });
  }
  ClusterState state_;
  std::set<std::string> present_;
};

TEST_F(RoutingTest, LocalMovedCrossSlot) {
  ASSERT_TRUE(state_.ok());
  EXPECT_EQ(Go({.keys = {"bar"}}).outcome, RouteOutcome::kLocal);
  EXPECT_EQ(Go({}).outcome, RouteOutcome::kLocal);
  RouteResult r = Go({.keys = {"foo"}});
  EXPECT_EQ(r.outcome, RouteOutcome::kMoved);
  EXPECT_EQ(RouteErrorText(r), "MOVED 12182 127.0.0.1:7003");
  r = Go({.keys = {"bar", "foo"}});
  EXPECT_EQ(RouteErrorText(r), "CROSSSLOT Keys in request don't hash to the same slot");
  EXPECT_EQ(Go({.keys = {"foo", "{foo}x"}}).outcome, RouteOutcome::kMoved);
}

TEST_F(RoutingTest, UnboundBeforeDownCheck) {
  state_.UnbindSlot(5061);
  state_.UpdateState(4000);
  EXPECT_FALSE(state_.ok());
  EXPECT_EQ(RouteErrorText(Go({.keys = {"bar"}})), "CLUSTERDOWN Hash slot not served");
  EXPECT_EQ(RouteErrorText(Go({.keys = {"foo"}})), "CLUSTERDOWN The cluster is down");
  EXPECT_EQ(Go({.keys = {"foo"}, .allow_reads_when_down = true}).outcome, RouteOutcome::kMoved);
  EXPECT_EQ(RouteErrorText(Go({.keys = {"foo"}, .is_write = true, .allow_reads_when_down = true})),
            "CLUSTERDOWN The cluster is down and only accepts read commands");
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
  EXPECT_EQ(RouteErrorText(r), "ASK 5061 127.0.0.1:7003");
  EXPECT_EQ(RouteErrorText(Go({.keys = {"bar", "{bar}2"}})),
            "TRYAGAIN Multiple keys request during rehashing of slot");
  EXPECT_EQ(Go({.keys = {"{bar}2"}, .is_migrate = true}).outcome, RouteOutcome::kLocal);
  // Channels are not looked up.
  EXPECT_EQ(Go({.keys = {"{bar}2"}, .shard_pubsub = true}).outcome, RouteOutcome::kLocal);
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
  EXPECT_EQ(RouteErrorText(Go({.keys = {"foo"}})), "MOVED 12182 ?:7003");
}

}  // namespace
}  // namespace shardnode::clusterbus
