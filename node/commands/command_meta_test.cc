// The meta table (command_meta.h) against itself and against the command
// table: every command the node registers must say to the dispatcher what
// Redis 7.0.15 says of it in COMMAND INFO (arity, flags, key positions).
#include "node/commands/command_meta.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "node/commands/command_table.h"

namespace shardnode::node {
namespace {

TEST(CommandMetaTest, HasEveryRedisCommandAndSubcommand) {
  EXPECT_EQ(meta::NumTopLevel(), 240);
  int subs = 0;
  for (int i = 0; i < meta::NumTopLevel(); ++i) {
    const meta::CommandMeta& c = meta::Commands()[i];
    for (const meta::CommandMeta& sub : meta::Subcommands(c)) {
      EXPECT_EQ(std::string(sub.name).rfind(absl::StrCat(c.name, "|"), 0), 0u) << sub.name;
      ++subs;
    }
  }
  EXPECT_EQ(meta::NumTopLevel() + subs, static_cast<int>(meta::Commands().size()));
  ASSERT_NE(meta::Find("XADD"), nullptr);
  ASSERT_NE(meta::Find("config|GET"), nullptr);
  EXPECT_EQ(meta::Find("get|key"), nullptr);
  EXPECT_EQ(meta::Find("nosuchcommand"), nullptr);
}

// SENTINEL is redis-sentinel's alone: the server's lookups do not see it.
TEST(CommandMetaTest, SentinelCommandIsApart) {
  const meta::CommandMeta& s = meta::SentinelCommand();
  EXPECT_EQ(std::string(s.name), "sentinel");
  EXPECT_EQ(s.arity, -2);
  EXPECT_EQ(meta::Subcommands(s).size(), 21u);
  EXPECT_EQ(std::string(meta::Subcommands(s)[0].name), "sentinel|ckquorum");
  EXPECT_EQ(meta::kGroupNames[s.group], "sentinel");
  EXPECT_EQ(meta::Find("sentinel"), nullptr);
  EXPECT_EQ(meta::Find("sentinel|masters"), nullptr);
  for (const meta::CommandMeta& c : meta::Commands()) {
    EXPECT_NE(std::string(c.name).rfind("sentinel", 0), 0u) << c.name;
  }
}

TEST(CommandMetaTest, KnowsRedisCategoriesTipsAndKeySpecs) {
  const meta::CommandMeta* multi = meta::Find("multi");
  ASSERT_NE(multi, nullptr);
  EXPECT_EQ(multi->acl_categories,
            meta::AclCategoryByName("fast") | meta::AclCategoryByName("transaction"));
  const meta::CommandMeta* ping = meta::Find("ping");
  ASSERT_NE(ping, nullptr);
  EXPECT_EQ(meta::Tips(*ping), (std::vector<std::string_view>{"request_policy:all_shards",
                                                              "response_policy:all_succeeded"}));
  const meta::CommandMeta* lmove = meta::Find("lmove");
  ASSERT_NE(lmove, nullptr);
  ASSERT_EQ(meta::KeySpecs(*lmove).size(), 2u);
  EXPECT_EQ(meta::KeySpecs(*lmove)[0].flags, meta::kKeyRW | meta::kKeyAccess | meta::kKeyDelete);
  EXPECT_EQ(meta::AclCategoryByName("SCRIPTING"), meta::AclCategoryByName("scripting"));
  EXPECT_EQ(meta::AclCategoryByName("nope"), 0u);
}

TEST(CommandMetaTest, KeysFromSpecsFollowsRedis) {
  std::vector<meta::FoundKey> keys;
  const std::vector<std::string> zunion = {"zunionstore", "dst",     "2", "a",
                                           "b",           "WEIGHTS", "1", "2"};
  ASSERT_TRUE(meta::KeysFromSpecs(*meta::Find("zunionstore"), zunion, &keys));
  ASSERT_EQ(keys.size(), 3u);
  EXPECT_EQ(keys[0].pos, 1);
  EXPECT_EQ(keys[1].pos, 3);
  EXPECT_EQ(keys[2].pos, 4);
  // numkeys 0 or not a number: the spec reports an error.
  const std::vector<std::string> eval0 = {"eval", "return 1", "0"};
  EXPECT_FALSE(meta::KeysFromSpecs(*meta::Find("eval"), eval0, &keys));
  const std::vector<std::string> bad = {"zunionstore", "dst", "x", "a"};
  EXPECT_FALSE(meta::KeysFromSpecs(*meta::Find("zunionstore"), bad, &keys));
  // A range with a step (MSET key value ...), with the spec's flags.
  const std::vector<std::string> mset = {"mset", "a", "1", "b", "2"};
  ASSERT_TRUE(meta::KeysFromSpecs(*meta::Find("mset"), mset, &keys));
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1].pos, 3);
  EXPECT_EQ(keys[1].flags, meta::kKeyOW | meta::kKeyUpdate);
}

TEST(CommandMetaTest, RegisteredCommandsAgreeWithRedis) {
  auto table = BuildCommandTable();
  const std::vector<std::string> mismatches = DisagreementsWithRedis(*table);
  EXPECT_TRUE(mismatches.empty()) << mismatches.size() << " disagreements with Redis 7.0.15:\n"
                                  << absl::StrJoin(mismatches, "\n");
}

}  // namespace
}  // namespace shardnode::node
