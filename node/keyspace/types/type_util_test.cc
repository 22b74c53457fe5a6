#include "node/keyspace/types/type_util.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shardnode::node::types {
namespace {

TEST(TypeUtilTest, ParseDoubleFollowsString2d) {
  double d;
  EXPECT_TRUE(ParseDouble("1.5", &d));
  EXPECT_EQ(d, 1.5);
  EXPECT_TRUE(ParseDouble("inf", &d));
  EXPECT_TRUE(std::isinf(d));
  EXPECT_FALSE(ParseDouble("nan", &d));
  EXPECT_FALSE(ParseDouble(" 1", &d));
  EXPECT_FALSE(ParseDouble("1 ", &d));
  EXPECT_FALSE(ParseDouble("", &d));
  EXPECT_FALSE(ParseDouble("1e400", &d));
  EXPECT_FALSE(ParseDouble(std::string("1\0", 2), &d));
}

TEST(TypeUtilTest, ParseScanOptions) {
  std::vector<std::string> args = {"hscan", "k", "0", "MATCH", "a*", "count", "5"};
  ScanOptions o;
  EXPECT_EQ(ParseScanOptions(args, 3, &o), ScanOptionsError::kNone);
  EXPECT_EQ(o.count, 5u);
  EXPECT_TRUE(o.use_pattern);
  args = {"hscan", "k", "0", "count", "0"};
  EXPECT_EQ(ParseScanOptions(args, 3, &o), ScanOptionsError::kSyntax);
  args = {"hscan", "k", "0", "count"};
  EXPECT_EQ(ParseScanOptions(args, 3, &o), ScanOptionsError::kSyntax);
  args = {"hscan", "k", "0", "count", "x"};
  EXPECT_EQ(ParseScanOptions(args, 3, &o), ScanOptionsError::kNotInteger);
  uint64_t c;
  EXPECT_TRUE(ParseScanCursor("", &c));
  EXPECT_EQ(c, 0u);
  EXPECT_FALSE(ParseScanCursor(" 1", &c));
  EXPECT_FALSE(ParseScanCursor("1x", &c));
}

}  // namespace
}  // namespace shardnode::node::types
