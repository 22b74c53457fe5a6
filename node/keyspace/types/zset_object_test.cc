#include "node/keyspace/types/zset_object.h"

#include <cmath>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

std::vector<std::string> Members(const ZSetObject& z, bool reverse = false) {
  std::vector<std::string> out;
  if (z.Size()) {
    z.Range(0, z.Size() - 1, reverse, [&](std::string_view m, double) { out.emplace_back(m); });
  }
  return out;
}

TEST(ZSetObjectTest, OrdersByScoreThenMemberBytes) {
  ZSetObject z;
  z.Insert("b", 1);
  z.Insert("a", 1);
  z.Insert("c", 0.5);
  z.Insert("\xff", 1);  // bytes compare unsigned
  EXPECT_EQ(Members(z), (std::vector<std::string>{"c", "a", "b", "\xff"}));
  EXPECT_EQ(Members(z, true), (std::vector<std::string>{"\xff", "b", "a", "c"}));
  EXPECT_EQ(z.Rank("b"), 2u);
  z.Update("c", 2);
  EXPECT_EQ(z.Rank("c"), 3u);
  EXPECT_EQ(*z.Score("c"), 2);
  EXPECT_TRUE(z.Remove("a"));
  EXPECT_FALSE(z.Remove("a"));
  EXPECT_EQ(Members(z), (std::vector<std::string>{"b", "\xff", "c"}));
}

TEST(ZSetObjectTest, CountBelowHandlesInclusiveAndInfinities) {
  ZSetObject z;
  z.Insert("a", -INFINITY);
  z.Insert("b", 1);
  z.Insert("c", 1);
  z.Insert("d", INFINITY);
  EXPECT_EQ(z.CountBelow(1, false), 1u);
  EXPECT_EQ(z.CountBelow(1, true), 3u);
  EXPECT_EQ(z.CountBelow(INFINITY, true), 4u);
  EXPECT_EQ(z.CountBelow(INFINITY, false), 3u);
  EXPECT_EQ(z.CountBelow(-INFINITY, true), 1u);
  EXPECT_EQ(z.CountBelow(-INFINITY, false), 0u);
}

TEST(ZSetObjectTest, EncodingFollowsRedisThresholds) {
  ZSetObject z;
  for (int i = 0; i < 128; ++i) z.Insert("m" + std::to_string(i), i);
  EXPECT_EQ(z.EncodingName(), "listpack");
  z.Insert("m128", 0);
  EXPECT_EQ(z.EncodingName(), "skiplist");
  ZSetObject y;
  y.Insert(std::string(65, 'x'), 1);
  EXPECT_EQ(y.EncodingName(), "skiplist");
}

}  // namespace
}  // namespace shardnode::node

namespace shardnode::node {
namespace {

TEST(ZSetObjectTest, ListpackDropsTheSignOfZeroSkiplistKeepsIt) {
  ZSetObject lp;
  lp.Insert("a", -0.0);
  EXPECT_FALSE(std::signbit(*lp.Score("a")));
  ZSetObject sl;
  sl.Insert(std::string(70, 'x'), 1);  // skiplist from here on
  sl.Insert("a", -0.0);
  EXPECT_TRUE(std::signbit(*sl.Score("a")));
  sl.Remove(std::string(70, 'x'));
  sl.set_listpack(true);
  EXPECT_FALSE(std::signbit(*sl.Score("a")));
}

}  // namespace
}  // namespace shardnode::node
