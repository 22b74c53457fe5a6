// Cross-shard commands as fan-outs (fan_out.h), and the shard grant that
// binds every other command to the shards of its keys. The steps and merges
// run here by hand, one shard at a time, without the dispatcher's loop or
// any socket: a step sees its shard only, and the merge builds the reply
// from the partials alone.
#include "node/commands/fan_out.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/commands/command_table.h"
#include "node/commands/dispatcher.h"
#include "node/commands/dispatcher_fixture.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/resp/reply.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

// Four shards; the keys a, b, c and d (slots 15495, 3300, 7365, 11298) land
// in shards 3, 0, 1 and 2.
class FanOutTest : public DispatcherFixture {
 protected:
  std::string ConfigText() const override { return "threads 4\n"; }

  void SetUp() override {
    DispatcherFixture::SetUp();
    ASSERT_EQ(server_->num_shards(), 4);
    ASSERT_EQ(ShardOf("a"), 3);
    ASSERT_EQ(ShardOf("b"), 0);
    ASSERT_EQ(ShardOf("c"), 1);
    ASSERT_EQ(ShardOf("d"), 2);
    session_.id = server_->NextClientId();
  }

  int ShardOf(std::string_view key) const {
    return server_->ShardIndexForSlot(slots::KeyHashSlot(key));
  }

  std::string Run(std::vector<std::string> args) {
    std::string out;
    resp::ReplyBuilder reply(&out, session_.protocol);
    dispatcher_->Execute(session_, args, reply, kNow);
    return out;
  }

  // One execution of a fan-out command, driven by hand: Begin, then Step
  // on the shards the test chooses, then Merge.
  struct Manual {
    std::vector<std::string> args;
    std::string out;
    resp::ReplyBuilder reply{&out};
    std::unique_ptr<CommandContext> ctx;
    std::unique_ptr<FanOut> op;
  };
  std::unique_ptr<Manual> Begin(std::vector<std::string> args) {
    auto m = std::make_unique<Manual>();
    m->args = std::move(args);
    const CommandSpec* spec = server_->commands().Find(m->args[0]);
    EXPECT_NE(spec, nullptr);
    EXPECT_NE(spec->fan_out, nullptr) << m->args[0];
    m->ctx = std::make_unique<CommandContext>(server_->local_shard(), *server_, session_, m->reply,
                                              *spec, kNow, 0, ShardGrant::None());
    m->op = spec->fan_out(*m->ctx, Args(m->args.data(), m->args.size()));
    return m;
  }
  void Step(Manual& m, int shard) {
    ShardStep step(shard, server_->shard(shard), 0, kNow);
    m.op->Step(step);
  }

  Session session_;
};

TEST_F(FanOutTest, EachStepSeesOnlyItsShardAndTheMergeSumsThePartials) {
  Run({"mset", "a", "1", "b", "2", "c", "3"});
  Run({"set", "{a}2", "x"});  // shard 3 holds two keys
  {
    std::unique_ptr<Manual> m = Begin({"dbsize"});
    EXPECT_EQ(m->op->FirstRound(4), (ShardList{0, 1, 2, 3}));
    Step(*m, ShardOf("a"));  // only the step of a's shard
    EXPECT_TRUE(m->op->Merge(*m->ctx).empty());
    EXPECT_EQ(m->out, ":2\r\n");
  }
  {
    std::unique_ptr<Manual> m = Begin({"dbsize"});
    for (int i : m->op->FirstRound(4)) Step(*m, i);
    EXPECT_TRUE(m->op->Merge(*m->ctx).empty());
    EXPECT_EQ(m->out, ":4\r\n");
  }
}

TEST_F(FanOutTest, KeysListsEachShardsMatchesInShardOrder) {
  Run({"mset", "a", "1", "b", "2", "c", "3", "d", "4", "{a}x", "5"});
  std::unique_ptr<Manual> m = Begin({"keys", "?"});
  // Steps may run in any order (on their own threads): the merge orders.
  for (int i : {3, 1, 0, 2}) Step(*m, i);
  EXPECT_TRUE(m->op->Merge(*m->ctx).empty());
  EXPECT_EQ(m->out, "*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\na\r\n");
}

TEST_F(FanOutTest, FlushStepsClearTheirShardAndTheMergeCountsTheChanges) {
  Run({"mset", "a", "1", "b", "2"});
  session_.db_index = 1;
  Run({"set", "c", "3"});
  session_.db_index = 0;
  const uint64_t dirty_before = server_->stats().dirty;
  std::unique_ptr<Manual> m = Begin({"flushall"});
  Step(*m, ShardOf("a"));
  // The other shards keep their keys until their own steps run.
  EXPECT_EQ(server_->shard(ShardOf("a")).TotalKeys(), 0u);
  EXPECT_EQ(server_->shard(ShardOf("b")).TotalKeys(), 1u);
  Step(*m, ShardOf("b"));
  Step(*m, ShardOf("c"));
  Step(*m, ShardOf("d"));
  EXPECT_TRUE(m->op->Merge(*m->ctx).empty());
  EXPECT_EQ(m->out, "+OK\r\n");
  EXPECT_EQ(m->ctx->dirty, 3u);
  EXPECT_EQ(server_->stats().dirty - dirty_before, 3u);
  EXPECT_EQ(Run({"dbsize"}), ":0\r\n");
}

TEST_F(FanOutTest, RandomKeyCountsEveryShardThenDrawsFromOne) {
  Run({"set", "c", "1"});
  std::unique_ptr<Manual> m = Begin({"randomkey"});
  for (int i : m->op->FirstRound(4)) Step(*m, i);
  // Only c's shard holds keys: the second round visits it alone.
  const ShardList second = m->op->Merge(*m->ctx);
  EXPECT_EQ(second, (ShardList{ShardOf("c")}));
  EXPECT_EQ(m->out, "");
  for (int i : second) Step(*m, i);
  EXPECT_TRUE(m->op->Merge(*m->ctx).empty());
  EXPECT_EQ(m->out, "$1\r\nc\r\n");

  // Nothing anywhere: one round, a null reply.
  Run({"del", "c"});
  m = Begin({"randomkey"});
  for (int i : m->op->FirstRound(4)) Step(*m, i);
  EXPECT_TRUE(m->op->Merge(*m->ctx).empty());
  EXPECT_EQ(m->out, "$-1\r\n");
}

TEST_F(FanOutTest, ScanVisitsOneShardPerRoundInCursorOrder) {
  Run({"mset", "a", "1", "b", "2", "c", "3", "d", "4"});
  std::unique_ptr<Manual> m = Begin({"scan", "0", "count", "100"});
  ShardList round = m->op->FirstRound(4);
  std::vector<int> visited;
  while (!round.empty()) {
    ASSERT_EQ(round.size(), 1u);
    visited.push_back(round[0]);
    Step(*m, round[0]);
    round = m->op->Merge(*m->ctx);
  }
  // Slot 0 is shard 0's; each following slot is the next shard's.
  ASSERT_GE(visited.size(), 4u);
  EXPECT_EQ(visited[0], 0);
  EXPECT_EQ(visited[1], 1);
  EXPECT_EQ(visited[2], 2);
  EXPECT_EQ(visited[3], 3);
  EXPECT_EQ(m->out.substr(0, 13), "*2\r\n$1\r\n0\r\n*4");
}

TEST_F(FanOutTest, MalformedArgumentsReplyBeforeAnyStep) {
  std::unique_ptr<Manual> m = Begin({"scan", "x"});
  EXPECT_EQ(m->op, nullptr);
  EXPECT_EQ(m->out, "-ERR invalid cursor\r\n");
  m = Begin({"flushdb", "now"});
  EXPECT_EQ(m->op, nullptr);
  EXPECT_EQ(m->out, "-ERR syntax error\r\n");
}

TEST_F(FanOutTest, InfoKeyspaceMergesEveryShard) {
  Run({"mset", "a", "1", "b", "2", "c", "3"});
  Run({"pexpire", "a", "100000"});
  std::unique_ptr<Manual> m = Begin({"info", "keyspace"});
  for (int i : m->op->FirstRound(4)) Step(*m, i);
  EXPECT_TRUE(m->op->Merge(*m->ctx).empty());
  EXPECT_NE(m->out.find("db0:keys=3,expires=1,avg_ttl=0\r\n"), std::string::npos) << m->out;
  // A section that needs no shard: no round at all.
  m = Begin({"info", "server"});
  EXPECT_TRUE(m->op->FirstRound(4).empty());
}

// ---- Grants -----------------------------------------------------------------

TEST_F(FanOutTest, TheDispatcherGrantsTheShardsOfTheKeyArguments) {
  auto grant = [this](std::vector<std::string> args) {
    const CommandSpec* spec = server_->commands().Find(args[0]);
    if (!spec->subcommands.empty()) spec = CommandTable::FindSub(*spec, args[1]);
    return GrantFor(*spec, args, server_->local_shard()).List(4);
  };
  EXPECT_EQ(grant({"get", "a"}), (std::vector<int>{ShardOf("a")}));
  // Listed in shard order: b is shard 0's, c 1's, d 2's, a 3's.
  EXPECT_EQ(grant({"smove", "a", "b", "x"}), (std::vector<int>{0, 3}));
  EXPECT_EQ(grant({"zunionstore", "d", "2", "a", "c"}), (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(grant({"mget", "a", "{a}1", "{a}2"}), (std::vector<int>{ShardOf("a")}));
  EXPECT_TRUE(grant({"ping"}).empty());
  EXPECT_TRUE(grant({"keys", "*"}).empty());  // a fan-out: its steps see the shards
  EXPECT_EQ(grant({"debug", "digest-value", "a"}), (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(grant({"cluster", "countkeysinslot", "7365"}), (std::vector<int>{7365 % 4}));
  EXPECT_TRUE(grant({"cluster", "countkeysinslot", "x"}).empty());
}

TEST_F(FanOutTest, OneShardGrantsShardZeroToKeyedCommandsOnly) {
  auto config = Config::FromText("");
  ASSERT_TRUE(config.ok());
  Server one(config->get(), table_.get());
  ASSERT_EQ(one.num_shards(), 1);
  auto grant = [&](std::vector<std::string> args) {
    return GrantFor(*table_->Find(args[0]), args, one.local_shard()).List(1);
  };
  EXPECT_EQ(grant({"get", "a"}), (std::vector<int>{0}));
  EXPECT_EQ(grant({"zunionstore", "d", "x", "a"}), (std::vector<int>{0}));  // not evaluated
  EXPECT_TRUE(grant({"ping"}).empty());
}

using FanOutDeathTest = FanOutTest;

// A handler that reaches a key in a shard it was not granted is a bug: the
// node stops with a report instead of touching it.
TEST_F(FanOutDeathTest, ReachingAnUngrantedShardAborts) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  ASSERT_NE(ShardOf("a"), ShardOf("b"));
  const CommandSpec& get = *server_->commands().Find("get");
  std::string out;
  resp::ReplyBuilder reply(&out);
  ShardGrant only_a;
  only_a.Add(ShardOf("a"));
  CommandContext ctx(server_->local_shard(), *server_, session_, reply, get, kNow, 0, only_a);
  EXPECT_EQ(ctx.DbFor("a").Size(), 0u);  // granted
  EXPECT_DEATH(ctx.DbFor("b"), "did not grant");
  CommandContext none(server_->local_shard(), *server_, session_, reply, get, kNow, 0,
                      ShardGrant::None());
  EXPECT_DEATH(none.DbFor("a"), "did not grant");
  EXPECT_DEATH(none.DbForSlot(0), "did not grant");
}

// Through the dispatcher: a command whose entry names one key but whose
// handler touches another (a wrong key spec) is caught at its first access.
void TouchSecondArgument(CommandContext& ctx, Args args) {
  ctx.reply.Integer(static_cast<int64_t>(ctx.DbFor(args[2]).Size()));
}

TEST_F(FanOutDeathTest, TheDispatcherBindsTheHandlerToItsKeysShards) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  table_->Register(
      KeyedCommand("badkeyspec", 3, kCmdReadonly, TouchSecondArgument, 1, 1, "generic", "0.0.0"));
  EXPECT_EQ(Run({"badkeyspec", "a", "{a}x"}), ":0\r\n");  // same shard: fine
  EXPECT_DEATH(Run({"badkeyspec", "a", "b"}), "BUG: command 'badkeyspec' reached 'b'");
}

}  // namespace
}  // namespace shardnode::node
