#include "clusterbus/nodes_conf.h"

#include <string>

#include "gtest/gtest.h"

namespace shardnode::clusterbus {
namespace {

const std::string kA = "1c7cc539c6dbd021195472cbe7c48b06bf3992f2";
const std::string kB = "460c66eb155405ce7358d5518ff19cf4f17a8fa8";
const std::string kC = "27770d97d92e54511ff49e3a4beb2d05132298ca";

std::string Sample() {
  return kC + " 127.0.0.1:7006@17006 slave " + kB + " 0 1795238366597 3 connected\n" + kA +
         " 127.0.0.1:7001@17001 myself,master - 0 1795238364000 1 connected 0-5460\n" + kB +
         " 127.0.0.1:7003@17003 master - 0 1795238366000 3 connected 10923-16383\n"
         "vars currentEpoch 6 lastVoteEpoch 2\n";
}

TEST(NodesConfTest, LoadsObservedFile) {
  auto state = ParseNodesConf(Sample(), ClusterOptions{}, 5000);
  ASSERT_TRUE(state.ok()) << state.status();
  ClusterState& s = **state;
  EXPECT_EQ(s.myself().id, kA);
  EXPECT_EQ(s.num_nodes(), 3u);
  EXPECT_EQ(s.current_epoch(), 6u);
  EXPECT_EQ(s.last_vote_epoch(), 2u);
  const ClusterNode* c = s.FindNode(kC);
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->is_replica());
  EXPECT_EQ(c->primary, s.FindNode(kB));
  EXPECT_EQ(c->config_epoch, 0u);        // replicas take their primary's epoch
  EXPECT_EQ(c->pong_received_ms, 5000);  // non-zero stored values become now
  EXPECT_EQ(c->ping_sent_ms, 0);
  EXPECT_EQ(s.SlotOwner(0), &s.myself());
  EXPECT_EQ(s.SlotOwner(16383), s.FindNode(kB));
  EXPECT_EQ(s.SlotOwner(6000), nullptr);
  EXPECT_EQ(c->cport, 17006);
}

TEST(NodesConfTest, RoundTrip) {
  auto state = ParseNodesConf(Sample(), ClusterOptions{}, 5000);
  ASSERT_TRUE(state.ok());
  std::string text = SerializeNodesConf(**state);
  auto again = ParseNodesConf(text, ClusterOptions{}, 5000);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(SerializeNodesConf(**again), text);
  EXPECT_NE(text.find(kA + " 127.0.0.1:7001@17001 myself,master - 0 5000 1 connected 0-5460\n"),
            std::string::npos);
  EXPECT_NE(text.find(kC + " 127.0.0.1:7006@17006 slave " + kB + " 0 5000 3 disconnected\n"),
            std::string::npos);
  EXPECT_EQ(text.substr(text.size() - 36), "vars currentEpoch 6 lastVoteEpoch 2\n");
}

TEST(NodesConfTest, OpenSlotsHostnameFlagsAndPadding) {
  std::string text =
      kA + " 10.0.0.1:7001@17001,host-a myself,master,nofailover - 0 0 4 connected 1 3-4 [3->-" +
      kB + "] [9-<-" + kB + "]\n" + kB +
      " :0@0 master,fail?,noaddr - 0 0 2 disconnected\n\n\n"
      "VARS currentEpoch 1 lastVoteEpoch 0 futureVar 3\n\n";
  auto state = ParseNodesConf(text, ClusterOptions{}, 100);
  ASSERT_TRUE(state.ok()) << state.status();
  ClusterState& s = **state;
  EXPECT_EQ(s.myself().hostname, "host-a");
  EXPECT_EQ(s.myself().ip, "10.0.0.1");
  EXPECT_TRUE(s.myself().flags & kFlagNoFailover);
  EXPECT_EQ(s.MigratingTo(3), s.FindNode(kB));
  EXPECT_EQ(s.ImportingFrom(9), s.FindNode(kB));
  EXPECT_EQ(s.current_epoch(), 4u);  // raised to the max configEpoch
  EXPECT_EQ(s.FindNode(kB)->flags, kFlagPrimary | kFlagPfail | kFlagNoAddr);
  std::string out = SerializeNodesConf(s);
  EXPECT_NE(
      out.find(
          kA +
          " 10.0.0.1:7001@17001,host-a myself,master,nofailover - 0 0 4 connected 1 3-4 [3->-" +
          kB + "] [9-<-" + kB + "]\n"),
      std::string::npos);
  EXPECT_NE(out.find(kB + " :0@0 master,fail?,noaddr - 0 0 2 disconnected\n"), std::string::npos);
}

// A replica's own line keeps the open slots mirrored from its primary
// (beyond Redis 7.0, whose replicas never have any; its loader reads them on
// any myself line, so the file stays readable by redis-server 7.0.15).
TEST(NodesConfTest, ReplicaOpenSlotsSurviveReload) {
  std::string text = kB + " 127.0.0.1:7003@17003 master - 0 0 3 connected 0-100\n" + kA +
                     " 127.0.0.1:7001@17001 myself,slave " + kB + " 0 0 3 connected [5->-" + kC +
                     "] [200-<-" + kC + "]\n" + kC +
                     " 127.0.0.1:7006@17006 master - 0 0 4 connected 101-300\n" +
                     "vars currentEpoch 4 lastVoteEpoch 0\n";
  auto state = ParseNodesConf(text, ClusterOptions{}, 0);
  ASSERT_TRUE(state.ok()) << state.status();
  ClusterState& s = **state;
  EXPECT_TRUE(s.myself().is_replica());
  EXPECT_EQ(s.MigratingTo(5), s.FindNode(kC));
  EXPECT_EQ(s.ImportingFrom(200), s.FindNode(kC));
  EXPECT_NE(SerializeNodesConf(s).find(kA + " 127.0.0.1:7001@17001 myself,slave " + kB +
                                       " 0 0 3 connected [5->-" + kC + "] [200-<-" + kC + "]\n"),
            std::string::npos);
  // Promoted, it still has them (and CLUSTER NODES shows them).
  s.PromoteMyself(0);
  EXPECT_NE(s.NodeLine(s.myself()).find("connected 0-100 [5->-" + kC + "] [200-<-" + kC + "]"),
            std::string::npos);
}

TEST(NodesConfTest, MissingBusPortDefaults) {
  auto state =
      ParseNodesConf(kA + " 127.0.0.1:7001 myself,master - 0 0 0 connected\n", ClusterOptions{}, 0);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ((*state)->myself().cport, 17001);
}

// A pre-4.0 line whose port+10000 is no port: the bus port is unknown (0),
// and the file written back loads again to the same text (found by the
// nodes_conf fuzzer: @73790 was written, then refused).
TEST(NodesConfTest, MissingBusPortAboveRangeRoundTrips) {
  auto state = ParseNodesConf(kA + " 127.0.0.1:63790 myself,master - 0 0 0 connected\n",
                              ClusterOptions{}, 0);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ((*state)->myself().cport, 0);
  const std::string saved = SerializeNodesConf(**state);
  auto again = ParseNodesConf(saved, ClusterOptions{}, 0);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(SerializeNodesConf(**again), saved);
}

void ExpectCorrupt(const std::string& text, const std::string& needle) {
  auto state = ParseNodesConf(text, ClusterOptions{}, 0);
  ASSERT_FALSE(state.ok()) << text;
  EXPECT_NE(std::string(state.status().message()).find(needle), std::string::npos)
      << state.status();
}

// Redis reads the ping and pong times with atoi: negative ones load.
TEST(NodesConfTest, NegativePingAndPongTimesLoad) {
  const std::string text = kA + " 127.0.0.1:7001@17001 myself,master - 0 0 1 connected\n" + kB +
                           " 127.0.0.1:7002@17002 master - -2811 -193 2 connected 1-5\n";
  auto state = ParseNodesConf(text, ClusterOptions{}, 5000);
  ASSERT_TRUE(state.ok()) << state.status();
  const ClusterNode* b = (*state)->FindNode(kB);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->ping_sent_ms, 5000);
  EXPECT_EQ(b->pong_received_ms, 5000);
  EXPECT_EQ(b->config_epoch, 2u);
  ExpectCorrupt(kA + " 127.0.0.1:1@2 myself,master - -x 0 0 connected\n", "bad ping");
  ExpectCorrupt(kA + " 127.0.0.1:1@2 myself,master - 0 0 -1 connected\n", "bad ping");
}

TEST(NodesConfTest, CorruptionCases) {
  const std::string me = kA + " 127.0.0.1:7001@17001 myself,master - 0 0 0 connected";
  ExpectCorrupt(me + "\n" + kB + " 127.0.0.1:7002@17002 master - 0 0\n", "line 2: fewer than 8");
  ExpectCorrupt(me + "\nABC 127.0.0.1:1@2 master - 0 0 0 connected\n", "line 2: invalid node id");
  ExpectCorrupt(kA + " 127.0.0.1 myself,master - 0 0 0 connected\n", "line 1: bad address");
  ExpectCorrupt(kA + " 127.0.0.1:x@1 myself,master - 0 0 0 connected\n", "line 1: bad port");
  ExpectCorrupt(kA + " 127.0.0.1:1@2 myself,boss - 0 0 0 connected\n",
                "line 1: Unknown flag in redis cluster config file");
  ExpectCorrupt(kA + " 127.0.0.1:1@2 myself,slave xyz 0 0 0 connected\n", "bad master id");
  ExpectCorrupt(me + " 16384\n", "line 1: bad slot '16384'");
  ExpectCorrupt(me + " [5->-abc]\n", "bad open slot");
  ExpectCorrupt(me + " [99999->-" + kB + "]\n", "bad open slot");
  ExpectCorrupt(me + " [5->-" + kB + "\n", "bad open slot");
  ExpectCorrupt(me + "\nvars currentEpoch\n", "line 2: odd number");
  ExpectCorrupt(me + "\n" + kB + " 127.0.0.1:1@2 myself,master - 0 0 0 connected\n",
                "line 2: second myself");
  ExpectCorrupt(kB + " 127.0.0.1:1@2 master - 0 0 0 connected\n", "no myself line");
  // The error quotes the offending line.
  ExpectCorrupt(me + "\n" + kB + " 127.0.0.1:7002@17002 master - 0 0\n",
                kB + " 127.0.0.1:7002@17002 master - 0 0");
}

}  // namespace
}  // namespace shardnode::clusterbus
