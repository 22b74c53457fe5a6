#include "node/keyspace/types/hash_object.h"

#include <map>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace shardnode::node {
namespace {

TEST(HashObjectTest, SetGetDeleteKeepInsertionOrderWhileListpack) {
  HashObject h;
  EXPECT_TRUE(h.Set("b", "1"));
  EXPECT_TRUE(h.Set("a", "2"));
  EXPECT_FALSE(h.Set("b", "3"));
  ASSERT_NE(h.Get("b"), nullptr);
  EXPECT_EQ(*h.Get("b"), "3");
  EXPECT_EQ(h.Get("zz"), nullptr);
  std::string order;
  h.ForEach([&](std::string_view f, std::string_view) { order += f; });
  EXPECT_EQ(order, "ba");
  EXPECT_TRUE(h.Delete("b"));
  EXPECT_FALSE(h.Delete("b"));
  EXPECT_EQ(h.Size(), 1u);
  EXPECT_EQ(h.EncodingName(), "listpack");
}

TEST(HashObjectTest, ConvertsAfter512FieldsAndKeepsEverything) {
  HashObject h;
  for (int i = 0; i < 512; ++i) h.Set("f" + std::to_string(i), std::to_string(i));
  EXPECT_EQ(h.EncodingName(), "listpack");
  h.Set("f512", "x");
  EXPECT_EQ(h.EncodingName(), "hashtable");
  EXPECT_EQ(h.Size(), 513u);
  EXPECT_EQ(*h.Get("f7"), "7");
}

TEST(HashObjectTest, LongFieldValueOrArgumentConverts) {
  HashObject h;
  h.Set("f", std::string(64, 'x'));
  EXPECT_EQ(h.EncodingName(), "listpack");
  h.ConvertIfLong(64);
  EXPECT_EQ(h.EncodingName(), "listpack");
  h.ConvertIfLong(65);
  EXPECT_EQ(h.EncodingName(), "hashtable");
  HashObject g;
  g.Set(std::string(65, 'k'), "v");
  EXPECT_EQ(g.EncodingName(), "hashtable");
  EXPECT_EQ(*g.Get(std::string(65, 'k')), "v");
}

TEST(HashObjectTest, ScanOfHashtableVisitsEveryField) {
  HashObject h;
  for (int i = 0; i < 1000; ++i) h.Set("f" + std::to_string(i), "v");
  std::set<std::string> seen;
  uint64_t cursor = 0;
  int steps = 0;
  do {
    cursor = h.Scan(cursor, 10, [&](std::string_view f, std::string_view) { seen.emplace(f); });
    ++steps;
  } while (cursor != 0);
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_GT(steps, 1);
}

}  // namespace
}  // namespace shardnode::node
