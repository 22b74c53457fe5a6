#include "clusterbus/slot_migration.h"

#include <string>
#include <vector>

#include "clusterbus/cluster_state.h"
#include "gtest/gtest.h"

namespace shardnode::clusterbus {
namespace {

using slots::SlotRange;

const std::string kMe(40, 'a');
const std::string kPeer(40, 'b');
const std::string kThird(40, 'c');
const std::string kJob(40, 'f');

template <class T>
bool Has(const std::vector<MigrationAction>& actions) {
  for (const MigrationAction& a : actions) {
    if (std::holds_alternative<T>(a)) return true;
  }
  return false;
}

// A short name per action, to compare sequences.
std::vector<std::string> Names(const std::vector<MigrationAction>& actions) {
  std::vector<std::string> out;
  for (const MigrationAction& a : actions) {
    out.push_back(std::visit(
        [](const auto& v) -> std::string {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, ActConnect>) return "connect";
          if constexpr (std::is_same_v<T, ActSendEstablish>) return "establish";
          if constexpr (std::is_same_v<T, ActStartSnapshot>) return "snapshot";
          if constexpr (std::is_same_v<T, ActSendSnapshotEof>) return "snapshot-eof";
          if constexpr (std::is_same_v<T, ActPauseSlots>) {
            return v.until_ms == 0 ? "unpause" : "pause";
          }
          if constexpr (std::is_same_v<T, ActWaitReplicas>) return "wait";
          if constexpr (std::is_same_v<T, ActSendFinish>) return "finish";
          if constexpr (std::is_same_v<T, ActCommitExport>) return "commit";
          if constexpr (std::is_same_v<T, ActClaimSlots>) return "claim";
          if constexpr (std::is_same_v<T, ActDropImported>) return "drop";
          if constexpr (std::is_same_v<T, ActCloseLink>) return "close";
        },
        a));
  }
  return out;
}

using V = std::vector<std::string>;

// Without retries unless asked: a failure ends the job at once.
SlotMigrationJob Export(int64_t now = 1000, int retries = 0) {
  return SlotMigrationJob(
      MigrationOp::kExport, kJob, {{0, 9}, {20, 29}}, kMe, kPeer, now,
      MigrationTimeouts{
          .idle_ms = 5000, .pause_ms = 2000, .retries = retries, .retry_backoff_ms = 1000});
}

// Drives an export from a (re)connect to the state just before the
// target's catch-up reply.
void ToReplicatingFromConnect(SlotMigrationJob& j, int64_t now) {
  EXPECT_EQ(Names(j.Step(MigConnected{}, now)), V{"establish"});
  EXPECT_EQ(Names(j.Step(MigEstablishReply{}, now)), V{"snapshot"});
  EXPECT_EQ(j.state(), MigrationState::kSnapshotting);
  EXPECT_EQ(Names(j.Step(MigSnapshotDone{}, now)), V{"snapshot-eof"});
  EXPECT_EQ(j.state(), MigrationState::kReplicating);
}

// The same from the start.
void ToReplicating(SlotMigrationJob& j, int64_t now) {
  EXPECT_EQ(Names(j.Start(now)), V{"connect"});
  ToReplicatingFromConnect(j, now);
}

TEST(SlotMigrationJobTest, ExportHappyPathWithReplicasPausesThenCommits) {
  SlotMigrationJob j = Export();
  EXPECT_EQ(j.RangesText(), "0-9 20-29");
  EXPECT_TRUE(j.HasSlot(25));
  EXPECT_FALSE(j.HasSlot(15));
  ToReplicating(j, 1000);
  auto a = j.Step(MigCaughtUp{.target_replicas = 2}, 1100);
  EXPECT_EQ(Names(a), (V{"pause", "wait"}));
  EXPECT_EQ(std::get<ActPauseSlots>(a[0]).until_ms, 3100);
  EXPECT_EQ(std::get<ActWaitReplicas>(a[1]).replicas, 2);
  EXPECT_TRUE(j.paused());
  EXPECT_EQ(j.state(), MigrationState::kFailoverPaused);
  EXPECT_EQ(Names(j.Step(MigReplicasAcked{.acked = 2}, 1105)), V{"finish"});
  EXPECT_EQ(j.state(), MigrationState::kFailoverGranted);
  a = j.Step(MigFinishReply{.epoch = 7}, 1110);
  EXPECT_EQ(Names(a), (V{"commit", "unpause", "close"}));
  EXPECT_EQ(std::get<ActCommitExport>(a[0]).epoch, 7u);
  EXPECT_EQ(j.state(), MigrationState::kSuccess);
  EXPECT_EQ(MigrationStateName(j.state()), "success");
  EXPECT_EQ(j.write_pause_ms(), 10);
  EXPECT_FALSE(j.paused());
  // A finished job ignores everything.
  EXPECT_TRUE(j.Step(MigTick{}, 999999).empty());
}

TEST(SlotMigrationJobTest, ExportWithoutReplicasSendsFinishAtOnce) {
  SlotMigrationJob j = Export();
  ToReplicating(j, 1000);
  EXPECT_EQ(Names(j.Step(MigCaughtUp{.target_replicas = 0}, 1000)), (V{"pause", "finish"}));
  EXPECT_EQ(j.state(), MigrationState::kFailoverGranted);
}

TEST(SlotMigrationJobTest, ReplicasNotAckingFailsAndUnpauses) {
  SlotMigrationJob j = Export();
  ToReplicating(j, 1000);
  j.Step(MigCaughtUp{.target_replicas = 2}, 1000);
  EXPECT_EQ(Names(j.Step(MigReplicasAcked{.acked = 1}, 1500)), (V{"unpause", "close"}));
  EXPECT_EQ(j.state(), MigrationState::kFailed);
  EXPECT_EQ(j.message(), "Target replicas did not acknowledge the migrated data (1 of 2)");
}

TEST(SlotMigrationJobTest, ConnectAndHandshakeFailures) {
  SlotMigrationJob j = Export();
  j.Start(1000);
  EXPECT_EQ(Names(j.Step(MigConnectFailed{"Connection refused"}, 1001)), V{"close"});
  EXPECT_EQ(j.message(), "Unable to connect to target node: Connection refused");
  SlotMigrationJob k = Export();
  k.Start(1000);
  k.Step(MigConnected{}, 1000);
  k.Step(MigEstablishReply{"ERR unknown subcommand 'SYNCSLOTS'"}, 1000);
  EXPECT_EQ(k.state(), MigrationState::kFailed);
  EXPECT_EQ(k.message(),
            "Received error during handshake to target: ERR unknown subcommand "
            "'SYNCSLOTS'");
}

TEST(SlotMigrationJobTest, LinkDownBeforeFinishFailsAndLeavesSourceOwner) {
  for (int stage = 0; stage < 4; ++stage) {
    SlotMigrationJob j = Export();
    j.Start(1000);
    if (stage >= 1) j.Step(MigConnected{}, 1000);
    if (stage >= 2) j.Step(MigEstablishReply{}, 1000);
    if (stage >= 3) {
      j.Step(MigSnapshotDone{}, 1000);
      j.Step(MigCaughtUp{.target_replicas = 1}, 1000);
    }
    auto a = j.Step(MigLinkDown{"reset"}, 1200);
    EXPECT_EQ(j.state(), MigrationState::kFailed) << stage;
    EXPECT_FALSE(Has<ActCommitExport>(a));
    EXPECT_EQ(Has<ActPauseSlots>(a), stage == 3) << stage;  // the unpause
    EXPECT_FALSE(j.paused());
    EXPECT_EQ(j.message().rfind("Connection lost to target.", 0), 0u);
  }
}

TEST(SlotMigrationJobTest, LinkDownIsRetriedAfterABackoffThenSucceeds) {
  SlotMigrationJob j = Export(1000, /*retries=*/2);
  j.Start(1000);
  j.Step(MigConnected{}, 1000);
  j.Step(MigEstablishReply{}, 1000);
  EXPECT_EQ(Names(j.Step(MigLinkDown{"reset"}, 1200)), V{"close"});
  EXPECT_EQ(j.state(), MigrationState::kConnecting);
  EXPECT_TRUE(j.retry_pending());
  EXPECT_EQ(j.retries(), 1);
  EXPECT_EQ(j.retry_at_ms(), 2200);
  EXPECT_EQ(j.message(),
            "Retry 1 of 2 in 1000 ms after: Connection lost to target. Check CLUSTER "
            "GETSLOTMIGRATIONS on the target node for more information.");
  // Left over from the closed link, or too early: nothing happens.
  EXPECT_TRUE(j.Step(MigLinkDown{"reset again"}, 1300).empty());
  EXPECT_TRUE(j.Step(MigProgress{}, 1300).empty());
  EXPECT_TRUE(
      j.Step(MigOwnership{.target_owns_all = false, .source_owns_all = true}, 1300).empty());
  EXPECT_TRUE(j.Step(MigTick{}, 2199).empty());
  EXPECT_EQ(j.retries(), 1);
  // Idle time does not run while waiting (the wait is shorter anyway).
  EXPECT_EQ(Names(j.Step(MigTick{}, 2200)), V{"connect"});
  EXPECT_FALSE(j.retry_pending());
  ToReplicatingFromConnect(j, 2300);
  j.Step(MigCaughtUp{.target_replicas = 0}, 2400);
  EXPECT_EQ(Names(j.Step(MigFinishReply{.epoch = 9}, 2410)), (V{"commit", "unpause", "close"}));
  EXPECT_EQ(j.state(), MigrationState::kSuccess);
  EXPECT_EQ(j.message(),
            "Succeeded after 1 retry; the last failure: Connection lost to target. Check CLUSTER "
            "GETSLOTMIGRATIONS on the target node for more information.");
}

TEST(SlotMigrationJobTest, RetriesBackOffAndAreBounded) {
  SlotMigrationJob j = Export(1000, /*retries=*/2);
  j.Start(1000);
  EXPECT_EQ(Names(j.Step(MigConnectFailed{"Connection refused"}, 1000)), V{"close"});
  EXPECT_EQ(j.retry_at_ms(), 2000);
  EXPECT_EQ(Names(j.Step(MigTick{}, 2000)), V{"connect"});
  // A retry from the paused state ends the pause first.
  ToReplicatingFromConnect(j, 2000);
  j.Step(MigCaughtUp{.target_replicas = 1}, 2100);
  EXPECT_TRUE(j.paused());
  EXPECT_EQ(Names(j.Step(MigReplicasAcked{.acked = 0}, 2200)), (V{"unpause", "close"}));
  EXPECT_FALSE(j.paused());
  EXPECT_EQ(j.write_pause_ms(), 100);
  EXPECT_EQ(j.retries(), 2);
  EXPECT_EQ(j.retry_at_ms(), 4200);  // twice the first backoff
  EXPECT_EQ(j.message(),
            "Retry 2 of 2 in 2000 ms after: Target replicas did not acknowledge the migrated data "
            "(0 of 1)");
  EXPECT_EQ(Names(j.Step(MigTick{}, 4200)), V{"connect"});
  // No retry left.
  EXPECT_EQ(Names(j.Step(MigConnectFailed{"Connection refused"}, 4300)), V{"close"});
  EXPECT_EQ(j.state(), MigrationState::kFailed);
  EXPECT_EQ(j.message(),
            "Unable to connect to target node: Connection refused (gave up after 2 retries)");
}

TEST(SlotMigrationJobTest, OnlyFailuresThatMayPassAreRetried) {
  // The target refused for good (a 7.0 node does not know SYNCSLOTS).
  SlotMigrationJob j = Export(1000, 3);
  j.Start(1000);
  j.Step(MigConnected{}, 1000);
  j.Step(MigEstablishReply{"ERR unknown subcommand 'SYNCSLOTS'"}, 1000);
  EXPECT_EQ(j.state(), MigrationState::kFailed);
  // The target still deletes a failed attempt's keys, or is loading.
  for (std::string error : {"ERR " + std::string(kTargetCleaningUp),
                            std::string("LOADING Redis is loading the dataset in memory"),
                            "ERR " + std::string(kTargetPaused),
                            std::string("ERR Target node does not agree about current slot "
                                        "ownership")}) {
    SlotMigrationJob k = Export(1000, 3);
    k.Start(1000);
    k.Step(MigConnected{}, 1000);
    EXPECT_EQ(Names(k.Step(MigEstablishReply{error}, 1000)), V{"close"}) << error;
    EXPECT_TRUE(k.retry_pending()) << error;
  }
  EXPECT_FALSE(IsTransientEstablishError("ERR Target node is not a primary"));
  // The target refused FINISH (it was demoted): not retried, the source
  // keeps the slots.
  SlotMigrationJob f = Export(1000, 3);
  ToReplicating(f, 1000);
  f.Step(MigCaughtUp{.target_replicas = 0}, 1000);
  f.Step(MigFinishReply{.error = "ERR slot import failed: A failover occurred"}, 1100);
  EXPECT_EQ(f.state(), MigrationState::kFailed);
  // A link lost after FINISH is never retried (the target may have claimed).
  SlotMigrationJob g = Export(1000, 3);
  ToReplicating(g, 1000);
  g.Step(MigCaughtUp{.target_replicas = 0}, 1000);
  EXPECT_TRUE(g.Step(MigLinkDown{"reset"}, 1010).empty());
  EXPECT_EQ(Names(g.Step(MigTick{}, 3000)), (V{"unpause", "close"}));
  EXPECT_EQ(g.state(), MigrationState::kFailed);
  EXPECT_EQ(g.retries(), 0);
  // My own demotion is not retried either.
  SlotMigrationJob h = Export(1000, 3);
  h.Start(1000);
  h.Step(MigAbort{"Slot migration source became a replica"}, 1000);
  EXPECT_EQ(h.state(), MigrationState::kFailed);
  // An import never retries: its source does.
  SlotMigrationJob i(MigrationOp::kImport, kJob, {{0, 9}}, kPeer, kMe, 1000,
                     MigrationTimeouts{.retries = 3});
  i.Start(1000);
  EXPECT_EQ(Names(i.Step(MigLinkDown{"reset"}, 1000)), (V{"drop", "close"}));
  EXPECT_EQ(i.state(), MigrationState::kFailed);
}

TEST(SlotMigrationJobTest, CancelOwnershipAndIdleBetweenAttempts) {
  SlotMigrationJob j = Export(1000, 3);
  j.Start(1000);
  j.Step(MigConnectFailed{"Connection refused"}, 1000);
  EXPECT_EQ(Names(j.Step(MigCancel{}, 1100)), V{"close"});  // no link: nothing to close
  EXPECT_EQ(j.state(), MigrationState::kCancelled);
  EXPECT_FALSE(j.retry_pending());
  SlotMigrationJob k = Export(1000, 3);
  k.Start(1000);
  k.Step(MigConnectFailed{"Connection refused"}, 1000);
  k.Step(MigOwnership{.target_owns_all = false, .source_owns_all = false}, 1100);
  EXPECT_EQ(k.state(), MigrationState::kFailed);
  EXPECT_EQ(k.message(), "Slots are no longer owned by myself");
  // The idle timeout of a new attempt counts from its start.
  SlotMigrationJob m = Export(1000, 1);
  m.Start(1000);
  m.Step(MigConnectFailed{"Connection refused"}, 1000);
  EXPECT_EQ(Names(m.Step(MigTick{}, 2000)), V{"connect"});
  EXPECT_TRUE(m.Step(MigTick{}, 6999).empty());
  EXPECT_EQ(Names(m.Step(MigTick{}, 7001)), V{"close"});
  EXPECT_EQ(m.message(), "Timed out after too long with no interaction (gave up after 1 retry)");
}

TEST(SlotMigrationJobTest, LinkLostAfterFinishStaysPausedUntilClaimSeen) {
  SlotMigrationJob j = Export();
  ToReplicating(j, 1000);
  j.Step(MigCaughtUp{.target_replicas = 0}, 1000);
  EXPECT_TRUE(j.Step(MigLinkDown{"reset"}, 1010).empty());
  EXPECT_TRUE(j.paused());
  EXPECT_EQ(j.state(), MigrationState::kFailoverGranted);
  EXPECT_TRUE(j.Step(MigTick{}, 2000).empty());
  // Gossip shows the target owning the slots: the export succeeded.
  auto a = j.Step(MigOwnership{.target_owns_all = true, .source_owns_all = false}, 2100);
  EXPECT_EQ(Names(a), (V{"commit", "unpause", "close"}));
  EXPECT_EQ(j.state(), MigrationState::kSuccess);
}

TEST(SlotMigrationJobTest, LinkLostAfterFinishAndNoClaimFailsAtPauseDeadline) {
  SlotMigrationJob j = Export();
  ToReplicating(j, 1000);
  j.Step(MigCaughtUp{.target_replicas = 0}, 1000);
  j.Step(MigLinkDown{"reset"}, 1010);
  auto a = j.Step(MigTick{}, 3000);
  EXPECT_EQ(Names(a), (V{"unpause", "close"}));
  EXPECT_EQ(j.message(),
            "Unpaused before migration completed (migration may have succeeded with lost writes)");
}

TEST(SlotMigrationJobTest, PauseTimeoutFailsClosed) {
  SlotMigrationJob j = Export();
  ToReplicating(j, 1000);
  j.Step(MigCaughtUp{.target_replicas = 1}, 1000);
  EXPECT_TRUE(j.Step(MigTick{}, 2999).empty());
  EXPECT_EQ(Names(j.Step(MigTick{}, 3000)), (V{"unpause", "close"}));
  EXPECT_EQ(j.message(), "Timed out before streaming completed");
  EXPECT_EQ(j.write_pause_ms(), 2000);
}

TEST(SlotMigrationJobTest, IdleTimeoutAndProgress) {
  SlotMigrationJob j = Export();
  ToReplicating(j, 1000);
  j.Step(MigProgress{}, 5000);
  EXPECT_TRUE(j.Step(MigTick{}, 9000).empty());
  j.Step(MigTick{}, 10001);
  EXPECT_EQ(j.state(), MigrationState::kFailed);
  EXPECT_EQ(j.message(), "Timed out after too long with no interaction");
}

TEST(SlotMigrationJobTest, CancelWhilePausedUnpauses) {
  SlotMigrationJob j = Export();
  ToReplicating(j, 1000);
  j.Step(MigCaughtUp{.target_replicas = 1}, 1000);
  EXPECT_EQ(Names(j.Step(MigCancel{}, 1001)), (V{"unpause", "close"}));
  EXPECT_EQ(j.state(), MigrationState::kCancelled);
  EXPECT_EQ(MigrationStateName(j.state()), "cancelled");
}

TEST(SlotMigrationJobTest, OwnershipLostOnSourceFails) {
  SlotMigrationJob j = Export();
  ToReplicating(j, 1000);
  j.Step(MigOwnership{.target_owns_all = false, .source_owns_all = false}, 1000);
  EXPECT_EQ(j.message(), "Slots are no longer owned by myself");
}

TEST(SlotMigrationJobTest, UnexpectedStepFails) {
  SlotMigrationJob j = Export();
  j.Start(1000);
  j.Step(MigFinishReply{.epoch = 3}, 1000);
  EXPECT_EQ(j.state(), MigrationState::kFailed);
  EXPECT_EQ(j.message(), "Unexpected state machine transition");
}

TEST(SlotMigrationJobTest, ImportHappyPathAndFailures) {
  SlotMigrationJob j(MigrationOp::kImport, kJob, {{5, 5}}, kPeer, kMe, 1000);
  EXPECT_TRUE(j.Start(1000).empty());
  EXPECT_EQ(MigrationStateName(j.state()), "receiving-snapshot");
  EXPECT_TRUE(j.Step(MigSnapshotEofReceived{}, 1000).empty());
  EXPECT_EQ(MigrationStateName(j.state()), "waiting-for-paused");
  EXPECT_EQ(Names(j.Step(MigFinishReceived{}, 1000)), (V{"claim", "close"}));
  EXPECT_EQ(j.state(), MigrationState::kSuccess);

  SlotMigrationJob k(MigrationOp::kImport, kJob, {{5, 5}}, kPeer, kMe, 1000);
  EXPECT_EQ(Names(k.Step(MigLinkDown{"eof"}, 1000)), (V{"drop", "close"}));
  EXPECT_EQ(k.message().rfind("Connection lost to source.", 0), 0u);

  SlotMigrationJob f(MigrationOp::kImport, kJob, {{5, 5}}, kPeer, kMe, 1000);
  EXPECT_EQ(Names(f.Step(MigFinishReceived{}, 1000)), (V{"drop", "close"}));  // no EOF first
  EXPECT_EQ(f.message(), "Unexpected state machine transition");

  SlotMigrationJob o(MigrationOp::kImport, kJob, {{5, 5}}, kPeer, kMe, 1000);
  o.Step(MigOwnership{.target_owns_all = false, .source_owns_all = false}, 1000);
  EXPECT_EQ(o.message(), "Slots are no longer owned by source node");
}

class SlotMigrationsTest : public ::testing::Test {
 protected:
  SlotMigrationsTest() : state_(kMe, ClusterOptions{}) {
    state_.AddNode(kPeer, kFlagPrimary, 0);
    state_.AddNode(kThird, kFlagPrimary, 0);
    for (int s = 0; s < 100; ++s) state_.BindSlot(s, state_.myself());
    for (int s = 100; s < 200; ++s) state_.BindSlot(s, *state_.FindNode(kPeer));
  }
  std::string Parse(std::vector<std::string> args) {
    args.insert(args.begin(), {"CLUSTER", "MIGRATESLOTS"});
    auto r = jobs_.ParseMigrateSlots(args, state_);
    return r.ok() ? "OK" : std::string(r.status().message());
  }
  ClusterState state_;
  SlotMigrations jobs_;
};

TEST_F(SlotMigrationsTest, MigrateSlotsErrorsAreValkeys) {
  EXPECT_EQ(Parse({"INVALID", "0", "1"}), "syntax error");
  EXPECT_EQ(Parse({"SLOTSRANGE", "0"}), "No end slot for final slot range");
  EXPECT_EQ(Parse({"SLOTSRANGE", "16385", "16388"}), "Invalid or out of range slot");
  EXPECT_EQ(Parse({"SLOTSRANGE", "a", "0"}), "No slot ranges specified");
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "a"}), "Invalid or out of range slot");
  EXPECT_EQ(Parse({"SLOTSRANGE", "1", "0"}),
            "Start slot number 1 is greater than end slot number 0.");
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "150"}), "Requested slots span multiple shards");
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "5", "3", "6"}),
            "Slot range 3-6 overlaps with previous range 0-5.");
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "0"}), "syntax error");
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "0", "NODE"}), "syntax error");
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "0", "NODE", "blah"}), "Invalid node name: blah");
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "0", "NODE", std::string(40, 'e')}),
            "Unknown node name: " + std::string(40, 'e'));
  EXPECT_EQ(Parse({"SLOTSRANGE", "500", "500"}), "Slot 500 has no node served.");
  EXPECT_EQ(Parse({"SLOTSRANGE", "150", "150", "NODE", kThird}),
            "Slots are not served by this node.");
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "0", "NODE", kMe}), "Target node can not be this node.");
  EXPECT_EQ(Parse({"SLOTSRANGE", "1", "1", "NODE", kPeer, "SLOTSRANGE", "0", "2", "NODE", kThird}),
            "Slot ranges in migrations overlap");
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "1", "NODE", kPeer, "SLOTSRANGE", "5", "6", "NODE", kThird}),
            "OK");
  jobs_.Add(std::make_unique<SlotMigrationJob>(MigrationOp::kExport, kJob,
                                               std::vector<SlotRange>{{10, 20}}, kMe, kPeer, 0));
  EXPECT_TRUE(jobs_.Exporting(15));
  EXPECT_TRUE(jobs_.AnyExporting());
  EXPECT_FALSE(jobs_.AnyImporting());
  EXPECT_EQ(jobs_.SetSlotRefusal(), "Slot export in progress.");
  EXPECT_EQ(Parse({"SLOTSRANGE", "20", "30", "NODE", kPeer}), "I am already migrating slot 20.");
  state_.SetMigrating(50, state_.FindNode(kPeer));
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "0", "NODE", kPeer}), "Slots are being manually migrated");
  state_.SetImporting(150, state_.FindNode(kPeer));
  EXPECT_EQ(Parse({"SLOTSRANGE", "0", "0", "NODE", kPeer}), "Slots are being manually imported");
}

TEST_F(SlotMigrationsTest, EstablishChecksTheSourceAndOwnership) {
  auto parse = [&](std::vector<std::string> tail) {
    std::vector<std::string> args = {"CLUSTER", "SYNCSLOTS", "ESTABLISH"};
    args.insert(args.end(), tail.begin(), tail.end());
    auto r = jobs_.ParseEstablish(args, state_);
    return r.ok() ? "OK" : std::string(r.status().message());
  };
  EXPECT_EQ(parse({"SOURCE", kPeer, "NAME", kJob, "SLOTSRANGE", "100", "110"}), "OK");
  EXPECT_EQ(parse({"SOURCE", kThird, "NAME", kJob, "SLOTSRANGE", "100", "110"}),
            "Target node does not agree about current slot ownership");
  EXPECT_EQ(parse({"SOURCE", kMe, "NAME", kJob, "SLOTSRANGE", "100", "110"}),
            "Source node is target node itself");
  EXPECT_EQ(parse({"SOURCE", kPeer, "SLOTSRANGE", "100", "110"}), "syntax error");
  EXPECT_EQ(parse({"SOURCE", kPeer, "NAME", kJob, "SLOTSRANGE", "100", "110", "X"}),
            "syntax error");
}

TEST_F(SlotMigrationsTest, LogKeepsNewestFinishedJobs) {
  jobs_.set_log_max_len(2);
  for (int i = 0; i < 4; ++i) {
    auto j = std::make_unique<SlotMigrationJob>(MigrationOp::kExport, std::string(40, 'a' + i),
                                                std::vector<SlotRange>{{i, i}}, kMe, kPeer, 0);
    j->Step(MigCancel{}, 0);
    jobs_.Add(std::move(j));
  }
  ASSERT_EQ(jobs_.jobs().size(), 2u);
  EXPECT_EQ(jobs_.jobs()[0]->name(), std::string(40, 'd'));
  EXPECT_EQ(jobs_.jobs()[1]->name(), std::string(40, 'c'));
}

TEST_F(SlotMigrationsTest, SetSlotIsRefusedWhileAJobRuns) {
  EXPECT_EQ(jobs_.SetSlotRefusal(), "");
  SlotMigrationJob& imp = jobs_.Add(std::make_unique<SlotMigrationJob>(
      MigrationOp::kImport, kJob, std::vector<SlotRange>{{100, 110}}, kPeer, kMe, 0));
  EXPECT_EQ(jobs_.SetSlotRefusal(), "Slot import in progress.");
  imp.Step(MigLinkDown{"gone"}, 1);
  ASSERT_TRUE(imp.finished());
  EXPECT_EQ(jobs_.SetSlotRefusal(), "");
  SlotMigrationJob& exp = jobs_.Add(std::make_unique<SlotMigrationJob>(
      MigrationOp::kExport, std::string(40, 'e'), std::vector<SlotRange>{{0, 5}}, kMe, kPeer, 0));
  exp.Start(0);
  EXPECT_EQ(jobs_.SetSlotRefusal(), "Slot export in progress.");
  exp.Step(MigCancel{}, 2);
  ASSERT_TRUE(exp.finished());
  EXPECT_EQ(jobs_.SetSlotRefusal(), "");
}

// At startup: my slots and legacy imports keep their keys; an atomic
// import's staged keys (a recorded slot not mine) are dropped, whether the
// slot is bound elsewhere or not; the rest is Redis 7.0's.
TEST(DecideStartupSlotTest, RecordedSlotsNotMineAreDropped) {
  using F = StartupSlotFate;
  // mine, importing (legacy), assigned, dropped (in the record)
  EXPECT_EQ(DecideStartupSlot(true, false, true, false), F::kKeep);
  EXPECT_EQ(DecideStartupSlot(true, false, true, true), F::kKeep);  // claimed before the kill
  EXPECT_EQ(DecideStartupSlot(false, true, true, false), F::kKeep);
  EXPECT_EQ(DecideStartupSlot(false, true, true, true), F::kKeep);
  EXPECT_EQ(DecideStartupSlot(false, false, true, true), F::kDrop);
  EXPECT_EQ(DecideStartupSlot(false, false, false, true), F::kDrop);
  EXPECT_EQ(DecideStartupSlot(false, false, true, false), F::kSetImporting);
  EXPECT_EQ(DecideStartupSlot(false, false, false, false), F::kTakeOwnership);
}

}  // namespace
}  // namespace shardnode::clusterbus
