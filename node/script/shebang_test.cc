#include "node/script/shebang.h"

#include "gtest/gtest.h"

namespace shardnode::node::script {
namespace {

TEST(ShebangTest, NoShebangIsCompatMode) {
  Shebang s;
  std::string error;
  ASSERT_TRUE(ParseShebang("return 1", &s, &error));
  EXPECT_EQ(s.flags, kScriptCompatMode);
  EXPECT_EQ(s.length, 0u);
}

TEST(ShebangTest, FlagsAreRead) {
  Shebang s;
  std::string error;
  ASSERT_TRUE(ParseShebang("#!lua flags=no-writes,allow-cross-slot-keys\nreturn 1", &s, &error));
  EXPECT_EQ(s.flags, kScriptNoWrites | kScriptAllowCrossSlot);
  EXPECT_EQ(s.length, 43u);
  ASSERT_TRUE(ParseShebang("#!lua flags=\nreturn 1", &s, &error));
  EXPECT_EQ(s.flags, 0u);
  ASSERT_TRUE(ParseShebang("#!lua\nreturn 1", &s, &error));
  EXPECT_EQ(s.flags, 0u);
  EXPECT_EQ(s.length, 5u);
}

TEST(ShebangTest, ErrorsAsRedisWordsThem) {
  Shebang s;
  std::string error;
  EXPECT_FALSE(ParseShebang("#!lua", &s, &error));
  EXPECT_EQ(error, "Invalid script shebang");
  EXPECT_FALSE(ParseShebang("#!LUA\n", &s, &error));
  EXPECT_EQ(error, "Unexpected engine in script shebang: #!LUA");
  EXPECT_FALSE(ParseShebang("#!lua name=x\n", &s, &error));
  EXPECT_EQ(error, "Unknown lua shebang option: name=x");
  EXPECT_FALSE(ParseShebang("#!lua flags=bogus\n", &s, &error));
  EXPECT_EQ(error, "Unexpected flag in script shebang: bogus");
  EXPECT_FALSE(ParseShebang("#!lua flags=no-writes,,allow-oom\n", &s, &error));
  EXPECT_EQ(error, "Unexpected flag in script shebang: ");
}

}  // namespace
}  // namespace shardnode::node::script
