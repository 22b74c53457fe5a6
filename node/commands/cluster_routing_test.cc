// Issue 9 in the node: routing reads the slot table the cluster side
// publishes (republished by ApplyClusterEffects, not read live from the
// ClusterState), and the DeleteKeysInSlots effect removes the keys of the
// lost slots with one DEL each to the write stream.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "clusterbus/cluster_state.h"
#include "gtest/gtest.h"
#include "node/commands/dispatcher.h"
#include "node/commands/dispatcher_fixture.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/resp/reply.h"
#include "node/server/cluster_setup.h"
#include "node/server/keys_in_flight.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "node/server/suspend.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

const std::string kMe(40, 'a');
const std::string kPeer(40, 'b');
constexpr int kFoo = 12182;  // slots::KeyHashSlot("foo")

class ClusterRoutingTest : public DispatcherFixture {
 protected:
  void SetUp() override {
    DispatcherFixture::SetUp();
    RecordPropagation();
    server_->set_cluster(
        std::make_unique<clusterbus::ClusterState>(kMe, clusterbus::ClusterOptions{}));
    clusterbus::ClusterNode& peer = cluster().AddNode(kPeer, clusterbus::kFlagPrimary, 0);
    peer.ip = "127.0.0.1";
    peer.port = 7003;
  }
  clusterbus::ClusterState& cluster() { return *server_->cluster(); }

  std::string Run(std::vector<std::string> args) { return RunOn(session_, std::move(args)); }
  std::string RunOn(Session& session, std::vector<std::string> args) {
    std::string out;
    resp::ReplyBuilder reply(&out, session.protocol);
    dispatcher_->Execute(session, args, reply, now_);
    return out;
  }

  Session session_;
  int64_t now_ = 1'000'000;
};

TEST_F(ClusterRoutingTest, RoutingFollowsThePublishedTableOnly) {
  ASSERT_EQ(slots::KeyHashSlot("foo"), kFoo);
  EXPECT_EQ(Run({"GET", "foo"}), "-CLUSTERDOWN Hash slot not served\r\n");
  // Every slot bound (the peer has foo's), the cluster evaluated ok; but
  // nothing is published until the effects are applied.
  for (int s = 0; s < slots::kNumSlots; ++s) {
    cluster().BindSlot(s, s == kFoo ? *cluster().FindNode(kPeer) : cluster().myself());
  }
  cluster().UpdateState(0);
  cluster().UpdateState(now_);
  ASSERT_TRUE(cluster().ok());
  EXPECT_EQ(Run({"GET", "foo"}), "-CLUSTERDOWN Hash slot not served\r\n");
  ApplyClusterEffects(*server_, now_);
  EXPECT_EQ(Run({"GET", "foo"}), "-MOVED 12182 127.0.0.1:7003\r\n");
  EXPECT_EQ(Run({"GET", "bar"}), "$-1\r\n");
  // CLUSTER commands apply the effects themselves: SETSLOT ... NODE myself
  // (closing an import) makes foo local at once.
  EXPECT_EQ(Run({"CLUSTER", "SETSLOT", "12182", "IMPORTING", kPeer}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "foo"}), "-MOVED 12182 127.0.0.1:7003\r\n");
  session_.asking = true;
  EXPECT_EQ(Run({"GET", "foo"}), "$-1\r\n");
  EXPECT_EQ(Run({"CLUSTER", "SETSLOT", "12182", "NODE", kMe}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "foo"}), "$-1\r\n");
}

// The peer owns every slot; foo's slot is being imported from it.
class ImportingRoutingTest : public ClusterRoutingTest {
 protected:
  void SetUp() override {
    ClusterRoutingTest::SetUp();
    for (int s = 0; s < slots::kNumSlots; ++s) {
      cluster().BindSlot(s, *cluster().FindNode(kPeer));
    }
    cluster().UpdateState(0);
    cluster().UpdateState(now_);
    ApplyClusterEffects(*server_, now_);
    ASSERT_EQ(Run({"CLUSTER", "SETSLOT", "12182", "IMPORTING", kPeer}), "+OK\r\n");
  }
};

TEST_F(ImportingRoutingTest, AskingEndsAfterAnUnknownCommandOrAnArityError) {
  const std::string moved = "-MOVED 12182 127.0.0.1:7003\r\n";
  EXPECT_EQ(Run({"GET", "foo"}), moved);
  EXPECT_EQ(Run({"ASKING"}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "foo"}), "$-1\r\n");
  EXPECT_EQ(Run({"GET", "foo"}), moved);  // one-shot
  // Redis clears the flag after any command that is not ASKING itself,
  // also one it rejects before running it.
  EXPECT_EQ(Run({"ASKING"}), "+OK\r\n");
  EXPECT_EQ(Run({"NOSUCHCOMMAND"}).substr(0, 20), "-ERR unknown command");
  EXPECT_EQ(Run({"GET", "foo"}), moved);
  EXPECT_EQ(Run({"ASKING"}), "+OK\r\n");
  EXPECT_EQ(Run({"GET"}), "-ERR wrong number of arguments for 'get' command\r\n");
  EXPECT_EQ(Run({"GET", "foo"}), moved);
  // Inside MULTI the flag lasts until EXEC, whatever is queued.
  EXPECT_EQ(Run({"ASKING"}), "+OK\r\n");
  EXPECT_EQ(Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run({"NOSUCHCOMMAND"}).substr(0, 20), "-ERR unknown command");
  EXPECT_EQ(Run({"GET", "foo"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"EXEC"}).substr(0, 10), "-EXECABORT");
  EXPECT_EQ(Run({"GET", "foo"}), moved);
}

TEST_F(ClusterRoutingTest, ExecRedirectedAtExecTimeEndsTheWatches) {
  for (int s = 0; s < slots::kNumSlots; ++s) cluster().BindSlot(s, cluster().myself());
  cluster().UpdateState(0);
  cluster().UpdateState(now_);
  ApplyClusterEffects(*server_, now_);
  EXPECT_EQ(Run({"SET", "foo", "1"}), "+OK\r\n");
  ASSERT_EQ(Run({"CLUSTER", "SETSLOT", "12182", "MIGRATING", kPeer}), "+OK\r\n");
  EXPECT_EQ(Run({"WATCH", "foo"}), "+OK\r\n");
  EXPECT_EQ(Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "foo"}), "+QUEUED\r\n");
  // Another client removes foo (as a MIGRATE would): at EXEC the slot is
  // missing a key, so the whole transaction gets ASK and is discarded.
  Session other;
  std::string out;
  resp::ReplyBuilder reply(&out, other.protocol);
  std::vector<std::string> del = {"DEL", "foo"};
  dispatcher_->Execute(other, del, reply, now_);
  EXPECT_EQ(out, ":1\r\n");
  EXPECT_EQ(Run({"EXEC"}), "-ASK 12182 127.0.0.1:7003\r\n");
  // The discarded transaction took its WATCH along: the next one runs.
  EXPECT_EQ(Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "bar"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"EXEC"}), "*1\r\n$-1\r\n");
}

TEST_F(ClusterRoutingTest, MigratingToMyselfServesMissingKeys) {
  for (int s = 0; s < slots::kNumSlots; ++s) cluster().BindSlot(s, cluster().myself());
  cluster().UpdateState(0);
  cluster().UpdateState(now_);
  ApplyClusterEffects(*server_, now_);
  EXPECT_EQ(Run({"SET", "foo", "1"}), "+OK\r\n");
  // Redis accepts MIGRATING to the owner itself; the ASK it would give for
  // a missing key names myself, so the command runs here. A multi-key
  // request mixing present and missing keys still gets TRYAGAIN.
  ASSERT_EQ(Run({"CLUSTER", "SETSLOT", "12182", "MIGRATING", kMe}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "{foo}x"}), "$-1\r\n");
  EXPECT_EQ(Run({"SET", "{foo}y", "2"}), "+OK\r\n");
  EXPECT_EQ(Run({"MGET", "foo", "{foo}x"}),
            "-TRYAGAIN Multiple keys request during rehashing of slot\r\n");
  EXPECT_EQ(Run({"MGET", "foo", "{foo}y"}), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
  // Migrating to the peer, the same missing key gets ASK.
  ASSERT_EQ(Run({"CLUSTER", "SETSLOT", "12182", "MIGRATING", kPeer}), "+OK\r\n");
  EXPECT_EQ(Run({"GET", "{foo}x"}), "-ASK 12182 127.0.0.1:7003\r\n");
}

TEST_F(ClusterRoutingTest, CommandQueuedOnAKeyInFlightWaitsThenGetsAsk) {
  for (int s = 0; s < slots::kNumSlots; ++s) cluster().BindSlot(s, cluster().myself());
  cluster().UpdateState(0);
  cluster().UpdateState(now_);
  ApplyClusterEffects(*server_, now_);
  EXPECT_EQ(Run({"SET", "foo", "1"}), "+OK\r\n");
  ASSERT_EQ(Run({"CLUSTER", "SETSLOT", "12182", "MIGRATING", kPeer}), "+OK\r\n");
  EXPECT_EQ(Run({"MULTI"}), "+OK\r\n");
  // A MIGRATE holds foo: the queued GET waits (no reply yet) instead of
  // being queued while foo is still here.
  server_->keys_in_flight().Add(0, "foo");
  EXPECT_EQ(Run({"GET", "foo"}), "");
  EXPECT_EQ(session_.waiting, WaitReason::kKeysBusy);
  // The MIGRATE succeeds: foo is gone; the GET runs again and gets ASK,
  // queued as an error, so EXEC aborts (Redis's replies, since Redis runs
  // the GET only after its blocking MIGRATE).
  server_->keys_in_flight().Remove(0, "foo");
  Session other;
  std::string out;
  resp::ReplyBuilder reply(&out, other.protocol);
  std::vector<std::string> del = {"DEL", "foo"};
  dispatcher_->Execute(other, del, reply, now_);
  ASSERT_EQ(out, ":1\r\n");
  Retry(session_);
  EXPECT_EQ(Run({"GET", "foo"}), "-ASK 12182 127.0.0.1:7003\r\n");
  EXPECT_EQ(Run({"EXEC"}).substr(0, 10), "-EXECABORT");
}

TEST_F(ClusterRoutingTest, DeleteKeysInSlotsRemovesThemWithADelEach) {
  for (int s = 0; s < slots::kNumSlots; ++s) cluster().BindSlot(s, cluster().myself());
  cluster().UpdateState(0);
  cluster().UpdateState(now_);
  ApplyClusterEffects(*server_, now_);
  EXPECT_EQ(Run({"SET", "foo", "1"}), "+OK\r\n");
  EXPECT_EQ(Run({"SET", "{foo}2", "2"}), "+OK\r\n");
  EXPECT_EQ(Run({"SET", "bar", "3"}), "+OK\r\n");
  propagated_.clear();
  // What the bus engine asks of a primary that lost foo's slot to a newer
  // claim while keeping others.
  cluster().BindSlot(kFoo, *cluster().FindNode(kPeer));
  cluster().RequestDeleteKeysInSlots({kFoo});
  ApplyClusterEffects(*server_, now_);
  Db& db = server_->ShardForSlot(kFoo).db(0);
  EXPECT_EQ(db.CountKeysInSlot(kFoo), 0u);
  EXPECT_EQ(Run({"DBSIZE"}), ":1\r\n");
  std::vector<std::string> dels = propagated_;
  std::sort(dels.begin(), dels.end());
  EXPECT_EQ(dels, (std::vector<std::string>{"0 DEL foo", "0 DEL {foo}2"}));
  EXPECT_EQ(Run({"GET", "foo"}), "-MOVED 12182 127.0.0.1:7003\r\n");
}

// Atomic slot migration, source side: the handoff holds writes to the
// moving slots only; reads and other slots go on; a held write runs again
// when the pause ends and, the slot gone, gets MOVED.
TEST_F(ClusterRoutingTest, SlotWritePauseHoldsOnlyWritesToThoseSlots) {
  for (int s = 0; s < slots::kNumSlots; ++s) cluster().BindSlot(s, cluster().myself());
  cluster().UpdateState(0);
  cluster().UpdateState(now_);
  ApplyClusterEffects(*server_, now_);
  EXPECT_EQ(Run({"SET", "foo", "1"}), "+OK\r\n");
  slots::SlotSet moving;
  moving.Set(kFoo);
  server_->SetSlotWritesPaused(moving, true);
  Session writer;
  server_->clients()[writer.id = 77] = &writer;
  EXPECT_EQ(RunOn(writer, {"SET", "foo", "2"}), "");
  EXPECT_EQ(writer.waiting, WaitReason::kPause);
  EXPECT_EQ(Run({"GET", "foo"}), "$1\r\n1\r\n");
  EXPECT_EQ(Run({"SET", "bar", "1"}), "+OK\r\n");
  server_->clients()[session_.id = 78] = &session_;
  EXPECT_EQ(Run({"MULTI"}), "+OK\r\n");
  EXPECT_EQ(Run({"INCR", "{foo}n"}), "+QUEUED\r\n");
  EXPECT_EQ(Run({"EXEC"}), "");
  EXPECT_EQ(session_.waiting, WaitReason::kPause);
  // The slot moves, then the pause ends: both run again and get MOVED.
  cluster().BindSlot(kFoo, *cluster().FindNode(kPeer));
  ApplyClusterEffects(*server_, now_);
  server_->SetSlotWritesPaused(moving, false);
  EXPECT_EQ(writer.waiting, WaitReason::kNone);
  EXPECT_EQ(session_.waiting, WaitReason::kNone);
  EXPECT_FALSE(server_->AnySlotWritesPaused());
  EXPECT_EQ(RunOn(writer, {"SET", "foo", "2"}), "-MOVED 12182 127.0.0.1:7003\r\n");
  server_->clients().erase(77);
  server_->clients().erase(78);
}

// Atomic slot migration, target side: the source's link applies writes to
// slots this node does not own yet, without replies, and they propagate;
// the keys stay hidden from the keyspace commands until the handoff.
TEST_F(ClusterRoutingTest, ImportLinkAppliesSilentlyAndImportingKeysAreHidden) {
  for (int s = 0; s < slots::kNumSlots; ++s) {
    cluster().BindSlot(s, s == kFoo ? *cluster().FindNode(kPeer) : cluster().myself());
  }
  cluster().UpdateState(0);
  cluster().UpdateState(now_);
  ApplyClusterEffects(*server_, now_);
  slots::SlotSet importing;
  importing.Set(kFoo);
  server_->SetSlotsHidden(importing, true);
  Session link;
  link.import_link = true;
  propagated_.clear();
  EXPECT_EQ(RunOn(link, {"SET", "foo", "1"}), "");
  EXPECT_EQ(RunOn(link, {"RPUSH", "{foo}l", "a", "b"}), "");
  EXPECT_EQ(propagated_, (std::vector<std::string>{"0 SET foo 1", "0 RPUSH {foo}l a b"}));
  EXPECT_EQ(Run({"GET", "foo"}), "-MOVED 12182 127.0.0.1:7003\r\n");
  EXPECT_EQ(Run({"SET", "bar", "1"}), "+OK\r\n");
  EXPECT_EQ(Run({"DBSIZE"}), ":1\r\n");
  EXPECT_EQ(Run({"KEYS", "*"}), "*1\r\n$3\r\nbar\r\n");
  EXPECT_EQ(Run({"CLUSTER", "COUNTKEYSINSLOT", "12182"}), ":0\r\n");
  EXPECT_EQ(Run({"CLUSTER", "GETKEYSINSLOT", "12182", "10"}), "*0\r\n");
  EXPECT_EQ(Run({"RANDOMKEY"}), "$3\r\nbar\r\n");
  // The handoff: the slot is mine and its keys show.
  server_->SetSlotsHidden(importing, false);
  cluster().BindSlot(kFoo, cluster().myself());
  ApplyClusterEffects(*server_, now_);
  EXPECT_EQ(Run({"DBSIZE"}), ":3\r\n");
  EXPECT_EQ(Run({"GET", "foo"}), "$1\r\n1\r\n");
  EXPECT_EQ(Run({"CLUSTER", "COUNTKEYSINSLOT", "12182"}), ":2\r\n");
}

}  // namespace
}  // namespace shardnode::node
