// What the dispatcher hands to the write stream (node/server/write_stream.h)
// for each command, and the slot it carries: Redis 7.0.15's rewrites
// (relative expiries to absolute times, expiries in the past to DEL,
// INCRBYFLOAT to SET ... KEEPTTL...), MULTI/EXEC around an execution unit of
// more than one write, nothing for a command that changed nothing, and the
// DEL of a key a command found expired. The expected streams were checked
// against redis-server 7.0.15 (and tests/e2e/test_repl_propagation.py
// compares the live streams).
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "node/commands/command_table.h"
#include "node/commands/dispatcher.h"
#include "node/commands/dispatcher_fixture.h"
#include "node/config/config.h"
#include "node/resp/reply.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "node/server/write_stream.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;
const std::string kIn10s = absl::StrCat(kNow + 10'000);

class PropagationTest : public DispatcherFixture {
 protected:
  void SetUp() override {
    DispatcherFixture::SetUp();
    RecordPropagation();
  }

  // Runs `args` at `now` and returns what it propagated.
  std::vector<std::string> Run(std::vector<std::string> args, int64_t now = kNow) {
    propagated_.clear();
    propagated_slots_.clear();
    std::string out;
    resp::ReplyBuilder reply(&out, session_.protocol);
    dispatcher_->Execute(session_, args, reply, now);
    return propagated_;
  }

  using Lines = std::vector<std::string>;

  Session session_;
};

TEST_F(PropagationTest, RelativeExpiriesBecomeAbsolute) {
  EXPECT_EQ(Run({"SET", "k", "v", "EX", "10"}), Lines({"0 SET k v PXAT " + kIn10s}));
  EXPECT_EQ(Run({"SET", "k", "v", "PX", "10000", "XX", "GET"}),
            Lines({"0 SET k v PXAT " + kIn10s}));
  EXPECT_EQ(Run({"SET", "k", "v", "EXAT", "1800000000"}), Lines({"0 SET k v PXAT 1800000000000"}));
  EXPECT_EQ(Run({"SETEX", "k", "10", "v"}), Lines({"0 SET k v PXAT " + kIn10s}));
  EXPECT_EQ(Run({"PSETEX", "k", "10000", "v"}), Lines({"0 SET k v PXAT " + kIn10s}));
  EXPECT_EQ(Run({"EXPIRE", "k", "10"}), Lines({"0 PEXPIREAT k " + kIn10s}));
  EXPECT_EQ(Run({"PEXPIRE", "k", "20000", "GT"}),
            Lines({absl::StrCat("0 PEXPIREAT k ", kNow + 20'000, " GT")}));
  EXPECT_EQ(Run({"EXPIREAT", "k", "1800000000"}), Lines({"0 PEXPIREAT k 1800000000000"}));
  EXPECT_EQ(Run({"GETEX", "k", "EX", "10"}), Lines({"0 PEXPIREAT k " + kIn10s}));
  EXPECT_EQ(Run({"GETEX", "k", "PERSIST"}), Lines({"0 PERSIST k"}));
  EXPECT_EQ(Run({"GETEX", "k", "PERSIST"}), Lines());  // no TTL left to remove
  EXPECT_EQ(Run({"GETEX", "k"}), Lines());
}

TEST_F(PropagationTest, ExpiriesInThePastBecomeDel) {
  Run({"SET", "a", "v"});
  EXPECT_EQ(Run({"EXPIRE", "a", "-1"}), Lines({"0 DEL a"}));
  Run({"SET", "b", "v"});
  EXPECT_EQ(Run({"PEXPIREAT", "b", "1000"}), Lines({"0 DEL b"}));
  Run({"SET", "c", "v"});
  EXPECT_EQ(Run({"GETEX", "c", "EXAT", "1"}), Lines({"0 DEL c"}));
  EXPECT_EQ(Run({"EXPIRE", "missing", "-1"}), Lines());
}

TEST_F(PropagationTest, ResultsReplaceRecomputation) {
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "1.5"}), Lines({"0 SET f 1.5 KEEPTTL"}));
  EXPECT_EQ(Run({"INCRBYFLOAT", "f", "0.1"}), Lines({"0 SET f 1.6 KEEPTTL"}));
  EXPECT_EQ(Run({"HINCRBYFLOAT", "h", "x", "2.5"}), Lines({"0 HSET h x 2.5"}));
  EXPECT_EQ(Run({"GETSET", "g", "1"}), Lines({"0 SET g 1"}));
  EXPECT_EQ(Run({"GETDEL", "g"}), Lines({"0 DEL g"}));
  EXPECT_EQ(Run({"GETDEL", "g"}), Lines());
}

TEST_F(PropagationTest, RestoreCarriesAnAbsoluteTtl) {
  std::string out;
  resp::ReplyBuilder reply(&out, 2);
  std::vector<std::string> set = {"SET", "src", "hello"};
  dispatcher_->Execute(session_, set, reply, kNow);
  std::vector<std::string> dump = {"DUMP", "src"};
  out.clear();
  dispatcher_->Execute(session_, dump, reply, kNow);
  // "$<len>\r\n<payload>\r\n"
  const size_t body = out.find("\r\n") + 2;
  const std::string payload = out.substr(body, out.size() - body - 2);
  EXPECT_EQ(Run({"RESTORE", "r", "10000", payload}),
            Lines({"0 RESTORE r " + kIn10s + " " + payload + " ABSTTL"}));
  EXPECT_EQ(Run({"RESTORE", "r2", "0", payload}), Lines({"0 RESTORE r2 0 " + payload}));
  // Already expired: the old key goes, and replicas delete it too.
  EXPECT_EQ(Run({"RESTORE", "r", "1", payload, "ABSTTL", "REPLACE"}), Lines({"0 DEL r"}));
}

TEST_F(PropagationTest, CommandsThatChangeNothingAreNotPropagated) {
  Run({"SET", "k", "v"});
  EXPECT_EQ(Run({"SET", "k", "w", "NX"}), Lines());
  EXPECT_EQ(Run({"SETNX", "k", "w"}), Lines());
  EXPECT_EQ(Run({"SET", "missing", "w", "XX"}), Lines());
  EXPECT_EQ(Run({"DEL", "missing"}), Lines());
  EXPECT_EQ(Run({"PERSIST", "k"}), Lines());
  EXPECT_EQ(Run({"EXPIRE", "k", "10", "XX"}), Lines());
  EXPECT_EQ(Run({"SADD", "s", "a"}), Lines({"0 SADD s a"}));
  EXPECT_EQ(Run({"SADD", "s", "a"}), Lines());
  EXPECT_EQ(Run({"SREM", "s", "b"}), Lines());
}

TEST_F(PropagationTest, TransactionsWrapMoreThanOneWrite) {
  Run({"MULTI"});
  Run({"SET", "a", "1"});
  Run({"SET", "b", "1", "EX", "10"});
  EXPECT_EQ(Run({"EXEC"}), Lines({"0 MULTI", "0 SET a 1", "0 SET b 1 PXAT " + kIn10s, "0 EXEC"}));
  Run({"MULTI"});
  Run({"SET", "a", "2"});
  Run({"GET", "a"});
  EXPECT_EQ(Run({"EXEC"}), Lines({"0 SET a 2"}));
  Run({"MULTI"});
  Run({"GET", "a"});
  EXPECT_EQ(Run({"EXEC"}), Lines());
  Run({"MULTI"});
  Run({"SET", "a", "3"});
  EXPECT_EQ(Run({"DISCARD"}), Lines());
}

TEST_F(PropagationTest, ExpiredKeyDelTravelsWithTheCommand) {
  Run({"SET", "x", "v", "PX", "100"});
  Run({"SET", "y", "v", "PX", "100"});
  const int64_t later = kNow + 1000;
  EXPECT_EQ(Run({"GET", "x"}, later), Lines({"0 DEL x"}));
  EXPECT_EQ(Run({"SET", "y", "w"}, later), Lines({"0 MULTI", "0 DEL y", "0 SET y w", "0 EXEC"}));
}

TEST_F(PropagationTest, SpopWithCountPropagatesOneSremPerMember) {
  Run({"SADD", "s", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"});
  const Lines got = Run({"SPOP", "s", "3"});
  ASSERT_EQ(got.size(), 5u);
  EXPECT_EQ(got.front(), "0 MULTI");
  for (size_t i = 1; i < 4; ++i) EXPECT_EQ(got[i].substr(0, 9), "0 SREM s ") << got[i];
  EXPECT_EQ(got.back(), "0 EXEC");
  EXPECT_EQ(Run({"SPOP", "s", "100"}), Lines({"0 DEL s"}));
}

TEST_F(PropagationTest, SelectedDatabaseTravelsWithEachWrite) {
  Run({"SELECT", "3"});
  EXPECT_EQ(Run({"SET", "k", "v"}), Lines({"3 SET k v"}));
}

TEST_F(PropagationTest, WritesCarryTheSlotOfTheirKeys) {
  const int k = slots::KeyHashSlot("k");
  Run({"SET", "k", "v", "EX", "10"});
  EXPECT_EQ(propagated_slots_, std::vector<int>({k}));
  // Keys in one slot (a hash tag) keep it; keys in several have none.
  Run({"MSET", "{t}a", "1", "{t}b", "2"});
  EXPECT_EQ(propagated_slots_, std::vector<int>({slots::KeyHashSlot("t")}));
  ASSERT_NE(slots::KeyHashSlot("a"), slots::KeyHashSlot("b"));
  Run({"MSET", "a", "1", "b", "2"});
  EXPECT_EQ(propagated_slots_, std::vector<int>({kNoSlot}));
  // A rewrite takes the slot of its own keys: BLPOP over two slots served
  // at once propagates an LPOP of one key.
  ASSERT_NE(slots::KeyHashSlot("la"), slots::KeyHashSlot("lb"));
  Run({"RPUSH", "la", "x"});
  EXPECT_EQ(Run({"BLPOP", "lb", "la", "0"}), Lines({"0 LPOP la"}));
  EXPECT_EQ(propagated_slots_, std::vector<int>({slots::KeyHashSlot("la")}));
  // MULTI and EXEC have none; each write inside keeps its own.
  Run({"SADD", "s", "a", "b", "c"});
  Run({"SPOP", "s", "2"});
  EXPECT_EQ(propagated_slots_,
            std::vector<int>({kNoSlot, slots::KeyHashSlot("s"), slots::KeyHashSlot("s"), kNoSlot}));
  Run({"FLUSHALL"});
  EXPECT_EQ(propagated_slots_, std::vector<int>({kNoSlot}));
}

TEST_F(PropagationTest, ExpiredKeyDelCarriesItsSlot) {
  Run({"SET", "x", "v", "PX", "100"});
  EXPECT_EQ(Run({"GET", "x"}, kNow + 1000), Lines({"0 DEL x"}));
  EXPECT_EQ(propagated_slots_, std::vector<int>({slots::KeyHashSlot("x")}));
}

// A command propagates when it counted changes itself, not when the node's
// save counter moved while it ran: CONFIG RESETSTAT (which leaves the
// counter alone, as in Redis) is not a write.
TEST_F(PropagationTest, OnlyTheCommandsOwnChangesMakeItPropagate) {
  Run({"SET", "k", "v"});
  const uint64_t dirty = server_->stats().dirty;
  ASSERT_GT(dirty, 0u);
  EXPECT_EQ(Run({"CONFIG", "RESETSTAT"}), Lines());
  EXPECT_EQ(server_->stats().dirty, dirty);
  EXPECT_EQ(Run({"DEL", "k", "missing"}), Lines({"0 DEL k missing"}));
  EXPECT_EQ(server_->stats().dirty, dirty + 1);
}

TEST_F(PropagationTest, XaddPropagatesItsIdAndAnExactTrim) {
  EXPECT_EQ(Run({"XADD", "s", "1-1", "f", "v"}), Lines({"0 XADD s 1-1 f v"}));
  EXPECT_EQ(Run({"XADD", "s", "*", "f", "v"}), Lines({absl::StrCat("0 XADD s ", kNow, "-0 f v")}));
  EXPECT_EQ(Run({"XADD", "s", "MAXLEN", "~", "1", "*", "f", "v"}),
            Lines({absl::StrCat("0 XADD s MAXLEN = 3 ", kNow, "-1 f v")}));
  EXPECT_EQ(Run({"XADD", "s", "MINID", "~", "5", "LIMIT", "10", "9-*", "f", "v"}),
            Lines());  // refused: 9-0 is below the top item
  EXPECT_EQ(Run({"XTRIM", "s", "MAXLEN", "~", "0"}), Lines({"0 XTRIM s MAXLEN = 0"}));
  EXPECT_EQ(Run({"XTRIM", "s", "MAXLEN", "0"}), Lines());  // nothing left to trim
  EXPECT_EQ(Run({"XADD", "t", "MINID", "=", "2", "5-*", "f", "v"}),
            Lines({"0 XADD t MINID = 2 5-0 f v"}));
  EXPECT_EQ(Run({"XADD", "t", "MINID", "~", "6", "6", "f", "v"}),
            Lines({"0 XADD t MINID = 5-0 6 f v"}));  // a full id is kept as given
}

TEST_F(PropagationTest, ConsumerGroupEffectsPropagateAsXclaimAndSetid) {
  Run({"XADD", "s", "1-1", "f", "v"});
  Run({"XADD", "s", "2-1", "f", "v"});
  Run({"XADD", "s", "3-1", "f", "v"});
  EXPECT_EQ(Run({"XGROUP", "CREATE", "s", "g", "0"}), Lines({"0 XGROUP CREATE s g 0"}));
  const std::string t = absl::StrCat(kNow);
  EXPECT_EQ(
      Run({"XREADGROUP", "GROUP", "g", "c", "COUNT", "2", "STREAMS", "s", ">"}),
      Lines({"0 MULTI", "0 XCLAIM s g c 0 1-1 TIME " + t + " RETRYCOUNT 1 FORCE JUSTID LASTID 1-1",
             "0 XCLAIM s g c 0 2-1 TIME " + t + " RETRYCOUNT 1 FORCE JUSTID LASTID 2-1",
             "0 EXEC"}));
  // History reads change nothing replicas keep (their delivery counts go
  // with the next XCLAIM).
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "c", "STREAMS", "s", "0"}), Lines());
  EXPECT_EQ(Run({"XREADGROUP", "GROUP", "g", "n", "NOACK", "STREAMS", "s", ">"}),
            Lines({"0 MULTI", "0 XGROUP CREATECONSUMER s g n",
                   "0 XGROUP SETID s g 3-1 ENTRIESREAD 3", "0 EXEC"}));
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "d", "0", "1-1"}),
            Lines({"0 XCLAIM s g d 0 1-1 TIME " + t + " RETRYCOUNT 3 FORCE JUSTID LASTID 3-1"}));
  EXPECT_EQ(Run({"XCLAIM", "s", "g", "d", "0", "9-9", "LASTID", "5-0"}),
            Lines({"0 XGROUP SETID s g 5-0 ENTRIESREAD 3"}));
  EXPECT_EQ(Run({"XACK", "s", "g", "1-1", "7-7"}), Lines({"0 XACK s g 1-1 7-7"}));
  EXPECT_EQ(Run({"XACK", "s", "g", "1-1"}), Lines());
  Run({"XDEL", "s", "2-1"});
  // XAUTOCLAIM drops the entry deleted meanwhile with the same XCLAIM form.
  EXPECT_EQ(Run({"XAUTOCLAIM", "s", "g", "e", "0", "0"}),
            Lines({"0 XCLAIM s g c 0 2-1 TIME " + t + " RETRYCOUNT 2 FORCE JUSTID LASTID 5-0"}));
  EXPECT_EQ(Run({"XGROUP", "SETID", "s", "g", "$"}), Lines({"0 XGROUP SETID s g $"}));
}

TEST_F(PropagationTest, NothingIsCollectedWithoutConsumers) {
  server_->write_stream().Unsubscribe(&recorder_);
  Run({"SET", "k", "v"});
  Run({"MULTI"});
  Run({"SET", "a", "1"});
  Run({"SET", "b", "1"});
  Run({"EXEC"});
  EXPECT_EQ(server_->write_stream().offset(), 0u);
  EXPECT_TRUE(propagated_.empty());
  // The global save counter still counts every change.
  EXPECT_EQ(server_->stats().dirty, 3u);
  RecordPropagation();
  EXPECT_EQ(Run({"SET", "k", "w"}), Lines({"0 SET k w"}));
  EXPECT_GT(server_->write_stream().offset(), 0u);
}

}  // namespace
}  // namespace shardnode::node
