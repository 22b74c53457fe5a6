#include "node/server/blocking.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/server/session.h"

namespace shardnode::node {
namespace {

BlockedClient Waiting(Session& s, int db, std::vector<std::string> keys, int64_t deadline = 0,
                      BlockType type = BlockType::kList) {
  BlockedClient c;
  c.session = &s;
  c.db = db;
  c.keys = std::move(keys);
  c.type = type;
  c.deadline_ms = deadline;
  c.args = {"blpop", "k", "0"};
  c.reply_unblocked = [](resp::ReplyBuilder&, const UnblockOutcome&) {};
  return c;
}

TEST(BlockingTableTest, WaitersAreFirstBlockedFirst) {
  BlockingTable t;
  Session a, b, c;
  t.Block(Waiting(b, 0, {"k"}));
  t.Block(Waiting(a, 0, {"other", "k"}));
  t.Block(Waiting(c, 0, {"k"}));
  EXPECT_TRUE(a.blocked() && b.blocked() && c.blocked());
  EXPECT_EQ(t.Waiters(0, "k"), (std::vector<Session*>{&b, &a, &c}));
  EXPECT_EQ(t.Waiters(0, "other"), (std::vector<Session*>{&a}));
  EXPECT_TRUE(t.Waiters(1, "k").empty());  // databases are separate
  EXPECT_EQ(t.size(), 3u);
}

TEST(BlockingTableTest, WaitedSaysWhetherSomeoneWaitsForTheKeyOfThatDb) {
  BlockingTable t;
  Session a;
  EXPECT_FALSE(t.keys(0).Waited(0, "k"));
  t.Block(Waiting(a, 0, {"k", "j"}));
  EXPECT_TRUE(t.keys(0).Waited(0, "k"));
  EXPECT_TRUE(t.keys(0).Waited(0, "j"));
  EXPECT_FALSE(t.keys(0).Waited(1, "k"));  // another database
  EXPECT_FALSE(t.keys(0).Waited(0, "other"));
  t.Unblock(a);
  EXPECT_FALSE(t.keys(0).Waited(0, "k"));
}

TEST(BlockingTableTest, UnblockForgetsEveryKeyAndClearsTheFlag) {
  BlockingTable t;
  Session a, b;
  t.Block(Waiting(a, 0, {"x", "y"}, 5000));
  t.Block(Waiting(b, 0, {"y"}));
  auto rec = t.Unblock(a);
  ASSERT_TRUE(rec.has_value());
  EXPECT_EQ(rec->keys, (std::vector<std::string>{"x", "y"}));
  EXPECT_FALSE(a.blocked());
  EXPECT_TRUE(t.Waiters(0, "x").empty());
  EXPECT_EQ(t.Waiters(0, "y"), (std::vector<Session*>{&b}));
  EXPECT_EQ(t.with_timeout(), 0u);
  EXPECT_EQ(t.Find(a), nullptr);
  EXPECT_FALSE(t.Unblock(a).has_value());  // twice is a no-op
  EXPECT_EQ(t.All(), (std::vector<Session*>{&b}));
}

TEST(BlockingTableTest, SignalQueuesWaitedKeysOnceInOrder) {
  BlockingTable t;
  Session a;
  t.Signal(0, "k");  // nobody waits: nothing queued
  EXPECT_FALSE(t.has_ready());
  t.Block(Waiting(a, 0, {"k", "j"}));
  t.Signal(0, "nobody");
  t.Signal(1, "k");
  EXPECT_FALSE(t.has_ready());
  t.Signal(0, "j");
  t.Signal(0, "k");
  t.Signal(0, "j");
  ASSERT_TRUE(t.has_ready());
  EXPECT_EQ(t.TakeReady(), (std::vector<ReadyKey>{{0, 0, "j"}, {0, 0, "k"}}));
  EXPECT_FALSE(t.has_ready());
  t.Signal(0, "k");  // may be queued again after TakeReady
  EXPECT_EQ(t.TakeReady().size(), 1u);
}

TEST(BlockingTableTest, FlushingADbQueuesEveryWaitedKeyOfIt) {
  BlockingTable t;
  Session a, b, c;
  t.Block(Waiting(a, 1, {"k", "j"}));
  t.Block(Waiting(b, 2, {"x"}));
  t.Block(Waiting(c, 0, {"y"}));
  t.SignalDb(1);
  EXPECT_EQ(t.TakeReady(), (std::vector<ReadyKey>{{0, 1, "j"}, {0, 1, "k"}}));
  t.SignalDb(3);
  EXPECT_FALSE(t.has_ready());
}

// With four keyspace shards the keys a, b, c and d (slots 15495, 3300, 7365
// and 11298) live on shards 3, 0, 1 and 2: a client waiting for all four is
// listed on each key's shard only, a signal on another shard's index wakes
// nobody, and the ready keys of all shards come back in signal order.
TEST(BlockingTableTest, KeysWaitOnTheirShardsAndReadyKeysKeepSignalOrder) {
  BlockingTable t(4);
  Session s;
  t.Block(Waiting(s, 0, {"a", "b", "c", "d"}));
  const std::vector<std::string> keys = {"a", "b", "c", "d"};
  const std::vector<int> shards = {3, 0, 1, 2};
  for (size_t k = 0; k < keys.size(); ++k) {
    ASSERT_EQ(t.ShardOf(keys[k]), shards[k]) << keys[k];
    for (int i = 0; i < 4; ++i) {
      EXPECT_EQ(t.keys(i).Waiters(0, keys[k]).size(), i == shards[k] ? 1u : 0u)
          << keys[k] << " on shard " << i;
    }
  }
  t.keys(0).Signal(0, "a");  // a is shard 3's
  EXPECT_FALSE(t.has_ready());
  t.Signal(0, "d");
  t.keys(0).Signal(0, "b");
  t.keys(3).Signal(0, "a");
  t.Signal(0, "d");  // once until taken
  ASSERT_TRUE(t.has_ready());
  EXPECT_EQ(t.TakeReady(), (std::vector<ReadyKey>{{2, 0, "d"}, {0, 0, "b"}, {3, 0, "a"}}));
  EXPECT_FALSE(t.has_ready());
  t.SignalDb(0);  // every shard's
  EXPECT_EQ(t.TakeReady().size(), 4u);
  ASSERT_TRUE(t.Unblock(s).has_value());
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(t.keys(i).empty()) << "shard " << i;
}

TEST(BlockingTableTest, TimedOutListsPassedDeadlinesEarliestFirst) {
  BlockingTable t;
  Session a, b, c, forever;
  t.Block(Waiting(a, 0, {"k"}, 3000));
  t.Block(Waiting(b, 0, {"k"}, 1000));
  t.Block(Waiting(c, 0, {"k"}, 2000));
  t.Block(Waiting(forever, 0, {"k"}, 0));
  EXPECT_EQ(t.with_timeout(), 3u);
  EXPECT_TRUE(t.TimedOut(1000).empty());  // Redis: the deadline must be passed
  EXPECT_EQ(t.TimedOut(2001), (std::vector<Session*>{&b, &c}));
  EXPECT_EQ(t.TimedOut(1'000'000).size(), 3u);
}

TEST(BlockingTableTest, SameDeadlineKeepsBothClients) {
  BlockingTable t;
  Session a, b;
  t.Block(Waiting(a, 0, {"k"}, 1000));
  t.Block(Waiting(b, 0, {"k"}, 1000));
  EXPECT_EQ(t.TimedOut(1001), (std::vector<Session*>{&a, &b}));
  t.Unblock(a);
  EXPECT_EQ(t.TimedOut(1001), (std::vector<Session*>{&b}));
}

// The wording of an unserved wait is the blocking command's: a client
// without it is refused when it blocks, not when its wait ends.
TEST(BlockingTableDeathTest, BlockRequiresAnUnblockReplyFn) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  BlockingTable t;
  Session a;
  BlockedClient c = Waiting(a, 0, {"k"});
  c.reply_unblocked = nullptr;
  EXPECT_DEATH(t.Block(std::move(c)), "without an UnblockReplyFn");
}

TEST(ParseBlockTimeoutTest, SecondsAsRedisReadsThem) {
  constexpr int64_t kNow = 1'000'000;
  constexpr BlockTimeoutError kOk = BlockTimeoutError::kNone;
  int64_t deadline = -1;
  ASSERT_EQ(ParseBlockTimeout("0", kNow, &deadline), kOk);
  EXPECT_EQ(deadline, 0);
  ASSERT_EQ(ParseBlockTimeout("1.5", kNow, &deadline), kOk);
  EXPECT_EQ(deadline, kNow + 1500);
  ASSERT_EQ(ParseBlockTimeout("0.0001", kNow, &deadline), kOk);  // rounded up
  EXPECT_EQ(deadline, kNow + 1);
  ASSERT_EQ(ParseBlockTimeout("-0.0001", kNow, &deadline), kOk);  // rounds to 0: forever
  EXPECT_EQ(deadline, 0);
  ASSERT_EQ(ParseBlockTimeout("0x10", kNow, &deadline), kOk);  // strtold reads hex
  EXPECT_EQ(deadline, kNow + 16000);
  ASSERT_EQ(ParseBlockTimeout("9223372036854775", kNow, &deadline), kOk);
  EXPECT_EQ(deadline, INT64_MAX);  // never comes
  for (const char* bad : {"", "abc", " 1", "1 ", "nan", "1e5000"}) {
    EXPECT_EQ(ParseBlockTimeout(bad, kNow, &deadline), BlockTimeoutError::kNotFloat) << bad;
  }
  for (const char* neg : {"-1", "inf", "-inf", "1e20"}) {
    EXPECT_EQ(ParseBlockTimeout(neg, kNow, &deadline), BlockTimeoutError::kNegative) << neg;
  }
}

}  // namespace
}  // namespace shardnode::node
