#include "clusterbus/cluster_state.h"

#include <string>
#include <vector>

#include "clusterbus/ready_testing.h"
#include "gtest/gtest.h"

namespace shardnode::clusterbus {
namespace {

using slots::SlotRange;

const std::string kMe(40, 'a');
const std::string kPeer(40, 'b');
const std::string kReplica(40, 'c');

std::string Msg(const absl::Status& st) { return std::string(st.message()); }

class ClusterStateTest : public ::testing::Test {
 protected:
  ClusterStateTest() : state_(kMe, ClusterOptions{}) {
    state_.myself().ip = "127.0.0.1";
    state_.myself().port = 7001;
    state_.myself().cport = 17001;
  }
  ClusterNode& AddPeer(const std::string& id, uint16_t flags = kFlagPrimary) {
    ClusterNode& n = state_.AddNode(id, flags, 0);
    n.ip = "127.0.0.1";
    n.port = 7002;
    n.cport = 17002;
    return n;
  }
  ClusterState state_;
};

TEST_F(ClusterStateTest, FreshNodeLineAndFlags) {
  EXPECT_EQ(state_.NodeLine(state_.myself()),
            kMe + " 127.0.0.1:7001@17001 myself,master - 0 0 0 connected");
  EXPECT_EQ(FlagsText(0), "noflags");
  EXPECT_EQ(FlagsText(kFlagReplica | kFlagFail | kFlagPfail | kFlagNoFailover | kFlagMeet),
            "slave,fail?,fail,nofailover");
  EXPECT_EQ(FlagsText(kFlagPrimary | kFlagMigrateTo | kFlagMyself), "myself,master");
}

TEST_F(ClusterStateTest, AddSlotsErrorsAndSuccess) {
  std::vector<SlotRange> r = {{0, 5}, {5, 5}};
  EXPECT_EQ(Msg(state_.ChangeSlots(r, false)), "Slot 5 specified multiple times");
  EXPECT_EQ(state_.myself().num_slots(), 0);  // nothing changed
  r = {{7, 3}};
  EXPECT_EQ(Msg(state_.ChangeSlots(r, false)),
            "start slot number 7 is greater than end slot number 3");
  r = {{0, 100}, {200, 200}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  EXPECT_TRUE(state_.update_state_requested());
  ReadySummary e = Summarize(state_.TakeReady(0));
  EXPECT_TRUE(e.save_config);
  EXPECT_FALSE(e.fsync_config);
  EXPECT_EQ(state_.myself().num_slots(), 102);
  r = {{100, 100}};
  EXPECT_EQ(Msg(state_.ChangeSlots(r, false)), "Slot 100 is already busy");
  r = {{150, 150}};
  EXPECT_EQ(Msg(state_.ChangeSlots(r, true)), "Slot 150 is already unassigned");
  r = {{0, 50}};
  ASSERT_TRUE(state_.ChangeSlots(r, true).ok());
  EXPECT_EQ(state_.NodeLine(state_.myself()),
            kMe + " 127.0.0.1:7001@17001 myself,master - 0 0 0 connected 51-100 200");
}

TEST_F(ClusterStateTest, AddSlotsClearsImporting) {
  ClusterNode& peer = AddPeer(kPeer);
  ASSERT_TRUE(state_.SetSlotImporting(9, kPeer).ok());
  EXPECT_EQ(state_.ImportingFrom(9), &peer);
  std::vector<SlotRange> r = {{9, 9}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  EXPECT_EQ(state_.ImportingFrom(9), nullptr);
}

TEST_F(ClusterStateTest, StateNeedsFullCoverageAndWritableDelay) {
  state_.UpdateState(1000);
  EXPECT_FALSE(state_.ok());
  std::vector<SlotRange> r = {{0, 16383}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  state_.UpdateState(2000);  // within 2000 ms of the first evaluation
  EXPECT_FALSE(state_.ok());
  Summarize(state_.TakeReady(0));
  state_.Tick(3000);
  EXPECT_TRUE(state_.ok());
  ReadySummary e = Summarize(state_.TakeReady(0));
  EXPECT_TRUE(e.state_changed);
  ASSERT_FALSE(e.logs.empty());
  EXPECT_EQ(e.logs.back().text, "Cluster state changed: ok");
  EXPECT_EQ(state_.size(), 1);
  r = {{5, 5}};
  ASSERT_TRUE(state_.ChangeSlots(r, true).ok());
  state_.Tick(3100);
  EXPECT_FALSE(state_.ok());
}

TEST_F(ClusterStateTest, NoFullCoverageRequired) {
  ClusterOptions o;
  o.require_full_coverage = false;
  state_.set_options(o);
  std::vector<SlotRange> r = {{0, 10}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  state_.UpdateState(0);
  state_.UpdateState(2500);
  EXPECT_TRUE(state_.ok());
}

TEST_F(ClusterStateTest, InfoTextFreshNode) {
  EXPECT_EQ(state_.InfoText(),
            "cluster_state:fail\r\ncluster_slots_assigned:0\r\ncluster_slots_ok:0\r\n"
            "cluster_slots_pfail:0\r\ncluster_slots_fail:0\r\ncluster_known_nodes:1\r\n"
            "cluster_size:0\r\ncluster_current_epoch:0\r\ncluster_my_epoch:0\r\n"
            "cluster_stats_messages_sent:0\r\ncluster_stats_messages_received:0\r\n"
            "total_cluster_links_buffer_limit_exceeded:0\r\n");
  state_.messages_sent()[0] = 3;
  state_.messages_sent()[1] = 2;
  EXPECT_NE(state_.InfoText().find("cluster_stats_messages_ping_sent:3\r\n"
                                   "cluster_stats_messages_pong_sent:2\r\n"
                                   "cluster_stats_messages_sent:5\r\n"),
            std::string::npos);
}

TEST_F(ClusterStateTest, SetSlotErrors) {
  AddPeer(kPeer);
  ClusterNode& rep = AddPeer(kReplica, kFlagReplica);
  EXPECT_EQ(Msg(state_.SetSlotMigrating(5, kPeer)), "I'm not the owner of hash slot 5");
  std::vector<SlotRange> r = {{5, 5}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  EXPECT_EQ(Msg(state_.SetSlotMigrating(5, "nope")), "I don't know about node nope");
  EXPECT_EQ(Msg(state_.SetSlotMigrating(5, kReplica)), "Target node is not a master");
  EXPECT_EQ(Msg(state_.SetSlotImporting(5, kPeer)), "I'm already the owner of hash slot 5");
  EXPECT_EQ(Msg(state_.SetSlotNode(5, "x", 0)), "Unknown node x");
  EXPECT_EQ(Msg(state_.SetSlotNode(5, kReplica, 0)), "Target node is not a master");
  EXPECT_EQ(Msg(state_.SetSlotNode(5, kPeer, 3)),
            "Can't assign hashslot 5 to a different node while I still hold keys for this hash "
            "slot.");
  ASSERT_TRUE(state_.SetSlotMigrating(5, kPeer).ok());
  ASSERT_TRUE(state_.SetSlotImporting(6, kPeer).ok());
  EXPECT_EQ(state_.NodeLine(state_.myself()),
            kMe + " 127.0.0.1:7001@17001 myself,master - 0 0 0 connected 5 [5->-" + kPeer +
                "] [6-<-" + kPeer + "]");
  ASSERT_TRUE(state_.SetSlotStable(5).ok());
  EXPECT_EQ(state_.MigratingTo(5), nullptr);
  state_.myself().flags = kFlagMyself | kFlagReplica;
  EXPECT_EQ(Msg(state_.SetSlotStable(5)), "Please use SETSLOT only with masters.");
  (void)rep;
}

TEST_F(ClusterStateTest, SetSlotNodeLastSlotMakesMeReplica) {
  ClusterNode& peer = AddPeer(kPeer);
  std::vector<SlotRange> r = {{5, 5}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  ASSERT_TRUE(state_.SetSlotMigrating(5, kPeer).ok());
  Summarize(state_.TakeReady(0));
  ASSERT_TRUE(state_.SetSlotNode(5, kPeer, 0).ok());
  EXPECT_EQ(state_.SlotOwner(5), &peer);
  EXPECT_TRUE(state_.myself().is_replica());
  EXPECT_EQ(state_.myself().primary, &peer);
  ReadySummary e = Summarize(state_.TakeReady(0));
  EXPECT_EQ(e.replicate_primary, kPeer);
  EXPECT_TRUE(e.fsync_config);
}

TEST_F(ClusterStateTest, SetSlotNodeClosingImportBumpsEpoch) {
  AddPeer(kPeer).config_epoch = 4;
  state_.set_current_epoch(4);
  ASSERT_TRUE(state_.SetSlotImporting(7, kPeer).ok());
  ASSERT_TRUE(state_.SetSlotNode(7, kMe, 1).ok());
  EXPECT_EQ(state_.myself().config_epoch, 5u);
  EXPECT_EQ(state_.current_epoch(), 5u);
  EXPECT_EQ(state_.ImportingFrom(7), nullptr);
  EXPECT_TRUE(state_.TakeBroadcastPong());
  ReadySummary e = Summarize(state_.TakeReady(0));
  EXPECT_TRUE(e.fsync_config);
}

// A replica mirrors the SETSLOTs of its primary's stream (Valkey 8 style):
// its myself line shows the open slots as the primary's does, they survive
// its promotion, and they close with the primary's STABLE / NODE.
TEST_F(ClusterStateTest, ReplicaMirrorsPrimarySetSlot) {
  using Action = ClusterState::SetSlotAction;
  const std::string kTarget(40, 'd');
  ClusterNode& primary = AddPeer(kPeer);
  ClusterNode& target = AddPeer(kTarget);
  primary.config_epoch = 3;
  for (int s = 0; s <= 10; ++s) state_.BindSlot(s, primary);
  state_.BindSlot(11, target);
  state_.BecomeReplicaOf(primary);
  Summarize(state_.TakeReady(0));

  ASSERT_TRUE(state_.MirrorPrimarySetSlot(5, Action::kMigrating, kTarget, 0).ok());
  ASSERT_TRUE(state_.MirrorPrimarySetSlot(11, Action::kImporting, kTarget, 0).ok());
  EXPECT_TRUE(Summarize(state_.TakeReady(0)).save_config);  // nodes.conf keeps them
  EXPECT_EQ(state_.NodeLine(state_.myself()), kMe + " 127.0.0.1:7001@17001 myself,slave " + kPeer +
                                                  " 0 0 3 connected [5->-" + kTarget + "] [11-<-" +
                                                  kTarget + "]");
  EXPECT_EQ(Msg(state_.MirrorPrimarySetSlot(5, Action::kMigrating, kReplica, 0)),
            "I don't know about node " + kReplica);
  EXPECT_EQ(Msg(state_.MirrorPrimarySetSlot(5, Action::kNode, kReplica, 0)),
            "Unknown node " + kReplica);
  // The same command on a client connection is still refused.
  EXPECT_EQ(Msg(state_.SetSlotMigrating(6, kTarget)), "Please use SETSLOT only with masters.");

  // My primary closes the import by taking slot 11: the mark goes.
  ASSERT_TRUE(state_.MirrorPrimarySetSlot(11, Action::kNode, kPeer, 3).ok());
  EXPECT_EQ(state_.ImportingFrom(11), nullptr);
  EXPECT_EQ(state_.SlotOwner(11), &primary);
  // STABLE clears the migrating mark.
  ASSERT_TRUE(state_.MirrorPrimarySetSlot(5, Action::kStable, "", 0).ok());
  EXPECT_EQ(state_.MigratingTo(5), nullptr);

  // Promoted (failover), the replica keeps what it mirrored.
  ASSERT_TRUE(state_.MirrorPrimarySetSlot(7, Action::kMigrating, kTarget, 0).ok());
  state_.PromoteMyself(0);
  EXPECT_TRUE(state_.myself().is_primary());
  EXPECT_EQ(state_.SlotOwner(7), &state_.myself());
  EXPECT_EQ(state_.MigratingTo(7), &target);
  EXPECT_NE(state_.NodeLine(state_.myself()).find(" [7->-" + kTarget + "]"), std::string::npos);
  ASSERT_EQ(state_.OpenSlotCommands().size(), 1u);
  EXPECT_EQ(state_.OpenSlotCommands()[0],
            (std::vector<std::string>{"CLUSTER", "SETSLOT", "7", "MIGRATING", kTarget}));
}

// When my primary hands its last slot to another primary, I follow the new
// owner (the gossip would no longer see the change: the slot is bound).
TEST_F(ClusterStateTest, ReplicaMirroringLastSlotGivenAwayFollowsNewOwner) {
  using Action = ClusterState::SetSlotAction;
  const std::string kTarget(40, 'd');
  ClusterNode& primary = AddPeer(kPeer);
  ClusterNode& target = AddPeer(kTarget);
  state_.BindSlot(5, primary);
  state_.BecomeReplicaOf(primary);
  ASSERT_TRUE(state_.MirrorPrimarySetSlot(5, Action::kMigrating, kTarget, 0).ok());
  Summarize(state_.TakeReady(0));
  ASSERT_TRUE(state_.MirrorPrimarySetSlot(5, Action::kNode, kTarget, 0).ok());
  EXPECT_EQ(state_.SlotOwner(5), &target);
  EXPECT_EQ(state_.MigratingTo(5), nullptr);  // no keys left here
  EXPECT_EQ(state_.myself().primary, &target);
  ReadySummary e = Summarize(state_.TakeReady(0));
  EXPECT_EQ(e.replicate_primary, kTarget);
  EXPECT_TRUE(e.fsync_config);
}

TEST_F(ClusterStateTest, BumpEpoch) {
  EXPECT_TRUE(state_.BumpEpochWithoutConsensus());
  EXPECT_EQ(state_.myself().config_epoch, 1u);
  EXPECT_FALSE(state_.BumpEpochWithoutConsensus());  // already the maximum
  AddPeer(kPeer).config_epoch = 7;
  EXPECT_TRUE(state_.BumpEpochWithoutConsensus());
  EXPECT_EQ(state_.myself().config_epoch, 2u);  // currentEpoch + 1, as Redis does
}

TEST_F(ClusterStateTest, SetConfigEpoch) {
  EXPECT_EQ(Msg(state_.SetConfigEpoch(-1)), "Invalid config epoch specified: -1");
  ASSERT_TRUE(state_.SetConfigEpoch(9).ok());
  EXPECT_EQ(state_.current_epoch(), 9u);
  EXPECT_EQ(Msg(state_.SetConfigEpoch(3)), "Node config epoch is already non-zero");
  AddPeer(kPeer);
  EXPECT_EQ(Msg(state_.SetConfigEpoch(3)),
            "The user can assign a config epoch only when the node does not know any other "
            "node.");
}

TEST_F(ClusterStateTest, ForgetAndReplicas) {
  ClusterNode& peer = AddPeer(kPeer);
  ClusterNode& rep = AddPeer(kReplica, kFlagReplica);
  state_.SetPrimary(rep, &peer);
  auto replicas = state_.Replicas(kPeer);
  ASSERT_TRUE(replicas.ok());
  ASSERT_EQ(replicas->size(), 1u);
  EXPECT_EQ((*replicas)[0], &rep);
  EXPECT_EQ(Msg(state_.Replicas(kReplica).status()), "The specified node is not a master");
  EXPECT_EQ(Msg(state_.Forget(kMe, 0)), "I tried hard but I can't forget myself...");
  EXPECT_EQ(Msg(state_.Forget("zz", 0)), "Unknown node zz");
  std::vector<SlotRange> r = {{0, 0}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  state_.BindSlot(1, peer);
  ASSERT_TRUE(state_.Forget(kPeer, 1000).ok());
  EXPECT_EQ(state_.FindNode(kPeer), nullptr);
  EXPECT_EQ(state_.SlotOwner(1), nullptr);
  EXPECT_EQ(rep.primary, nullptr);
  EXPECT_TRUE(state_.IsBanned(kPeer, 60999));
  EXPECT_FALSE(state_.IsBanned(kPeer, 61000));
}

TEST_F(ClusterStateTest, ReplicateErrors) {
  ClusterNode& peer = AddPeer(kPeer);
  ClusterNode& replica = AddPeer(kReplica, kFlagReplica);
  state_.SetPrimary(replica, &peer);
  const std::string unknown(40, 'z');
  EXPECT_EQ(Msg(state_.Replicate(unknown, false)), "Unknown node " + unknown);
  EXPECT_EQ(Msg(state_.Replicate(kMe, false)), "Can't replicate myself");
  EXPECT_EQ(Msg(state_.Replicate(kReplica, false)),
            "I can only replicate a master, not a replica.");
  EXPECT_EQ(Msg(state_.Replicate(kPeer, /*has_keys=*/true)),
            "To set a master the node must be empty and without assigned slots.");
  std::vector<SlotRange> r = {{10, 10}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  EXPECT_EQ(Msg(state_.Replicate(kPeer, false)),
            "To set a master the node must be empty and without assigned slots.");
  EXPECT_TRUE(state_.myself().is_primary());
}

TEST_F(ClusterStateTest, ReplicateMakesMeAReplicaAndSwitchesPrimaries) {
  ClusterNode& peer = AddPeer(kPeer);
  ClusterNode& other = AddPeer(kReplica);
  peer.config_epoch = 7;
  state_.SetImporting(5, &peer);
  Summarize(state_.TakeReady(0));
  ASSERT_TRUE(state_.Replicate(kPeer, false).ok());
  EXPECT_TRUE(state_.update_state_requested());
  ReadySummary e = Summarize(state_.TakeReady(0));
  EXPECT_EQ(e.replicate_primary, kPeer);
  EXPECT_TRUE(e.save_config);
  EXPECT_EQ(state_.ImportingFrom(5), nullptr);  // open slots closed
  EXPECT_EQ(state_.NodeLine(state_.myself()),
            kMe + " 127.0.0.1:7001@17001 myself,slave " + kPeer + " 0 0 7 connected");
  EXPECT_EQ(state_.MyEpoch(), 7u);
  ASSERT_EQ(peer.replicas.size(), 1u);
  // A replica may move to another primary, even holding keys.
  ASSERT_TRUE(state_.Replicate(kReplica, /*has_keys=*/true).ok());
  EXPECT_EQ(Summarize(state_.TakeReady(0)).replicate_primary, kReplica);
  EXPECT_TRUE(peer.replicas.empty());
  ASSERT_EQ(other.replicas.size(), 1u);
  EXPECT_EQ(state_.myself().primary, &other);
  auto replicas = state_.Replicas(kReplica);
  ASSERT_TRUE(replicas.ok());
  ASSERT_EQ(replicas->size(), 1u);
  EXPECT_EQ((*replicas)[0], &state_.myself());
}

TEST_F(ClusterStateTest, SlotsLeavingMyShardUnsubscribeShardChannels) {
  ClusterNode& peer = AddPeer(kPeer);
  ClusterNode& other = AddPeer(kReplica);
  std::vector<SlotRange> r = {{1, 3}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  state_.BindSlot(9, peer);
  Summarize(state_.TakeReady(0));
  // Giving a slot away (SETSLOT NODE unbinds first, even to the same owner).
  ASSERT_TRUE(state_.SetSlotNode(1, kPeer, 0).ok());
  ASSERT_TRUE(state_.SetSlotNode(2, kMe, 0).ok());
  r = {{3, 3}};
  ASSERT_TRUE(state_.ChangeSlots(r, true).ok());
  state_.BindSlot(9, other);  // not my shard: nothing to tell
  EXPECT_EQ(Summarize(state_.TakeReady(0)).unsubscribe_shard_slots, (std::vector<int>{1, 2, 3}));
  // As a replica, my primary's slots are my shard's.
  r = {{2, 2}};
  ASSERT_TRUE(state_.ChangeSlots(r, true).ok());
  ASSERT_TRUE(state_.Replicate(kPeer, false).ok());
  Summarize(state_.TakeReady(0));
  state_.BindSlot(1, other);
  EXPECT_EQ(Summarize(state_.TakeReady(0)).unsubscribe_shard_slots, (std::vector<int>{1}));
}

TEST_F(ClusterStateTest, ReplicaMigratesToAnOrphanedPrimaryAfterADelay) {
  ClusterNode& mine = AddPeer(kPeer);
  ClusterNode& orphan = AddPeer(std::string(40, 'd'));
  ClusterNode& sibling = AddPeer(std::string(40, 'e'), kFlagReplica);
  ClusterNode& lost = AddPeer(std::string(40, 'f'), kFlagReplica);
  for (int s = 0; s < 8192; ++s) state_.BindSlot(s, mine);
  for (int s = 8192; s < 16384; ++s) state_.BindSlot(s, orphan);
  ASSERT_TRUE(state_.Replicate(kPeer, false).ok());
  state_.SetPrimary(sibling, &mine);
  state_.SetPrimary(lost, &orphan);  // the orphan had a replica once
  state_.UpdateState(0);
  ASSERT_TRUE(state_.ok());
  Summarize(state_.TakeReady(0));
  int64_t t = 1000;
  state_.Tick(t);  // nobody orphaned yet
  lost.flags |= kFlagFail;
  state_.Tick(t += 100);  // orphaned from now on
  state_.Tick(t += 5000);
  EXPECT_EQ(state_.myself().primary, &mine);
  EXPECT_TRUE(Summarize(state_.TakeReady(0)).replicate_primary.empty());
  state_.Tick(t += 1);
  EXPECT_EQ(state_.myself().primary, &orphan);
  ReadySummary e = Summarize(state_.TakeReady(0));
  EXPECT_EQ(e.replicate_primary, orphan.id);
  EXPECT_TRUE(e.save_config);
  ASSERT_EQ(e.logs.size(), 1u);
  EXPECT_EQ(e.logs[0].text, "Migrating to orphaned master " + orphan.id);
}

TEST_F(ClusterStateTest, ReplicaMigrationRespectsBarrierAndSmallestId) {
  ClusterNode& mine = AddPeer(kPeer);
  ClusterNode& orphan = AddPeer(std::string(40, 'd'));
  ClusterNode& sibling = AddPeer(std::string(40, 'e'), kFlagReplica);
  ClusterNode& lost = AddPeer(std::string(40, 'f'), kFlagReplica | kFlagFail);
  for (int s = 0; s < 8192; ++s) state_.BindSlot(s, mine);
  for (int s = 8192; s < 16384; ++s) state_.BindSlot(s, orphan);
  ASSERT_TRUE(state_.Replicate(kPeer, false).ok());
  state_.SetPrimary(sibling, &mine);
  state_.SetPrimary(lost, &orphan);
  state_.UpdateState(0);
  // A barrier of 2: my primary would keep a single replica.
  ClusterOptions o = state_.options();
  o.migration_barrier = 2;
  state_.set_options(o);
  state_.Tick(1000);
  state_.Tick(7000);
  EXPECT_EQ(state_.myself().primary, &mine);
  // With the default barrier, the replica with the smaller id moves, not me.
  o.migration_barrier = 1;
  state_.set_options(o);
  state_.RenameNode(sibling, std::string(40, '0'));
  state_.Tick(7100);
  state_.Tick(13000);
  EXPECT_EQ(state_.myself().primary, &mine);
}

TEST_F(ClusterStateTest, CannotForgetMyPrimary) {
  ClusterNode& peer = AddPeer(kPeer);
  state_.myself().flags = kFlagMyself | kFlagReplica;
  state_.SetPrimary(state_.myself(), &peer);
  EXPECT_EQ(Msg(state_.Forget(kPeer, 0)), "Can't forget my master!");
}

TEST_F(ClusterStateTest, CountFailureReportsExpires) {
  ClusterNode& peer = AddPeer(kPeer);
  peer.fail_reports[kReplica] = 1000;
  EXPECT_EQ(*state_.CountFailureReports(kPeer, 1000 + 30000), 1);
  EXPECT_EQ(*state_.CountFailureReports(kPeer, 1000 + 30001), 0);
  EXPECT_EQ(Msg(state_.CountFailureReports("q", 0).status()), "Unknown node q");
}

TEST_F(ClusterStateTest, ResetSoftAndHard) {
  AddPeer(kPeer);
  std::vector<SlotRange> r = {{0, 10}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  EXPECT_EQ(Msg(state_.Reset(false, true, "")),
            "CLUSTER RESET can't be called with master nodes containing keys");
  state_.set_current_epoch(5);
  ASSERT_TRUE(state_.Reset(false, false, "").ok());
  EXPECT_EQ(state_.num_nodes(), 1u);
  EXPECT_EQ(state_.myself().num_slots(), 0);
  EXPECT_EQ(state_.current_epoch(), 5u);
  EXPECT_EQ(state_.myself().id, kMe);
  const std::string fresh(40, 'f');
  ASSERT_TRUE(state_.Reset(true, false, fresh).ok());
  EXPECT_EQ(state_.myself().id, fresh);
  EXPECT_EQ(state_.FindNode(fresh), &state_.myself());
  EXPECT_EQ(state_.FindNode(kMe), nullptr);
  EXPECT_EQ(state_.current_epoch(), 0u);
  ReadySummary e = Summarize(state_.TakeReady(0));
  EXPECT_TRUE(e.fsync_config);
}

TEST_F(ClusterStateTest, ResetOnReplicaFlushesAndBecomesPrimary) {
  ClusterNode& peer = AddPeer(kPeer);
  state_.myself().flags = kFlagMyself | kFlagReplica;
  state_.SetPrimary(state_.myself(), &peer);
  ASSERT_TRUE(state_.Reset(false, true, "").ok());  // replicas may hold keys
  EXPECT_TRUE(state_.myself().is_primary());
  ReadySummary e = Summarize(state_.TakeReady(0));
  EXPECT_TRUE(e.flush_data);
  EXPECT_TRUE(e.stop_replication);
}

TEST_F(ClusterStateTest, SlotsAndShardsReplies) {
  ClusterNode& peer = AddPeer(kPeer);
  ClusterNode& rep = AddPeer(kReplica, kFlagReplica);
  state_.SetPrimary(rep, &peer);
  std::vector<SlotRange> r = {{0, 99}, {300, 300}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  for (int s = 100; s < 200; ++s) state_.BindSlot(s, peer);
  std::vector<SlotsEntry> slots = state_.SlotsReply();
  ASSERT_EQ(slots.size(), 3u);
  EXPECT_EQ(slots[0].start, 0);
  EXPECT_EQ(slots[0].end, 99);
  EXPECT_EQ(slots[1].nodes.size(), 1u);  // replica offset 0: not listed
  rep.repl_offset = 10;
  slots = state_.SlotsReply();
  EXPECT_EQ(slots[1].nodes.size(), 2u);
  EXPECT_EQ(slots[2].start, 300);
  std::vector<ShardEntry> shards = state_.ShardsReply();
  ASSERT_EQ(shards.size(), 2u);
  EXPECT_EQ(shards[0].nodes[0], &state_.myself());
  EXPECT_EQ(shards[1].nodes.size(), 2u);
  EXPECT_EQ(state_.NodeLine(rep),
            kReplica + " 127.0.0.1:7002@17002 slave " + kPeer + " 0 0 0 disconnected");
}

TEST_F(ClusterStateTest, EndpointTypes) {
  ClusterNode& peer = AddPeer(kPeer);
  EXPECT_EQ(state_.Endpoint(peer), "127.0.0.1");
  ClusterOptions o;
  o.preferred_endpoint = PreferredEndpoint::kHostname;
  state_.set_options(o);
  EXPECT_EQ(state_.Endpoint(peer), "?");
  peer.hostname = "h1";
  EXPECT_EQ(state_.Endpoint(peer), "h1");
  o.preferred_endpoint = PreferredEndpoint::kUnknown;
  state_.set_options(o);
  EXPECT_EQ(state_.Endpoint(peer), "");
}

// routing_version() moves with every change a routing snapshot holds (slot
// owners, open-slot marks, node deletions and renames) and only then: not
// for a refused command, a repeated mark, a tick, or ping/pong times.
TEST_F(ClusterStateTest, RoutingVersionFollowsRoutingChangesOnly) {
  ClusterNode& peer = AddPeer(kPeer);
  uint64_t v = state_.routing_version();
  auto changed = [&]() {
    const uint64_t now = state_.routing_version();
    const bool moved = now != v;
    v = now;
    return moved;
  };
  std::vector<SlotRange> r = {{0, 9}};
  ASSERT_TRUE(state_.ChangeSlots(r, false).ok());
  EXPECT_TRUE(changed());
  EXPECT_FALSE(state_.ChangeSlots(r, false).ok());  // already busy: nothing changes
  EXPECT_FALSE(changed());
  ASSERT_TRUE(state_.SetSlotMigrating(5, kPeer).ok());
  EXPECT_TRUE(changed());
  ASSERT_TRUE(state_.SetSlotMigrating(5, kPeer).ok());  // the same mark again
  EXPECT_FALSE(changed());
  ASSERT_TRUE(state_.SetSlotStable(5).ok());
  EXPECT_TRUE(changed());
  ASSERT_TRUE(state_.SetSlotImporting(20, kPeer).ok());
  EXPECT_TRUE(changed());
  ASSERT_TRUE(state_.SetSlotNode(20, kMe, 0).ok());  // owner and mark
  EXPECT_TRUE(changed());
  ASSERT_TRUE(state_.SetSlotNode(9, kPeer, 0).ok());
  EXPECT_TRUE(changed());
  EXPECT_FALSE(state_.SetSlotNode(8, kPeer, 2).ok());  // still holds keys
  EXPECT_FALSE(changed());
  // Time passing, pings and pongs, failure reports: no routing change.
  state_.Tick(1000);
  state_.Tick(5000);
  (void)state_.TakeReady(5000);
  peer.ping_sent_ms = 5000;
  peer.pong_received_ms = 5001;
  peer.data_received_ms = 5001;
  peer.fail_reports[kReplica] = 5001;
  EXPECT_FALSE(changed());
  // A node seen for the first time owns nothing yet.
  ClusterNode& other = AddPeer(kReplica);
  EXPECT_FALSE(changed());
  state_.BindSlot(100, other);
  EXPECT_TRUE(changed());
  state_.BindSlot(100, other);  // gossip repeating a claim
  EXPECT_FALSE(changed());
  state_.RenameNode(other, std::string(40, 'd'));
  EXPECT_TRUE(changed());
  ASSERT_TRUE(state_.Forget(std::string(40, 'd'), 6000).ok());
  EXPECT_TRUE(changed());
  EXPECT_EQ(state_.SlotOwner(100), nullptr);
}

// FindNode answers from an index kept beside the ordered table: it must
// follow every add, rename and delete.
TEST_F(ClusterStateTest, FindNodeFollowsAddRenameAndDelete) {
  const std::string a(40, '1'), b(40, '2'), c(40, '3');
  ClusterNode& na = AddPeer(a);
  AddPeer(b);
  EXPECT_EQ(state_.FindNode(a), &na);
  state_.RenameNode(na, c);
  EXPECT_EQ(state_.FindNode(a), nullptr);
  EXPECT_EQ(state_.FindNode(c), &na);
  EXPECT_EQ(state_.FindNode(c)->id, c);
  state_.DeleteNode(b);
  EXPECT_EQ(state_.FindNode(b), nullptr);
  EXPECT_EQ(state_.FindNode(kMe), &state_.myself());
  EXPECT_EQ(state_.num_nodes(), 2u);
}

}  // namespace
}  // namespace shardnode::clusterbus
