#include "node/keyspace/types/intset.h"

#include <cstdint>
#include <limits>
#include <random>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace shardnode::node::types {
namespace {

std::vector<int64_t> All(const IntSet& s) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < s.size(); ++i) out.push_back(s.At(i));
  return out;
}

TEST(IntSetTest, WidthGrowsWithTheWidestMember) {
  IntSet s;
  EXPECT_EQ(s.width(), 0u);
  EXPECT_FALSE(s.Contains(0));
  EXPECT_TRUE(s.Insert(5));
  EXPECT_TRUE(s.Insert(-32768));
  EXPECT_EQ(s.width(), 2u);
  EXPECT_TRUE(s.Insert(32768));  // past int16: every member re-encoded
  EXPECT_EQ(s.width(), 4u);
  EXPECT_TRUE(s.Insert(std::numeric_limits<int64_t>::min()));  // goes first
  EXPECT_EQ(s.width(), 8u);
  EXPECT_TRUE(s.Insert(std::numeric_limits<int64_t>::max()));
  EXPECT_FALSE(s.Insert(5));
  EXPECT_EQ(All(s), (std::vector<int64_t>{std::numeric_limits<int64_t>::min(), -32768, 5, 32768,
                                          std::numeric_limits<int64_t>::max()}));
  EXPECT_TRUE(s.Erase(std::numeric_limits<int64_t>::max()));
  EXPECT_FALSE(s.Erase(std::numeric_limits<int64_t>::max()));
  EXPECT_EQ(s.width(), 8u);  // never narrows
  EXPECT_TRUE(s.Contains(-32768));
  EXPECT_FALSE(s.Contains(4));
}

TEST(IntSetTest, NarrowSetAnswersWideLookups) {
  IntSet s;
  s.Insert(1);
  EXPECT_FALSE(s.Contains(int64_t{1} << 40));
  EXPECT_FALSE(s.Erase(int64_t{1} << 40));
  EXPECT_TRUE(s.Erase(1));
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.width(), 0u);  // deletion to empty frees the buffer
}

TEST(IntSetTest, RandomOperationsMatchStdSet) {
  std::mt19937_64 rng(3);
  IntSet s;
  std::set<int64_t> model;
  for (int step = 0; step < 20000; ++step) {
    const int scale = static_cast<int>(rng() % 3);
    int64_t v = static_cast<int64_t>(rng() % 2000) - 1000;
    if (scale == 1) v *= 100000;
    if (scale == 2 && step > 10000) v *= 10000000000LL;
    if (rng() % 3 == 0) {
      ASSERT_EQ(s.Erase(v), model.erase(v) == 1);
    } else {
      ASSERT_EQ(s.Insert(v), model.insert(v).second);
    }
    ASSERT_EQ(s.size(), model.size());
  }
  EXPECT_EQ(All(s), std::vector<int64_t>(model.begin(), model.end()));
}

}  // namespace
}  // namespace shardnode::node::types
