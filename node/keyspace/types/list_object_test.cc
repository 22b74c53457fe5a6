#include "node/keyspace/types/list_object.h"

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

TEST(ListObjectTest, PushesAndPopsAtBothEnds) {
  ListObject l;
  l.PushBack("b");
  l.PushFront("a");
  l.PushBack("c");
  EXPECT_EQ(l.Size(), 3u);
  EXPECT_EQ(l.PopFront(), "a");
  EXPECT_EQ(l.PopBack(), "c");
  EXPECT_EQ(l.PopBack(), "b");
  EXPECT_EQ(l.Size(), 0u);
  EXPECT_EQ(l.EncodingName(), "quicklist");
}

}  // namespace
}  // namespace shardnode::node
