#include "node/migrate/migrate_plan.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "node/migrate/migrator.h"

namespace shardnode::node::migrate {
namespace {

ArgsError Parse(std::vector<std::string> args, MigrateArgs* out) {
  return ParseMigrateArgs(args, out);
}

TEST(MigrateArgsTest, SingleKeyForm) {
  MigrateArgs m;
  ASSERT_EQ(Parse({"MIGRATE", "127.0.0.1", "7001", "k", "0", "5000"}, &m), ArgsError::kNone);
  EXPECT_EQ(m.Target(), "127.0.0.1:7001");
  EXPECT_EQ(m.db, 0);
  EXPECT_EQ(m.timeout_ms, 5000);
  EXPECT_FALSE(m.copy);
  EXPECT_FALSE(m.replace);
  EXPECT_FALSE(m.password.has_value());
  EXPECT_EQ(m.key_indexes, std::vector<int>({3}));
}

TEST(MigrateArgsTest, OptionsAnyCaseAndKeys) {
  MigrateArgs m;
  ASSERT_EQ(Parse({"migrate", "h", "1", "", "3", "0", "CoPy", "replace", "AUTH2", "u", "p", "keys",
                   "a", "b", "c"},
                  &m),
            ArgsError::kNone);
  EXPECT_TRUE(m.copy);
  EXPECT_TRUE(m.replace);
  EXPECT_EQ(m.username, "u");
  EXPECT_EQ(m.password, "p");
  EXPECT_EQ(m.db, 3);
  EXPECT_EQ(m.timeout_ms, 1000);  // 0 means 1000 ms
  EXPECT_EQ(m.key_indexes, std::vector<int>({12, 13, 14}));
}

TEST(MigrateArgsTest, KeysWithNoKeysLeftIsAnEmptyList) {
  MigrateArgs m;
  ASSERT_EQ(Parse({"MIGRATE", "h", "1", "", "0", "10", "KEYS"}, &m), ArgsError::kNone);
  EXPECT_TRUE(m.key_indexes.empty());
}

TEST(MigrateArgsTest, Errors) {
  MigrateArgs m;
  EXPECT_EQ(Parse({"MIGRATE", "h", "1", "k", "0", "10", "KEYS", "a"}, &m),
            ArgsError::kKeysWithKeyArg);
  EXPECT_EQ(Parse({"MIGRATE", "h", "1", "k", "0", "10", "AUTH"}, &m), ArgsError::kSyntax);
  EXPECT_EQ(Parse({"MIGRATE", "h", "1", "k", "0", "10", "AUTH2", "u"}, &m), ArgsError::kSyntax);
  EXPECT_EQ(Parse({"MIGRATE", "h", "1", "k", "0", "10", "FOO"}, &m), ArgsError::kSyntax);
  // Options are parsed before the integers.
  EXPECT_EQ(Parse({"MIGRATE", "h", "1", "k", "x", "y", "FOO"}, &m), ArgsError::kSyntax);
  EXPECT_EQ(Parse({"MIGRATE", "h", "1", "k", "0", "1.5"}, &m), ArgsError::kNotInteger);
  EXPECT_EQ(Parse({"MIGRATE", "h", "1", "k", "01", "10"}, &m), ArgsError::kNotInteger);
  EXPECT_EQ(Parse({"MIGRATE", "h", "1", "k", "-0", "10"}, &m), ArgsError::kNotInteger);
  EXPECT_EQ(Parse({"MIGRATE", "h", "1", "k", "0", "-5"}, &m), ArgsError::kNone);
  EXPECT_EQ(m.timeout_ms, 1000);
}

TEST(MigrateEncodeTest, PrefixAndRestoreBytes) {
  MigrateArgs m;
  ASSERT_EQ(Parse({"MIGRATE", "h", "1", "", "2", "10", "REPLACE", "AUTH", "pw", "KEYS", "k"}, &m),
            ArgsError::kNone);
  EXPECT_EQ(EncodeBatchPrefix(m, {.auth = true, .select = true}),
            "*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n2\r\n");
  EXPECT_EQ(EncodeBatchPrefix(m, {.auth = false, .select = false}), "");
  const std::string payload("\x00\x01", 2);
  KeyToSend k{.key = "k", .ttl_ms = 1500, .payload = payload};
  EXPECT_EQ(EncodeRestore(m, k, /*cluster_mode=*/true),
            "*5\r\n$14\r\nRESTORE-ASKING\r\n$1\r\nk\r\n$4\r\n1500\r\n$2\r\n" + payload +
                "\r\n$7\r\nREPLACE\r\n");
  m.replace = false;
  EXPECT_EQ(EncodeRestore(m, k, /*cluster_mode=*/false),
            "*4\r\n$7\r\nRESTORE\r\n$1\r\nk\r\n$4\r\n1500\r\n$2\r\n" + payload + "\r\n");
  m.username = "user";
  EXPECT_EQ(EncodeBatchPrefix(m, {.auth = true, .select = false}),
            "*3\r\n$4\r\nAUTH\r\n$4\r\nuser\r\n$2\r\npw\r\n");
}

MigrateArgs ArgsWithAuth() {
  MigrateArgs m;
  m.db = 0;
  m.password = "pw";
  return m;
}

TEST(MigrateFoldTest, AllAcknowledged) {
  MigrateArgs m = ArgsWithAuth();
  std::vector<TargetReply> r = {{false, "OK"}, {false, "OK"}, {false, "OK"}, {false, "OK"}};
  BatchOutcome o = FoldReplies(m, {.auth = true, .select = true}, 2, r, {}, true);
  EXPECT_EQ(o.acked, std::vector<size_t>({0, 1}));
  EXPECT_FALSE(o.target_error);
  EXPECT_EQ(o.cached_db, 0);
  EXPECT_EQ(ReplyFor(o).kind, MigrateReply::Kind::kOk);
}

TEST(MigrateFoldTest, BusyKeyStopsOnlyThatKey) {
  MigrateArgs m;
  std::vector<TargetReply> r = {
      {false, "OK"}, {true, "BUSYKEY Target key name already exists."}, {false, "OK"}};
  BatchOutcome o = FoldReplies(m, {}, 3, r, {}, true);
  EXPECT_EQ(o.acked, std::vector<size_t>({0, 2}));
  EXPECT_EQ(o.cached_db, -1);
  EXPECT_EQ(MigrateErrorText(ReplyFor(o)),
            "ERR Target instance replied with error: BUSYKEY Target key name already exists.");
}

TEST(MigrateFoldTest, AuthErrorFailsEveryKey) {
  MigrateArgs m = ArgsWithAuth();
  std::vector<TargetReply> r = {{true, "WRONGPASS invalid username-password pair"},
                                {false, "OK"},
                                {true, "NOAUTH Authentication required."}};
  BatchOutcome o = FoldReplies(m, {.auth = true, .select = false}, 2, r, {}, true);
  EXPECT_TRUE(o.acked.empty());
  EXPECT_EQ(*o.target_error, "WRONGPASS invalid username-password pair");
}

TEST(MigrateFoldTest, SelectErrorReported) {
  MigrateArgs m;
  std::vector<TargetReply> r = {{true, "ERR DB index is out of range"}, {true, "x"}};
  BatchOutcome o = FoldReplies(m, {.auth = false, .select = true}, 1, r, {}, true);
  EXPECT_TRUE(o.acked.empty());
  EXPECT_EQ(*o.target_error, "ERR DB index is out of range");
}

TEST(MigrateFoldTest, IoFailures) {
  MigrateArgs m;
  // Writing failed: retry once, then "writing".
  BatchOutcome o = FoldReplies(m, {}, 2, {}, {.happened = true, .writing = true}, true);
  EXPECT_TRUE(o.retry);
  o = FoldReplies(m, {}, 2, {}, {.happened = true, .writing = true}, false);
  EXPECT_FALSE(o.retry);
  EXPECT_EQ(MigrateErrorText(ReplyFor(o)), "IOERR error or timeout writing to target instance");
  // A timeout is never retried.
  o = FoldReplies(m, {}, 2, {}, {.happened = true, .timeout = true}, true);
  EXPECT_FALSE(o.retry);
  EXPECT_EQ(MigrateErrorText(ReplyFor(o)), "IOERR error or timeout reading to target instance");
  // Broken after the first key was acknowledged: that key is deleted, no retry.
  std::vector<TargetReply> one = {{false, "OK"}};
  o = FoldReplies(m, {}, 2, one, {.happened = true}, true);
  EXPECT_EQ(o.acked, std::vector<size_t>({0}));
  EXPECT_FALSE(o.retry);
  EXPECT_TRUE(o.io_error);
  // Broken while reading SELECT's reply: nothing confirmed, retried.
  o = FoldReplies(m, {.auth = false, .select = true}, 1, {}, {.happened = true}, true);
  EXPECT_TRUE(o.retry);
  // A target error wins over a later broken connection.
  std::vector<TargetReply> err = {{true, "ERR Bad data format"}};
  o = FoldReplies(m, {}, 2, err, {.happened = true}, true);
  EXPECT_FALSE(o.retry);
  EXPECT_EQ(MigrateErrorText(ReplyFor(o)),
            "ERR Target instance replied with error: ERR Bad data format");
}

}  // namespace
}  // namespace shardnode::node::migrate
