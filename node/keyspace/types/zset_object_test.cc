#include "node/keyspace/types/zset_object.h"

#include <cmath>
#include <string>
#include <utility>
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

// Runs the same operations on a listpack and a skiplist set and checks they
// agree on every query.
TEST(ZSetObjectTest, ListpackAndSkiplistAgree) {
  ZSetObject lp, sl;
  sl.set_listpack(false);
  EXPECT_EQ(sl.EncodingName(), "skiplist");
  const double inf = INFINITY;
  const std::vector<std::pair<std::string, double>> in = {
      {"a", 1},   {"b", -inf}, {"c", inf},  {"d", 2.5}, {"e", 2.5},      {"10", 10},
      {"-3", -3}, {"f", 1e17}, {"g", 1e-9}, {"", 0},    {"h", -1.25e10}, {"9", 9}};
  for (const auto& [m, s] : in) {
    lp.Insert(m, s);
    sl.Insert(m, s);
  }
  EXPECT_EQ(lp.EncodingName(), "listpack");
  EXPECT_EQ(Members(lp), Members(sl));
  EXPECT_EQ(Members(lp, true), Members(sl, true));
  for (const auto& [m, s] : in) {
    EXPECT_EQ(*lp.Score(m), s) << m;
    EXPECT_EQ(lp.Rank(m), sl.Rank(m)) << m;
  }
  EXPECT_FALSE(lp.Score("zz").has_value());
  for (size_t r = 0; r < lp.Size(); ++r) EXPECT_EQ(lp.At(r), sl.At(r));
  for (double s : {-inf, -3.0, 0.0, 2.5, 9.5, inf}) {
    EXPECT_EQ(lp.CountBelow(s, false), sl.CountBelow(s, false)) << s;
    EXPECT_EQ(lp.CountBelow(s, true), sl.CountBelow(s, true)) << s;
    auto pred = [&](const ZSetObject::Item& it) { return it.first >= s; };
    EXPECT_EQ(lp.FirstRank(pred), sl.FirstRank(pred)) << s;
  }
  std::vector<std::string> a, b;
  lp.Range(2, 5, true, [&](std::string_view m, double) { a.emplace_back(m); });
  sl.Range(2, 5, true, [&](std::string_view m, double) { b.emplace_back(m); });
  EXPECT_EQ(a, b);
  lp.Update("b", 3);
  sl.Update("b", 3);
  lp.Update("10", -inf);
  sl.Update("10", -inf);
  EXPECT_EQ(Members(lp), Members(sl));
  // Deletion to empty.
  for (const auto& [m, s] : in) {
    EXPECT_TRUE(lp.Remove(m));
    EXPECT_FALSE(lp.Remove(m));
  }
  EXPECT_EQ(lp.Size(), 0u);
  EXPECT_EQ(lp.EncodingName(), "listpack");
}

TEST(ZSetObjectTest, ConversionKeepsEveryMemberAndScore) {
  ZSetObject z;
  for (int i = 0; i < 128; ++i) z.Insert("m" + std::to_string(i), i * 0.5 - 10);
  ASSERT_EQ(z.EncodingName(), "listpack");
  const auto before = Members(z);
  z.Insert(std::string(64, 'x'), 0.25);  // 64 bytes is still fine, but the 129th converts
  EXPECT_EQ(z.EncodingName(), "skiplist");
  EXPECT_EQ(*z.Score("m3"), -8.5);
  z.Remove(std::string(64, 'x'));
  EXPECT_EQ(Members(z), before);
  z.set_listpack(true);
  EXPECT_EQ(z.EncodingName(), "listpack");
  EXPECT_EQ(Members(z), before);
  EXPECT_EQ(*z.Score("m127"), 53.5);
  ZSetObject y;
  y.Insert(std::string(64, 'y'), 1);
  EXPECT_EQ(y.EncodingName(), "listpack");
}

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
