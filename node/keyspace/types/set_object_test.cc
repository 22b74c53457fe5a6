#include "node/keyspace/types/set_object.h"

#include <algorithm>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

TEST(SetObjectTest, IntsetStaysSortedAndCanonical) {
  SetObject s;
  EXPECT_TRUE(s.Add("3"));
  EXPECT_TRUE(s.Add("-1"));
  EXPECT_FALSE(s.Add("3"));
  EXPECT_EQ(s.EncodingName(), "intset");
  EXPECT_FALSE(s.Contains("03"));  // not canonical: not the integer 3
  EXPECT_EQ(s.Members(), (std::vector<std::string>{"-1", "3"}));
}

TEST(SetObjectTest, NonIntegerOrTooManyConvertsToHashtable) {
  SetObject a;
  a.Add("1");
  a.Add("x");
  EXPECT_EQ(a.EncodingName(), "hashtable");
  EXPECT_TRUE(a.Contains("1"));
  SetObject b;
  for (int i = 0; i < 512; ++i) b.Add(std::to_string(i));
  EXPECT_EQ(b.EncodingName(), "intset");
  b.Add("512");
  EXPECT_EQ(b.EncodingName(), "hashtable");
  EXPECT_EQ(b.Size(), 513u);
  EXPECT_TRUE(b.Remove("100"));
  EXPECT_FALSE(b.Contains("100"));
}

TEST(SetObjectTest, IntsetTakesNegativeAndHugeIntegersButNotBeyondInt64) {
  SetObject s;
  EXPECT_TRUE(s.Add("-9223372036854775808"));
  EXPECT_TRUE(s.Add("9223372036854775807"));
  EXPECT_TRUE(s.Add("0"));
  EXPECT_EQ(s.EncodingName(), "intset");
  EXPECT_EQ(s.Members(),
            (std::vector<std::string>{"-9223372036854775808", "0", "9223372036854775807"}));
  EXPECT_TRUE(s.Remove("0"));
  EXPECT_TRUE(s.Remove("9223372036854775807"));
  EXPECT_TRUE(s.Remove("-9223372036854775808"));
  EXPECT_EQ(s.Size(), 0u);
  EXPECT_TRUE(s.Add("9223372036854775808"));  // one past int64: a string
  EXPECT_EQ(s.EncodingName(), "hashtable");
  EXPECT_TRUE(s.Contains("9223372036854775808"));
}

TEST(SetObjectTest, RandomReturnsMembers) {
  SetObject s;
  s.Add("a");
  s.Add("b");
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(s.Contains(s.Random()));
}

}  // namespace
}  // namespace shardnode::node
