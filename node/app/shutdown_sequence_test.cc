#include "node/app/shutdown_sequence.h"

#include <signal.h>

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/commands/command_table.h"
#include "node/config/config.h"
#include "node/server/replication_control.h"
#include "node/server/server.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

// One replica, `behind` bytes behind the primary's stream.
class FakeReplication : public ReplicationControl {
 public:
  bool is_replica() const override { return false; }
  bool produces_stream() const override { return true; }
  int64_t master_repl_offset() const override { return 100; }
  int64_t cluster_repl_offset() const override { return 100; }
  void FillRdbReplInfo(replication::RdbWriterOptions&) const override {}
  std::string InfoSection(int64_t) const override { return ""; }
  std::string SyncStatsLines() const override { return ""; }
  std::string CheckCommand(bool, bool) const override { return ""; }
  std::vector<ReplicaProgress> Replicas(int64_t) const override {
    return {{.name = "127.0.0.1:7000", .behind = behind, .lag_s = 0, .state = "online"}};
  }
  void RequestAcks() override { ++acks_requested; }

  int64_t behind = 0;
  int acks_requested = 0;
};

class ShutdownSequenceTest : public ::testing::Test {
 protected:
  void Start(const std::string& config_text) {
    sequence_.reset();
    server_.reset();
    auto config = Config::FromText(config_text);
    ASSERT_TRUE(config.ok()) << config.status();
    config_ = std::move(*config);
    table_ = BuildCommandTable();
    server_ = std::make_unique<Server>(config_.get(), table_.get());
    server_->set_replication(&replication_);
    sequence_ = std::make_unique<ShutdownSequence>(
        *server_, [this](int flags) { stops_.push_back(flags); }, [this]() { ++cancels_; });
  }

  // A client whose SHUTDOWN waits; its replies land in `replies_`.
  Session& BlockedClient(uint64_t id) {
    auto s = std::make_unique<Session>();
    s->id = id;
    s->waiting = WaitReason::kShutdown;
    s->push = [this](std::string_view bytes) { replies_.emplace_back(bytes); };
    server_->clients()[id] = s.get();
    sessions_.push_back(std::move(s));
    return *sessions_.back();
  }

  FakeReplication replication_;
  std::unique_ptr<Config> config_;
  std::unique_ptr<CommandTable> table_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<ShutdownSequence> sequence_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<int> stops_;
  std::vector<std::string> replies_;
  int cancels_ = 0;
};

TEST_F(ShutdownSequenceTest, StopsAtOnceWhenReplicasCaughtUp) {
  Start("");
  EXPECT_EQ(sequence_->Request(kShutdownNoSave, 1000), ShutdownOutcome::kStopping);
  EXPECT_EQ(stops_, std::vector<int>{kShutdownNoSave});
  EXPECT_TRUE(sequence_->stopping());
  EXPECT_EQ(replication_.acks_requested, 0);
}

TEST_F(ShutdownSequenceTest, WaitsForALaggingReplicaWithWritesPaused) {
  Start("");
  replication_.behind = 5;
  EXPECT_EQ(sequence_->Request(0, 1000), ShutdownOutcome::kWaiting);
  EXPECT_EQ(sequence_->deadline_ms(), 11000);  // shutdown-timeout 10 by default
  EXPECT_EQ(replication_.acks_requested, 1);
  EXPECT_TRUE(server_->WritesPaused(1000));
  // A second request while one waits waits too (its options are ignored).
  EXPECT_EQ(sequence_->Request(kShutdownNow, 1500), ShutdownOutcome::kWaiting);
  sequence_->Tick(2000);
  EXPECT_TRUE(stops_.empty());
  replication_.behind = 0;
  sequence_->Tick(2100);
  EXPECT_EQ(stops_, std::vector<int>{0});
  EXPECT_EQ(sequence_->deadline_ms(), 0);
}

TEST_F(ShutdownSequenceTest, TheTimeoutEndsTheWait) {
  Start("shutdown-timeout 1\n");
  replication_.behind = 5;
  ASSERT_EQ(sequence_->Request(0, 1000), ShutdownOutcome::kWaiting);
  sequence_->Tick(1999);
  EXPECT_TRUE(stops_.empty());
  sequence_->Tick(2000);
  EXPECT_EQ(stops_.size(), 1u);
}

TEST_F(ShutdownSequenceTest, NowOrAZeroTimeoutDoesNotWait) {
  Start("shutdown-timeout 0\n");
  replication_.behind = 5;
  EXPECT_EQ(sequence_->Request(0, 1000), ShutdownOutcome::kStopping);
  Start("");
  replication_.behind = 5;
  EXPECT_EQ(sequence_->Request(kShutdownNow | kShutdownForce, 1000), ShutdownOutcome::kStopping);
  EXPECT_EQ(stops_.back(), kShutdownNow | kShutdownForce);
}

TEST_F(ShutdownSequenceTest, AbortAnswersEveryBlockedClientAndResumesWrites) {
  Start("");
  EXPECT_FALSE(sequence_->Abort());
  replication_.behind = 5;
  Session& first = BlockedClient(1);
  Session& second = BlockedClient(2);
  ASSERT_EQ(sequence_->Request(0, 1000), ShutdownOutcome::kWaiting);
  EXPECT_TRUE(sequence_->Abort());
  EXPECT_EQ(replies_,
            (std::vector<std::string>{"-ERR Errors trying to SHUTDOWN. Check logs.\r\n",
                                      "-ERR Errors trying to SHUTDOWN. Check logs.\r\n"}));
  EXPECT_FALSE(first.suspended());
  EXPECT_FALSE(second.suspended());
  EXPECT_FALSE(server_->WritesPaused(1000));
  EXPECT_EQ(sequence_->deadline_ms(), 0);
  EXPECT_EQ(cancels_, 1);
  EXPECT_FALSE(sequence_->Abort());
  sequence_->Tick(100000);
  EXPECT_TRUE(stops_.empty());
}

TEST_F(ShutdownSequenceTest, ASignalUsesItsConfiguredOptionsAtTheNextTick) {
  Start("shutdown-on-sigterm \"nosave now\"\n");
  replication_.behind = 5;
  sequence_->OnSignal(SIGTERM);
  EXPECT_TRUE(stops_.empty());  // the cron carries it out
  sequence_->Tick(1000);
  EXPECT_EQ(stops_, std::vector<int>{kShutdownNoSave | kShutdownNow});
}

TEST_F(ShutdownSequenceTest, ASignalNotYetCarriedOutCanBeAborted) {
  Start("");
  sequence_->OnSignal(SIGINT);
  EXPECT_TRUE(sequence_->Abort());
  EXPECT_EQ(cancels_, 1);
  sequence_->Tick(1000);
  EXPECT_TRUE(stops_.empty());
}

}  // namespace
}  // namespace shardnode::node
